import { hash, randomUUID } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NamespacedUnregister } from 'tsx/esm/api';
import type { Position } from '../diagnostics/diagnostic.ts';
import type { Integration, IntegrationContext } from '../integration/types.ts';
import { readCompiled } from './compiled.ts';

/**
 * One tsx registration for the whole process, made on first use. `tsImport` registers a new
 * set of loader hooks on every call, so importing many modules through it slows down with
 * each one; a namespace keeps the hooks off every import that is not ours.
 */
let tsx: NamespacedUnregister | undefined;

/**
 * Imports an integration module whose pin (`sha256`) the caller has just verified. With
 * `precompiled` (the workspace root and the module's workspace-relative path), the build's
 * precompiled code for that pin is imported when the build cache holds an authenticated entry
 * (src/load/compiled.ts): no TypeScript loader starts. Otherwise TypeScript loads through tsx
 * without a compile step, JavaScript through Node. The pin is part of the URL so that a changed
 * module is imported afresh rather than served from the module cache.
 */
export async function importModule(absolutePath: string, sha256: string, precompiled?: { root: string; module: string }): Promise<Record<string, unknown>> {
  // The build's precompiled code for exactly this pin, when the cache holds an authenticated entry.
  const code = precompiled ? readCompiled(precompiled.root, precompiled.module, sha256) : undefined;
  if (code !== undefined) return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as Record<string, unknown>;
  const url = `${pathToFileURL(absolutePath).href}?sha256=${sha256}`;
  if (/\.m?ts$/.test(absolutePath)) {
    // tsx is loaded only here: a JavaScript module, and every command that loads no module, do without it.
    tsx ??= (await import('tsx/esm/api')).register({ namespace: `botc-${randomUUID()}` });
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

/** One file of a module's pin: its workspace-relative path (`/`-separated) and the sha256 of its bytes. */
export interface PinnedFile {
  file: string;
  sha256: string;
}

/** The tag of the pin text: a pin computed another way is never equal to one of these. */
const PIN_FORMAT = 'botc-module-pin/1';

/** Largest local file a pin covers, in bytes (as for module sources). */
const PIN_FILE_CAP = 4 * 1024 * 1024;

/**
 * The pin of an integration module (`integrations.<provider>.sha256` of a bundle): what the
 * runtime checks before it loads the module, so that code changed after the build does not
 * load. It covers the module *and every workspace file the module imports*, transitively (its
 * local import closure, as the build's bundler resolved it): a changed helper changes the pin
 * as surely as a changed module.
 *
 * For a module that imports no local file the pin is the module's own sha256 (as it always
 * was); otherwise it is the sha256 (hex) of the UTF-8 text `botc-module-pin/1\n` followed by one
 * line `<sha256>  <path>\n` for the module and then for each imported file, sorted by path.
 * Packages under node_modules are not covered.
 */
export function modulePin(module: PinnedFile, inputs: readonly PinnedFile[]): string {
  if (inputs.length === 0) return module.sha256;
  const sorted = [...inputs].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const text = [PIN_FORMAT, ...[module, ...sorted].map((f) => `${f.sha256}  ${f.file}`)].join('\n') + '\n';
  return hash('sha256', text, 'hex');
}

/**
 * sha256 (hex) of the bytes of a workspace file a module imports, as its pin covers it; undefined
 * when the path leaves the workspace, the file is missing, is a link or not a regular file, its
 * real path is outside the workspace, or it is over 4 MiB. `relativePath` is `/`-separated.
 */
export function pinnedFileDigest(root: string, relativePath: string): string | undefined {
  if (relativePath.length === 0 || path.isAbsolute(relativePath) || relativePath.split('/').some((part) => part === '..' || part === '')) return undefined;
  const file = path.join(root, ...relativePath.split('/'));
  try {
    if (!lstatSync(file).isFile()) return undefined;
    const real = realpathSync.native(file);
    const realRoot = realpathSync.native(root);
    if (!real.startsWith(realRoot + path.sep)) return undefined;
    const fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile() || stat.size > PIN_FILE_CAP) return undefined;
      return hash('sha256', readFileSync(fd), 'hex');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/**
 * The pin of a module as its files are now: `moduleSha256` is the module's digest as read,
 * `inputs` the bundle's list of the files it imports (`BundleIntegration.inputs`; anything but
 * a list of strings counts as a mismatch). Undefined when an imported file cannot be pinned
 * (missing, a link, outside the workspace), which never equals a recorded pin.
 */
export function currentModulePin(root: string, moduleFile: string, moduleSha256: string, inputs: unknown): string | undefined {
  if (inputs === undefined) return moduleSha256;
  if (!Array.isArray(inputs) || inputs.length === 0) return undefined;
  const pinned: PinnedFile[] = [];
  for (const file of inputs as unknown[]) {
    if (typeof file !== 'string') return undefined;
    const sha256 = pinnedFileDigest(root, file);
    if (sha256 === undefined) return undefined;
    pinned.push({ file, sha256 });
  }
  return modulePin({ file: moduleFile, sha256: moduleSha256 }, pinned);
}
