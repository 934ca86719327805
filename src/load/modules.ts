import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { register, type NamespacedUnregister } from 'tsx/esm/api';
import type { Position } from '../diagnostics/diagnostic.ts';

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
