import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { register, type NamespacedUnregister } from 'tsx/esm/api';

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

/** The first line of a load error, with the workspace root taken out so output stays portable. */
export function describeLoadError(error: unknown, root: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n').find((l) => l.trim().length > 0) ?? 'unknown error';
  return firstLine.split(pathToFileURL(root).href + '/').join('').split(root + '/').join('');
}
