import { lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { inspectModules, type ModuleReport, type ModuleRequest } from '../../load/sandbox.ts';
import { botcVersionTag, cacheKey, sha256Hex, type BuildCache } from '../cache/cache.ts';
import { exactJson } from '../validate/integrations-schema.ts';

/** What the cache holds for one module: the local files it bundles, workspace-relative. */
interface StoredInputs {
  inputs: string[];
}

/** What the cache holds for one module and its inputs: what the sandbox returned. */
interface StoredDeclarations {
  specs: unknown[];
  handlers: string[] | null;
}

/**
 * `inspectModules` with the build cache in front of it. A module's declarations (the specs
 * and handler ids the sandbox returned) are keyed by botc's version, the module's path,
 * export and provider, the sha256 of the module's text as the build read it, and the path and
 * sha256 of every workspace file it imports (esbuild's list of bundled inputs, kept under a
 * key of the module alone so the lookup needs no bundling). A changed helper changes the key,
 * so the module is loaded again. Only successful loads whose specs are plain JSON are stored:
 * failures and odd values are always found afresh. Without a cache this is `inspectModules`.
 *
 * `sha256s` are the modules' digests, in request order.
 */
export async function inspectWithCache(root: string, requests: readonly ModuleRequest[], sha256s: readonly string[], cache: BuildCache | undefined): Promise<ModuleReport[]> {
  if (!cache) return inspectModules(root, requests);
  const reports: (ModuleReport | undefined)[] = requests.map((request, i) => lookup(cache, root, request, sha256s[i]!));
  const missing = reports.flatMap((report, i) => (report ? [] : [i]));
  if (missing.length === 0) return reports as ModuleReport[];
  const fresh = await inspectModules(root, missing.map((i) => requests[i]!));
  missing.forEach((i, k) => {
    const report = fresh[k]!;
    reports[i] = report;
    if (report.ok) store(cache, root, requests[i]!, sha256s[i]!, report);
  });
  return reports as ModuleReport[];
}

function inputsKey(root: string, request: ModuleRequest, sha256: string): string {
  return cacheKey('module-inputs', botcVersionTag(), relative(root, request.file), sha256);
}

/** The declarations key, or undefined when an input cannot be read (then nothing is cached). */
function declarationsKey(root: string, request: ModuleRequest, sha256: string, inputs: readonly string[]): string | undefined {
  const parts = [botcVersionTag(), relative(root, request.file), request.exportName, request.provider, sha256];
  for (const input of inputs) {
    const digest = fileDigest(root, input);
    if (digest === undefined) return undefined;
    parts.push(input, digest);
  }
  return cacheKey('declarations', ...parts);
}

function lookup(cache: BuildCache, root: string, request: ModuleRequest, sha256: string): ModuleReport | undefined {
  const stored = cache.get<StoredInputs>('module-inputs', inputsKey(root, request, sha256));
  if (!stored || !Array.isArray(stored.inputs) || !stored.inputs.every((i) => typeof i === 'string')) return undefined;
  const key = declarationsKey(root, request, sha256, stored.inputs);
  if (key === undefined) return undefined;
  const declarations = cache.get<StoredDeclarations>('declarations', key);
  if (!declarations || !Array.isArray(declarations.specs)) return undefined;
  const handlers = declarations.handlers;
  if (handlers !== null && !(Array.isArray(handlers) && handlers.every((h) => typeof h === 'string'))) return undefined;
  return { ok: true, specs: declarations.specs, handlers, inputs: stored.inputs.map((i) => path.join(root, i)) };
}

function store(cache: BuildCache, root: string, request: ModuleRequest, sha256: string, report: Extract<ModuleReport, { ok: true }>): void {
  if (report.inputs === undefined || exactJson(report.specs) === undefined) return;
  const inputs = report.inputs.map((input) => relative(root, input));
  if (inputs.some((input) => input.startsWith('../') || path.isAbsolute(input))) return;
  const key = declarationsKey(root, request, sha256, inputs);
  if (key === undefined) return;
  cache.put('module-inputs', inputsKey(root, request, sha256), { inputs } satisfies StoredInputs);
  cache.put('declarations', key, { specs: report.specs, handlers: report.handlers } satisfies StoredDeclarations);
}

function relative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/** sha256 of a workspace file's bytes; undefined when it is missing, not a regular file, or a link. */
function fileDigest(root: string, relativePath: string): string | undefined {
  const file = path.join(root, relativePath);
  try {
    if (!lstatSync(file).isFile()) return undefined;
    return sha256Hex(readFileSync(file));
  } catch {
    return undefined;
  }
}
