// The compiler proper (over 300 lines: the stages and the cache reuse around them read best together): split from build.ts so that a build answered whole from the cache loads none of it (zod, ajv, esbuild, handlebars).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { checkConfigProviders } from '../config.ts';
import { Diagnostics, sortDiagnostics, type Diagnostic } from '../diagnostics/diagnostic.ts';
import type { Bundle } from '../bundle/format.ts';
import type { WorkspaceFiles } from '../load/files.ts';
import { ConfigError, readConfig, type WorkspaceConfig } from '../config.ts';
import { clip } from '../schema/common.ts';
import { assembleBundle } from './assemble/assemble.ts';
import type { BuildContext } from './context.ts';
import { loadBot, type BotSource } from './load/bots.ts';
import { checkCommonBlockTools, loadCommonBlocks } from './load/common-blocks.ts';
import { classifyEntries, discover, entryKindProblem, type WorkspaceEntries } from './discover/discover.ts';
import { BundleWriter } from './emit/emit.ts';
import { outputFolderProblem } from './emit/output-folder.ts';
import { sha256Hex, type BuildCache } from './cache/cache.ts';
import { BuildUsageError } from './build-error.ts';
import { outputRecords, sectionsUnchanged, wholeBuildKey, type SourceWalk, type StoredBuild } from './cache/build-cache.ts';
import { BotReuse, type BotStage, type StoredBot } from './cache/incremental.ts';
import type { IntegrationSet, PendingIntegrations } from './load/integration-set.ts';
import { IntegrationStageCache } from './cache/integration-cache.ts';
import { checkBot, checkBotMethods } from './rules/index.ts';
import type { LockUpdate } from '../versioning/lock.ts';

/** What `build()` builds and how; only `root` is required. */
export interface BuildOptions {
  /** The workspace root. */
  root: string;
  /**
   * Where bundles go; relative paths resolve against `root`. Default: `out` of the workspace's
   * botc.config.json, else `dist` (as for `botc build`).
   */
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

/** One bundle a build wrote (or, for `check`, would write). */
export interface BundleSummary {
  bot: string;
  /** Where the bundle is (or would be) written, relative to the root when inside it. */
  path: string;
  digest: string;
}

/** A build free of errors: `diagnostics` holds warnings only. */
export interface BuildSuccess {
  ok: true;
  /** Warnings, sorted by file, line and column. */
  diagnostics: Diagnostic[];
  /** One per bot built, in bot order. */
  bundles: BundleSummary[];
  /** The bundles themselves, in bot order; empty when `keepBundles` is false or the cache answered. */
  built: Bundle[];
  /** With `lock: 'update'`: the lock to write and what changed. */
  lock?: LockUpdate;
  /**
   * Bots (in bot order) whose bundle file was already in the output folder with the very bytes
   * this build would write, and was left as it is: a build answered whole by the cache, or a
   * bot it reused. Empty for `check`. Not part of `botc build --format json`, whose fields are
   * fixed; the text output says `unchanged` for these instead of `wrote`.
   */
  unchanged?: string[];
}

/** A build with at least one error diagnostic: nothing was written, and no bundle is returned. */
export interface BuildFailure {
  ok: false;
  /** Every problem found (errors and warnings), sorted by file, line and column. */
  diagnostics: Diagnostic[];
  bundles: [];
  built: [];
  /** With `lock: 'update'`: the lock computed from what could be read, and what changed. */
  lock?: LockUpdate;
}

/** What `build()` and `check()` return; `ok` tells the two apart. */
export type BuildResult = BuildSuccess | BuildFailure;

/**
 * The build proper, for a workspace the cache could not answer whole: load → validate →
 * resolve → assemble → emit. Every expected problem is a diagnostic; nothing is written
 * unless the whole build is free of errors. `whole` is the whole-build key, when this build
 * may be stored under it (see `build`).
 */
export async function compile(files: WorkspaceFiles, options: BuildOptions, cache: BuildCache | undefined, whole: { key: string; walk: SourceWalk } | undefined): Promise<BuildResult> {
  const diagnostics = new Diagnostics();
  // The listing the whole-build key's walk already made, when it is complete; else discovery's own.
  const listing = whole?.walk.listing;
  const entries = listing ? classifyEntries(listing) : discover(files.root);
  const selected = selectBots(entries, options.bots);
  reportUnsafeRoots(diagnostics, entries);
  // The config's `out` is the default output folder, as for `botc build`.
  options = { ...options, out: options.out ?? reportConfig(diagnostics, files.root).out ?? 'dist' };
  // One context through the stages: the files, the diagnostics, what discovery found, the cache.
  const ctx: BuildContext = { files, diagnostics, entries, cache };
  // The prompt, bot and integration files the key's walk read are not opened and hashed again.
  if (whole) files.lend(whole.walk.contents, whole.walk.digests);

  // The integration stage is taken whole from the cache when nothing it reads changed
  // (integration-cache.ts); only on a miss are its modules (ajv, the sandbox, esbuild) imported.
  const stageCache = whole && cache ? new IntegrationStageCache(cache, files.root, whole.walk) : undefined;
  const hit = stageCache?.lookup();
  let pending: PendingIntegrations | undefined;
  let loading: IntegrationLoad | undefined;
  const stageDiagnostics: { load: Diagnostic[]; resolve: Diagnostic[] } = { load: [], resolve: [] };
  if (hit) diagnostics.items.push(...hit.stored.diagnostics.load);
  else loading = await startIntegrations(ctx);
  // Every way out, a throw included, stops the schema worker: a thread left running would
  // keep the process alive after the CLI has answered (a hung CI job).
  try {
    const outDir = path.resolve(files.root, options.out ?? 'dist');
    // As `hasAutomations` (src/automations/check.ts), whose module (ajv behind it) loads only when there are automations to check.
    const keepForAutomations = existsSync(files.absolute('automations'));
    // The integration stage's results, once it is done: its diagnostics go in where a build
    // that waited for it puts them, ahead of the common blocks' and the bots'.
    const finishIntegrations = async (): Promise<void> => {
      if (!loading) return;
      pending = await loading.done;
      stageDiagnostics.load = loading.diagnostics.items;
      diagnostics.items.splice(loading.at, 0, ...loading.diagnostics.items);
      loading = undefined;
    };
    // The bots load while the integration stage runs (its sandbox and esbuild leave this thread
    // idle), unless a bot might be reused: the reuse keys hold what the stage declares.
    const overlap = loading !== undefined && !(whole && cache?.mayHold('bot'));
    if (!overlap) await finishIntegrations();
    const commons = loadCommonBlocks(ctx);
    // Computed once, when the stage is done (it hashes every declaration): the reuse keys and the stored stage share it.
    let shared: string | undefined;
    const botShared = () => (shared ??= hit ? hit.stored.botShared : botSharedOf(pending!));
    let reuse = whole && !overlap ? botReuseFor(files, options, cache, botShared(), outDir, keepForAutomations, whole.walk) : undefined;
    // Each bot is either loaded afresh or reused whole (incremental.ts); a reused bot's
    // diagnostics are replayed at each stage where a full build reports them.
    const bots: BotItem[] = [];
    let slice = performance.now();
    for (const dir of selected) {
      // Meanwhile the stage's callbacks (esbuild's, the loader's messages) run on this thread too.
      if (loading && performance.now() - slice > YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
      const name = path.posix.basename(dir.path);
      const stored = reuse?.lookup(name);
      if (stored) {
        diagnostics.items.push(...stored.diagnostics.load);
        bots.push({ id: name, stored, slices: stored.diagnostics });
        continue;
      }
      const mark = diagnostics.mark;
      const bot = loadBot(ctx, dir);
      if (bot) bots.push({ id: name, source: bot, slices: { load: diagnostics.items.slice(mark), check: [], resolve: [], assemble: [] } });
    }
    await finishIntegrations();
    // With nothing stored for any bot, the reuse only remembers this build's bots.
    if (whole && overlap) reuse = botReuseFor(files, options, cache, botShared(), outDir, keepForAutomations, whole.walk);
    // Every prompt, bot and module file has been read: what is left of the walk's bytes is dropped.
    files.lend(undefined);
    const stage = (item: BotItem, which: BotStage, run: (bot: BotSource) => void): void => {
      if (item.stored) {
        diagnostics.items.push(...item.stored.diagnostics[which]);
        return;
      }
      const mark = diagnostics.mark;
      run(item.source!);
      item.slices[which] = diagnostics.items.slice(mark);
    };
    // The cross-file rules (src/build/rules/): first those that need only the bots.
    for (const item of bots) stage(item, 'check', (bot) => checkBot(ctx, bot));
    const everyBot = (options.bots === undefined || options.bots.length === 0) && bots.length === selected.length;
    if (everyBot) checkCommonBlockTools(ctx, commons, bots.map((b) => (b.stored ? b.stored.tools : b.source!.manifest?.tools.map((t) => t.name))));

    // Resolve, then check, assemble and stage every bot. The schema checks need not be in:
    // a schema still being compiled is assumed to pass, and the guess is confirmed before
    // anything is committed. A wrong guess costs a redo (a schema with lints: the resolve
    // stage's warnings; with an error, which fails the build: everything from here).
    const resolveMark = diagnostics.mark;
    const resolve = async (assume: boolean): Promise<IntegrationSet> => {
      if (hit) {
        diagnostics.items.push(...hit.stored.diagnostics.resolve);
        return hit.set;
      }
      const { resolveIntegrations } = await import('./resolve/integrations.ts');
      const mark = diagnostics.mark;
      const set = await resolveIntegrations({ ...pending!, ctx: { files, diagnostics } }, { assume });
      stageDiagnostics.resolve = diagnostics.items.slice(mark);
      return set;
    };
    const assume = pending?.schemas.outstanding === true;
    let integrations = await resolve(assume);
    const resolveEnd = diagnostics.mark;
    const lockMode = options.lock ?? 'check';
    const emit = async () => {
      for (const item of bots) stage(item, 'resolve', (bot) => checkBotMethods(ctx, bot, integrations));
      if (!integrations.unknowable.all) {
        checkConfigProviders(files, diagnostics, new Set([...integrations.providers.keys(), ...integrations.unknowable.providers]));
      }
      const used = new Set(bots.flatMap((item) => (item.stored ? item.stored.refs : item.source!.methodRefs.map((ref) => ref.id))));
      // Without a lock file a check has nothing to compare (lock-check.ts looks the same way):
      // the versioning modules (ajv behind them) then load only for `botc lock`.
      const lock =
        lockMode !== 'ignore' && (lockMode === 'update' || existsSync(path.join(files.root, 'botc.lock.json')))
          ? (await import('./resolve/lock-check.ts')).checkLock(ctx, integrations, used, (id) => integrations.declared.get(id), lockMode)
          : undefined;
      const outProblem = options.write === false ? undefined : outputFolderProblem(files.root, outDir);
      if (outProblem) {
        diagnostics.add('unsafe-path', { file: displayPath(files.root, outDir) }, { variant: 'output', problem: outProblem.split(files.root + path.sep).join('') });
      }
      const writer = options.write === false ? undefined : new BundleWriter(outDir, files.root);
      const summaries: BundleSummary[] = [];
      const built: Bundle[] = [];
      const unchanged: string[] = [];
      if (diagnostics.errorCount === 0) {
        try {
          // Kept only for the automation check, and only when the workspace has automations.
          const assembled: Bundle[] = [];
          for (const item of bots) {
            const bundleFile = path.join(outDir, `${item.id}.bundle.json`);
            if (item.stored) {
              diagnostics.items.push(...item.stored.diagnostics.assemble);
              if (writer) {
                writer.keep(item.id);
                unchanged.push(item.id);
              }
              // Reused only with its file in place (a build that writes), so the file is the bundle.
              if (keepForAutomations) assembled.push(JSON.parse(readFileSync(bundleFile, 'utf8')) as Bundle);
              summaries.push({ bot: item.id, path: displayPath(files.root, bundleFile), digest: item.stored.digest });
              continue;
            }
            const bot = item.source!;
            const mark = diagnostics.mark;
            const bundle = assembleBundle(bot, commons, integrations, ctx);
            item.slices.assemble = diagnostics.items.slice(mark);
            if (!bundle) continue;
            if (diagnostics.errorCount === 0) writer?.stage(bundle);
            if (options.keepBundles !== false) built.push(bundle);
            if (keepForAutomations) assembled.push(bundle);
            summaries.push({ bot: bot.id, path: displayPath(files.root, bundleFile), digest: bundle.digest });
            reuse?.remember(item.id, { digest: bundle.digest, tools: bot.manifest!.tools.map((t) => t.name), refs: bot.methodRefs.map((ref) => ref.id), diagnostics: item.slices });
          }
          // Automations name bots, experts, tools and methods as the bundles resolved them.
          if (keepForAutomations) {
            const { checkAutomations } = await import('../automations/check.ts');
            checkAutomations(files, diagnostics, assembled, everyBot);
          }
        } catch (error) {
          writer?.discard();
          throw error;
        }
      }
      return { lock, writer, summaries, built, unchanged };
    };
    let emitted = await emit();
    if (assume) {
      const verdict = await pending!.schemas.confirm();
      if (verdict === 'held') {
        pending!.schemas.store();
      } else if (verdict === 'lints') {
        // The same methods are kept: only the resolve stage's warnings are put right.
        const own = new Diagnostics();
        const { resolveIntegrations } = await import('./resolve/integrations.ts');
        await resolveIntegrations({ ...pending!, ctx: { files, diagnostics: own } });
        diagnostics.items.splice(resolveMark, resolveEnd - resolveMark, ...own.items);
        stageDiagnostics.resolve = own.items;
      } else {
        emitted.writer?.discard();
        diagnostics.items.length = resolveMark;
        integrations = await resolve(false);
        emitted = await emit();
      }
    }
    const { lock, writer, summaries, built, unchanged } = emitted;
    const ok = diagnostics.errorCount === 0;
    if (ok) writer?.commit(options.bots === undefined || options.bots.length === 0);
    else writer?.discard();
    const sorted = sortDiagnostics(diagnostics.items);
    const result: BuildResult = ok ? { ok, diagnostics: sorted, bundles: summaries, built, unchanged } : { ok, diagnostics: sorted, bundles: [], built: [] };
    if (lockMode === 'update' && lock) result.lock = lock;
    // A reused bot's bundle whose fingerprint matched is not read again.
    const records = ok && writer && whole ? outputRecords(outDir, reuse?.reusedOutputs, writer.written) : undefined;
    // Bots are stored only when no source changed while the build ran (their keys would be wrong).
    // What this build read afresh, to check again before storing: with the integration stage
    // and some bots taken from the cache (keyed by the walk itself), only the other sources.
    const recheck = hit && reuse ? ['prompts', 'botc.config.json', 'botc.lock.json', 'automations', ...bots.filter((b) => !b.stored).map((b) => `bots/${b.id}`)] : undefined;
    const sourcesSteady = whole ? storeWholeBuild(cache!, whole, files.root, options, result, records?.outputs, records?.stats, externalInputs(integrations, whole.walk), recheck) : false;
    if (ok && sourcesSteady) reuse?.store(records?.outputs, records?.stats);
    if (ok && sourcesSteady && pending) stageCache?.store(pending, integrations, stageDiagnostics, botShared());
    // Nothing is written unless the build is free of errors: the cache neither.
    if (ok) cache?.flush();
    else cache?.discard();
    return result;
  } finally {
    files.lend(undefined);
    pending?.schemas.close();
    // A stage still running when the build threw: its worker stops once it is done.
    void loading?.done.then((stopped) => stopped.schemas.close(), () => undefined);
  }
}

/**
 * Stores a finished build, unless a source changed while it ran (its key would then be wrong);
 * false when one did. `recheck`: the sections of the walk (src/build/cache/build-cache.ts) the
 * build read afresh; the rest came from entries keyed by the walk itself. Undefined: all.
 */
function storeWholeBuild(cache: BuildCache, { key, walk }: { key: string; walk: SourceWalk }, root: string, options: BuildOptions, result: BuildResult, outputs: Record<string, string> | undefined, stats: Record<string, string> | undefined, external: [string, string][], recheck: string[] | undefined): boolean {
  // Walked again (only the `recheck` sections when given); a file whose fingerprint is
  // unchanged since the first walk (and was not changed just before it) is not read again.
  if (recheck) {
    if (!sectionsUnchanged(root, walk, recheck)) return false;
  } else if (wholeBuildKey(root, { out: path.resolve(root, options.out ?? 'dist'), bots: options.bots ?? [], write: options.write !== false, lock: options.lock ?? 'check' }, undefined, walk) !== key) {
    return false;
  }
  const stored: StoredBuild = { ok: result.ok, diagnostics: result.diagnostics, bundles: result.bundles, outputs: result.ok && outputs ? outputs : {}, ...(result.ok && stats ? { stats } : {}), ...(external.length > 0 ? { external } : {}) };
  cache.put('build', key, stored);
  return true;
}

/** The local files modules import from outside the walked source folders, with the sha256 the build pinned them at (`StoredBuild.external`). */
function externalInputs(integrations: IntegrationSet, walk: SourceWalk): [string, string][] {
  const external = new Map<string, string>();
  for (const provider of integrations.providers.values()) {
    for (const input of provider.inputs) if (!walk.digests.has(input.file)) external.set(input.file, input.sha256);
  }
  return [...external].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** How long the bots' loading runs before it gives way to the integration stage running beside it, in milliseconds. */
const YIELD_EVERY_MS = 4;

/** The integration stage under way: its result, the diagnostics it reports, and where they go in the build's list. */
interface IntegrationLoad {
  done: Promise<PendingIntegrations>;
  diagnostics: Diagnostics;
  at: number;
}

/**
 * Starts the integration stage (src/build/load/integrations.ts) without waiting for it. Its
 * diagnostics are kept apart until it is done, so the bots loading meanwhile do not
 * interleave with them. A failure surfaces where `done` is awaited, not as an unhandled rejection.
 */
async function startIntegrations(ctx: BuildContext): Promise<IntegrationLoad> {
  const { loadIntegrations } = await import('./load/integrations.ts');
  const own = new Diagnostics();
  const at = ctx.diagnostics.mark;
  const done = loadIntegrations({ ...ctx, diagnostics: own });
  done.catch(() => undefined);
  return { done, diagnostics: own, at };
}

/** One bot of the build: loaded afresh (`source`) or reused from the cache (`stored`), with its diagnostics per stage. */
interface BotItem {
  id: string;
  source?: BotSource;
  stored?: StoredBot;
  slices: Record<BotStage, Diagnostic[]>;
}

/**
 * Per-bot reuse applies where the whole-build cache does (builds that hand no bundle back and compute no lock update),
 * except a `check` of a workspace with automations: they are checked against the bundles,
 * which a reused bot of a build that writes nothing has no file to read back from.
 */
function botReuseFor(files: WorkspaceFiles, options: BuildOptions, cache: BuildCache | undefined, botShared: unknown, outDir: string, automations: boolean, walk: SourceWalk): BotReuse | undefined {
  if (!cache || options.keepBundles !== false) return undefined;
  const write = options.write !== false;
  if (!write && automations) return undefined;
  if (write && outputFolderProblem(files.root, outDir)) return undefined;
  return BotReuse.open(cache, write ? outDir : undefined, botShared, walk);
}

/**
 * Everything the integration stage produced that a bundle can carry, for the per-bot keys: the
 * declarations (as the modules returned them) and each module's pin, which covers helpers
 * outside the workspace's source folders too.
 */
function botSharedOf(pending: PendingIntegrations): string {
  const integrations = pending.modules.map((m) => [m.entry.provider, m.loaded.pin, m.loaded.sha256, m.loaded.inputs, m.loaded.handlers, m.loaded.specs]);
  // Its sha256 stands for it in the keys (and in a stored stage, which then stays small).
  return sha256Hex(JSON.stringify([integrations, [...pending.set.unknowable.providers].sort(), pending.set.unknowable.all]));
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

/**
 * Reads botc.config.json. A broken config is a diagnostic of the build like any other; the
 * build then goes on with the defaults (and fails, so nothing is written).
 */
function reportConfig(diagnostics: Diagnostics, root: string): WorkspaceConfig {
  try {
    return readConfig(root);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    diagnostics.items.push(error.diagnostic);
    return {};
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
