import path from 'node:path';
import { compiledEntry, compiledKey } from '../../load/compiled.ts';
import { modulePin, pinnedFileDigest, type PinnedFile } from '../../load/modules.ts';
import { inspectModules, type ModuleReport, type ModuleRequest } from '../../load/sandbox.ts';
import { botcVersionTag, cacheKey, type BuildCache } from '../cache/cache.ts';
import { exactJson } from '../validate/integrations-schema.ts';

/** What the cache holds for one module: the local files it bundles, workspace-relative. */
interface StoredInputs {
  inputs: string[];
}

/** What the cache holds for one module and its inputs: what the sandbox returned. */
interface StoredDeclarations {
  specs: unknown[];
  handlers: string[] | null;
  /**
   * Whether the module's precompiled code was stored with it. When true (or absent, in older
   * entries) and that entry is gone, the module is loaded again so the runtime finds it.
   */
  precompiled?: boolean;
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
  const pinned = pinnedInputs(root, inputs);
  if (pinned === undefined) return undefined;
  return cacheKey('declarations', botcVersionTag(), relative(root, request.file), request.exportName, request.provider, sha256, ...pinned.flatMap((p) => [p.file, p.sha256]));
}

/** Each input with the sha256 of its bytes, or undefined when one cannot be pinned. */
function pinnedInputs(root: string, inputs: readonly string[]): PinnedFile[] | undefined {
  const pinned: PinnedFile[] = [];
  for (const file of inputs) {
    const sha256 = pinnedFileDigest(root, file);
    if (sha256 === undefined) return undefined;
    pinned.push({ file, sha256 });
  }
  return pinned;
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
  if (declarations.precompiled !== false) {
    const pinned = pinnedInputs(root, stored.inputs);
    const module = relative(root, request.file);
    if (!pinned || !cache.has('compiled', compiledKey(module, modulePin({ file: module, sha256 }, pinned)))) return undefined;
  }
  return { ok: true, specs: declarations.specs, handlers, inputs: stored.inputs.map((i) => path.join(root, i)) };
}

function store(cache: BuildCache, root: string, request: ModuleRequest, sha256: string, report: Extract<ModuleReport, { ok: true }>): void {
  if (report.inputs === undefined || exactJson(report.specs) === undefined) return;
  const inputs = report.inputs.map((input) => relative(root, input));
  if (inputs.some((input) => input.startsWith('../') || path.isAbsolute(input))) return;
  const key = declarationsKey(root, request, sha256, inputs);
  if (key === undefined) return;
  cache.put('module-inputs', inputsKey(root, request, sha256), { inputs } satisfies StoredInputs);
  // The bundled code, for the runtime to import without a TypeScript loader (src/load/compiled.ts).
  const pinned = pinnedInputs(root, inputs);
  const module = relative(root, request.file);
  const pin = pinned && modulePin({ file: module, sha256 }, pinned);
  const entry = report.code === undefined || pin === undefined ? undefined : compiledEntry(module, pin, report.code);
  if (entry) cache.put('compiled', compiledKey(module, pin!), entry);
  cache.put('declarations', key, { specs: report.specs, handlers: report.handlers, precompiled: entry !== undefined } satisfies StoredDeclarations);
}

function relative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}
