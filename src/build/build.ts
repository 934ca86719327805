import path from 'node:path';
import { checkConfigProviders } from '../config.ts';
import { Diagnostics, sortDiagnostics, type Diagnostic } from '../diagnostics/diagnostic.ts';
import type { Bundle } from '../bundle/format.ts';
import { WorkspaceFiles } from '../load/files.ts';
import { ConfigError, readConfig } from '../config.ts';
import { clip } from '../schema/common.ts';
import { checkAutomations, hasAutomations } from '../automations/check.ts';
import { assembleBundle } from './assemble/assemble.ts';
import type { BuildContext } from './context.ts';
import { loadBot, type BotSource } from './load/bots.ts';
import { checkCommonBlockTools, loadCommonBlocks } from './load/common-blocks.ts';
import { discover, entryKindProblem, type WorkspaceEntries } from './discover/discover.ts';
import { BundleWriter, outputFolderProblem } from './emit/emit.ts';
import { BuildCache } from './cache/cache.ts';
import { outputDigests, reusableBuild, wholeBuildKey, type StoredBuild } from './cache/build-cache.ts';
import { loadIntegrations } from './load/integrations.ts';
import { resolveIntegrations } from './resolve/integrations.ts';
import { checkLock } from './resolve/lock-check.ts';
import { checkBot, checkBotMethods } from './rules/index.ts';
import type { LockUpdate } from '../versioning/lock.ts';

export interface BuildOptions {
  /** The workspace root. */
  root: string;
  /** Where bundles go; relative paths resolve against `root`. Default `dist`. */
  out?: string;
  /** Build only these bots (all when absent or empty). */
  bots?: readonly string[];
  /** Write bundles to `out`. `check` is a build with `write: false`. */
  write?: boolean;
  /**
   * Return the bundles in `built` (default true). Without them the build lets each bundle go
   * once it is written, so memory stays flat however many bots there are.
   */
  keepBundles?: boolean;
  /**
   * The versioning stage: `check` (default) compares declared methods with botc.lock.json when
   * it exists; `update` also computes the new lock for `botc lock` (returned in `lock`, not
   * written); `ignore` skips it.
   */
  lock?: 'check' | 'update' | 'ignore';
  /**
   * Use the content-addressed cache under `<root>/.botc/cache/` (default true): schema check
   * results and integration declarations computed by an earlier build are reused when their
   * inputs are unchanged. The result is the same either way (docs/performance.md).
   */
  cache?: boolean;
}

export interface BundleSummary {
  bot: string;
  /** Where the bundle is (or would be) written, relative to the root when inside it. */
  path: string;
  digest: string;
}

export interface BuildResult {
  ok: boolean;
  diagnostics: Diagnostic[];
  bundles: BundleSummary[];
  /** The bundles themselves, in bot order; empty when the build failed or `keepBundles` is false. */
  built: Bundle[];
  /** With `lock: 'update'`: the lock to write and what changed. */
  lock?: LockUpdate;
}

/** A usage problem (unknown `--bot`, missing root): the caller's mistake, not the workspace's. */
export class BuildUsageError extends Error {
  override name = 'BuildUsageError';
}

/**
 * Builds a workspace: discover → load → validate → rules → resolve → assemble → emit, one
 * folder of src/build each (docs/architecture.md, Compiler). Every expected problem is
 * a diagnostic; nothing is written unless the whole build is free of errors.
 */
export async function build(options: BuildOptions): Promise<BuildResult> {
  let files: WorkspaceFiles;
  try {
    files = new WorkspaceFiles(options.root);
  } catch {
    throw new BuildUsageError(`workspace root \`${options.root}\` does not exist`);
  }
  const diagnostics = new Diagnostics();
  const entries = discover(files.root);
  const selected = selectBots(entries, options.bots);
  reportUnsafeRoots(diagnostics, entries);
  reportConfig(diagnostics, files.root);
  const cache = BuildCache.open(files.root, options.cache !== false);
  // One context through the stages: the files, the diagnostics, what discovery found, the cache.
  const ctx: BuildContext = { files, diagnostics, entries, cache };
  // An unchanged workspace whose bundles are still in place is answered from the cache.
  const whole = wholeBuildFor(cache, files.root, options);
  if (whole?.stored) return { ok: whole.stored.ok, diagnostics: whole.stored.diagnostics, bundles: whole.stored.ok ? whole.stored.bundles : [], built: [] };

  // The integrations' schema checks run on a worker thread while the bots load and their
  // bot-only rules run (neither needs them); only the bots' method references wait for them.
  const pending = await loadIntegrations(ctx);
  // Every way out, a throw included, stops the schema worker: a thread left running would
  // keep the process alive after the CLI has answered (a hung CI job).
  try {
    const commons = loadCommonBlocks(ctx);
    const bots: BotSource[] = [];
    for (const dir of selected) {
      const bot = loadBot(ctx, dir);
      if (bot) bots.push(bot);
    }
    // The cross-file rules (src/build/rules/): first those that need only the bots.
    for (const bot of bots) checkBot(ctx, bot);
    const everyBot = (options.bots === undefined || options.bots.length === 0) && bots.length === selected.length;
    if (everyBot) checkCommonBlockTools(ctx, commons, bots);
    const integrations = await resolveIntegrations(pending);
    for (const bot of bots) checkBotMethods(ctx, bot, integrations);
    if (!integrations.unknowable.all) {
      checkConfigProviders(files, diagnostics, new Set([...integrations.providers.keys(), ...integrations.unknowable.providers]));
    }
    const lockMode = options.lock ?? 'check';
    const used = new Set(bots.flatMap((bot) => bot.methodRefs.map((ref) => ref.id)));
    const lock = lockMode === 'ignore' ? undefined : checkLock(ctx, integrations, used, (id) => integrations.declared.get(id), lockMode);

    const outDir = path.resolve(files.root, options.out ?? 'dist');
    const outProblem = options.write === false ? undefined : outputFolderProblem(files.root, outDir);
    if (outProblem) {
      diagnostics.add('unsafe-path', { file: displayPath(files.root, outDir) }, { variant: 'output', problem: outProblem.split(files.root + path.sep).join('') });
    }
    const writer = options.write === false ? undefined : new BundleWriter(outDir, files.root);
    const summaries: BundleSummary[] = [];
    const built: Bundle[] = [];
    if (diagnostics.errorCount === 0) {
      try {
        // Kept only for the automation check, and only when the workspace has automations.
        const assembled: Bundle[] = [];
        const keepForAutomations = hasAutomations(files);
        for (const bot of bots) {
          const bundle = assembleBundle(bot, commons, integrations, ctx);
          if (!bundle) continue;
          if (diagnostics.errorCount === 0) writer?.stage(bundle);
          if (options.keepBundles !== false) built.push(bundle);
          if (keepForAutomations) assembled.push(bundle);
          summaries.push({ bot: bot.id, path: displayPath(files.root, path.join(outDir, `${bot.id}.bundle.json`)), digest: bundle.digest });
        }
        // Automations name bots, experts, tools and methods as the bundles resolved them.
        checkAutomations(files, diagnostics, assembled, everyBot);
      } catch (error) {
        writer?.discard();
        throw error;
      }
    }
    const ok = diagnostics.errorCount === 0;
    if (ok) writer?.commit(options.bots === undefined || options.bots.length === 0);
    else writer?.discard();
    const result: BuildResult = { ok, diagnostics: sortDiagnostics(diagnostics.items), bundles: ok ? summaries : [], built: ok ? built : [] };
    if (lockMode === 'update' && lock) result.lock = lock;
    if (whole) storeWholeBuild(cache!, whole.key, files.root, options, result, writer ? outDir : undefined);
    // Nothing is written unless the build is free of errors: the cache neither.
    if (ok) cache?.flush();
    else cache?.discard();
    return result;
  } finally {
    pending.schemas.close();
  }
}

/**
 * The whole-build cache applies to builds that hand no bundles back and compute no lock
 * update (`botc build` and `botc check`), into a usable output folder.
 */
function wholeBuildFor(cache: BuildCache | undefined, root: string, options: BuildOptions): { key: string; stored: StoredBuild | undefined } | undefined {
  if (!cache || options.keepBundles !== false || options.lock === 'update') return undefined;
  const outDir = path.resolve(root, options.out ?? 'dist');
  const write = options.write !== false;
  if (write && outputFolderProblem(root, outDir)) return undefined;
  const key = wholeBuildKey(root, { out: outDir, bots: options.bots ?? [], write, lock: options.lock ?? 'check' });
  return { key, stored: reusableBuild(cache, key, write ? outDir : undefined) };
}

/** Stores a finished build, unless a source changed while it ran (its key would then be wrong). */
function storeWholeBuild(cache: BuildCache, key: string, root: string, options: BuildOptions, result: BuildResult, outDir: string | undefined): void {
  const again = wholeBuildKey(root, { out: path.resolve(root, options.out ?? 'dist'), bots: options.bots ?? [], write: options.write !== false, lock: options.lock ?? 'check' });
  if (again !== key) return;
  const stored: StoredBuild = { ok: result.ok, diagnostics: result.diagnostics, bundles: result.bundles, outputs: result.ok && outDir ? outputDigests(outDir) : {} };
  cache.put('build', key, stored);
}

/** `check`: everything `build` does but write. */
export function check(options: Omit<BuildOptions, 'write'>): Promise<BuildResult> {
  return build({ ...options, write: false });
}

function selectBots(entries: WorkspaceEntries, wanted: readonly string[] | undefined) {
  if (!wanted || wanted.length === 0) return entries.botDirs;
  const byName = new Map(entries.botDirs.map((d) => [path.posix.basename(d.path), d]));
  const unknown = wanted.filter((w) => !byName.has(w));
  if (unknown.length > 0) {
    throw new BuildUsageError(`no bot named ${unknown.map((u) => `\`${clip(u)}\``).join(', ')}; bots: ${[...byName.keys()].join(', ') || 'none'}`);
  }
  return [...new Set(wanted)].sort().map((w) => byName.get(w)!);
}

/** A broken botc.config.json is a diagnostic of the build like any other. */
function reportConfig(diagnostics: Diagnostics, root: string): void {
  try {
    readConfig(root);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    diagnostics.items.push(error.diagnostic);
  }
}

function reportUnsafeRoots(diagnostics: Diagnostics, entries: WorkspaceEntries): void {
  for (const entry of entries.unsafeRoots) {
    diagnostics.add('unsafe-path', { file: entry.path }, { variant: 'root', path: entry.path, problem: entryKindProblem(entry, 'folder') });
  }
}

function displayPath(root: string, absolute: string): string {
  const relative = path.relative(root, absolute);
  return relative.startsWith('..') || path.isAbsolute(relative) ? absolute : relative.split(path.sep).join('/');
}
