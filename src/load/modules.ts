import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { register, type NamespacedUnregister } from 'tsx/esm/api';
import type { Position } from '../diagnostics/diagnostic.ts';
import type { Integration, IntegrationContext } from '../integration/types.ts';

/**
 * One tsx registration for the whole process, made on first use. `tsImport` registers a new
 * set of loader hooks on every call, so importing many modules through it slows down with
 * each one; a namespace keeps the hooks off every import that is not ours.
 */
let tsx: NamespacedUnregister | undefined;

/**
 * Imports an integration module. TypeScript loads through tsx without a compile step;
 * JavaScript through Node. The content hash is part of the URL so that a changed file is
 * imported afresh rather than served from the module cache.
 */
export async function importModule(absolutePath: string, sha256: string): Promise<Record<string, unknown>> {
  const url = `${pathToFileURL(absolutePath).href}?sha256=${sha256}`;
  if (/\.m?ts$/.test(absolutePath)) {
    tsx ??= register({ namespace: `botc-${randomUUID()}` });
    return (await tsx.import(url, import.meta.url)) as Record<string, unknown>;
  }
  return (await import(url)) as Record<string, unknown>;
}

/**
 * The loader's own words for a load error, with the workspace root taken out so output stays
 * portable: the first line, or for a TypeScript syntax error (esbuild, through tsx:
 * `Transform failed with 1 error:\n<file>:<line>:<column>: ERROR: <text>`) the error's text.
 */
export function describeLoadError(error: unknown, root: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const transform = TRANSFORM_ERROR.exec(message);
  const firstLine = transform ? `syntax error: ${transform[4]}` : (message.split('\n').find((l) => l.trim().length > 0) ?? 'unknown error');
  return firstLine.split(pathToFileURL(root).href + '/').join('').split(root + '/').join('');
}

const TRANSFORM_ERROR = /^Transform failed with \d+ errors?:\n(.*?):(\d+):(\d+): ERROR: (.*)$/m;

/**
 * Where in the module a load error is, when the loader says: esbuild's 1-based line and
 * 0-based column of a TypeScript syntax error, as a 1-based position.
 */
export function loadErrorPosition(error: unknown): Position | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const transform = TRANSFORM_ERROR.exec(message);
  return transform ? { line: Number(transform[2]), column: Number(transform[3]) + 1 } : undefined;
}

/**
 * What `instantiateIntegration` made of a module's export: the instance, or why there is none
 * (`no-export`: the export is not a function, with the names of the functions the module does
 * export; `construct`: the constructor threw, with its message; `not-integration`: the instance
 * lacks some of describeMethods(), authStatus() and call()).
 */
export type Instantiation =
  | { ok: true; instance: Integration }
  | { ok: false; failure: 'no-export'; available: string[] }
  | { ok: false; failure: 'construct'; message: string }
  | { ok: false; failure: 'not-integration'; missing: string[] };

/**
 * Constructs a registered export of an imported integration module with `context` and checks
 * that the result is an integration. The one way both the compiler (in its sandbox process,
 * `phase: "build"`) and the runtime (`phase: "runtime"`) make an integration, so a module the
 * build accepted is made the same way when it runs. Never throws: the module's own errors are
 * returned as `construct`. Self-contained on purpose: the sandbox runs its source text in a
 * child process, so it uses no imports, closures or named inner functions.
 */
export function instantiateIntegration(namespace: Record<string, unknown>, exportName: string, context: IntegrationContext): Instantiation {
  const Constructor = namespace[exportName];
  if (typeof Constructor !== 'function') {
    const available: string[] = [];
    for (const key of Object.keys(namespace)) if (typeof namespace[key] === 'function') available.push(key);
    return { ok: false, failure: 'no-export', available };
  }
  let instance: Record<string, unknown>;
  try {
    instance = new (Constructor as new (context: IntegrationContext) => Record<string, unknown>)(context);
  } catch (error) {
    let message = 'unknown error';
    try {
      message = error instanceof Error ? String(error.message) : String(error);
    } catch {
      // A thrown value whose message cannot be read keeps the generic words.
    }
    return { ok: false, failure: 'construct', message };
  }
  const missing: string[] = [];
  for (const method of ['describeMethods', 'authStatus', 'call']) if (typeof instance[method] !== 'function') missing.push(method);
  if (missing.length > 0) return { ok: false, failure: 'not-integration', missing };
  return { ok: true, instance: instance as unknown as Integration };
}
