import path from 'node:path';
import { checkConfigProviders } from '../config.ts';
import { Diagnostics, sortDiagnostics, type Diagnostic } from '../diagnostics/diagnostic.ts';
import type { Bundle } from '../bundle/format.ts';
import { WorkspaceFiles } from '../load/files.ts';
import { isName, nameProblem } from '../load/names.ts';
import { ConfigError, readConfig } from '../config.ts';
import { clip } from '../schema/common.ts';
import { commonFrontMatterSchema } from '../schema/prompt.ts';
import { checkAutomations, hasAutomations } from '../automations/check.ts';
import { assembleBundle, type CommonBlock } from './assemble/assemble.ts';
import { resolveToolMethods } from './resolve/bot-methods.ts';
import { didYouMean, listNames } from '../diagnostics/hints.ts';
import { checkBot, loadBot, type BotSource } from './load/bots.ts';
import { discover, entryKindProblem, type WorkspaceEntries } from './discover/discover.ts';
import { BundleWriter, outputFolderProblem } from './emit/emit.ts';
import { BuildCache } from './cache/cache.ts';
import { outputDigests, reusableBuild, wholeBuildKey, type StoredBuild } from './cache/build-cache.ts';
import { loadIntegrations, resolveIntegrations } from './load/integrations.ts';
import { checkLock } from './resolve/lock-check.ts';
import { readPrompt } from './load/prompts.ts';
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
 * Builds a workspace: load → validate → resolve → assemble → emit. Every expected problem is
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
  // An unchanged workspace whose bundles are still in place is answered from the cache.
  const whole = wholeBuildFor(cache, files.root, options);
  if (whole?.stored) return { ok: whole.stored.ok, diagnostics: whole.stored.diagnostics, bundles: whole.stored.ok ? whole.stored.bundles : [], built: [] };

  // The integrations' schema checks run on a worker thread while the bots load and are checked
  // (stages 2 and 3, which do not need them); only the bots' method references wait for them.
  const pending = await loadIntegrations(files, diagnostics, entries.integrationChildren, cache);
  // Every way out, a throw included, stops the schema worker: a thread left running would
  // keep the process alive after the CLI has answered (a hung CI job).
  try {
    const commons = loadCommonBlocks(files, diagnostics, entries);
    const bots: BotSource[] = [];
    for (const dir of selected) {
      const name = path.posix.basename(dir.path);
      const bot = loadBot(files, diagnostics, dir, entries.botChildren.get(name) ?? [], entries.botPrompts.get(name) ?? []);
      if (bot) bots.push(bot);
    }
    for (const bot of bots) checkBot(diagnostics, bot);
    const everyBot = (options.bots === undefined || options.bots.length === 0) && bots.length === selected.length;
    if (everyBot) checkCommonBlockTools(diagnostics, commons, bots);
    const integrations = await resolveIntegrations(pending);
    for (const bot of bots) resolveToolMethods(diagnostics, bot, integrations);
    if (!integrations.unknowable.all) {
      checkConfigProviders(files, diagnostics, new Set([...integrations.providers.keys(), ...integrations.unknowable.providers]));
    }
    const lockMode = options.lock ?? 'check';
    const used = new Set(bots.flatMap((bot) => bot.methodRefs.map((ref) => ref.id)));
    const lock = lockMode === 'ignore' ? undefined : checkLock(files, diagnostics, integrations, used, (id) => integrations.declared.get(id), lockMode);

    const outDir = path.resolve(files.root, options.out ?? 'dist');
    const outProblem = options.write === false ? undefined : outputFolderProblem(files.root, outDir);
    if (outProblem) {
      diagnostics.report('unsafe-path', {
        file: displayPath(files.root, outDir),
        message: `the output folder cannot be written: ${outProblem.split(files.root + path.sep).join('')}`,
        hint: 'make the output folder a real folder (not a link), or name another with --out',
      });
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
          const bundle = assembleBundle(bot, commons, integrations, diagnostics);
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
    diagnostics.report('unsafe-path', {
      file: entry.path,
      message: `\`${entry.path}\` is ${entryKindProblem(entry, 'folder')}`,
      hint: `make ${entry.path}/ a real folder inside the workspace`,
    });
  }
}

/**
 * `when_tools_any` names tools of any bot: a name that no bot installs would silently drop the
 * block from every expert. Checked only when every bot of the workspace is loaded with a
 * usable manifest (a `--bot` selection or a broken manifest leaves the set of tools unknown).
 */
function checkCommonBlockTools(diagnostics: Diagnostics, commons: readonly CommonBlock[], bots: readonly BotSource[]): void {
  if (bots.length === 0 || bots.some((b) => !b.manifest)) return;
  const tools = new Set(bots.flatMap((b) => b.manifest!.tools.map((t) => t.name)));
  for (const { prompt } of commons) {
    for (const [index, tool] of (prompt.data?.when_tools_any ?? []).entries()) {
      if (!isName(tool) || tools.has(tool)) continue;
      diagnostics.report('frontmatter-invalid', {
        file: prompt.file,
        at: prompt.locate(['when_tools_any', index]),
        message: `\`when_tools_any\` names \`${clip(tool)}\`, which no bot installs, so the block would never be included for it`,
        hint: didYouMean(tool, tools) ?? `tools of the workspace's bots: ${listNames([...tools].sort())}`,
      });
    }
  }
}

/** `prompts/notes.MD`, `prompts/style.markdown`: common blocks are `*.md`, so these would be skipped without a word. */
const COMMON_LIKE = /^(.+)\.(?:md|markdown)$/i;

function loadCommonBlocks(files: WorkspaceFiles, diagnostics: Diagnostics, entries: WorkspaceEntries): CommonBlock[] {
  const blocks: CommonBlock[] = [];
  for (const entry of entries.commonPrompts) {
    if (!entry.path.endsWith('.md')) {
      const like = entry.kind === 'file' ? COMMON_LIKE.exec(path.posix.basename(entry.path)) : null;
      if (like) {
        diagnostics.report('prompt-file-misnamed', {
          file: entry.path,
          message: `\`${clip(path.posix.basename(entry.path))}\` looks like a common block but does not end in \`.md\`, so the build ignores it`,
          hint: `rename it to ${like[1]}.md, or move it out of prompts/ if it is not a prompt`,
        });
      }
      continue;
    }
    if (entry.kind !== 'file') {
      diagnostics.report('unsafe-path', {
        file: entry.path,
        message: `common block \`${entry.path}\` is ${entryKindProblem(entry, 'file')}`,
        hint: 'common blocks must be regular files inside the workspace',
      });
      continue;
    }
    const read = readPrompt(files, diagnostics, entry.path, commonFrontMatterSchema);
    if (!read.ok) continue;
    const when = read.prompt.data?.when_tools_any ?? [];
    for (const [index, tool] of when.entries()) {
      if (isName(tool)) continue;
      diagnostics.report('frontmatter-invalid', {
        file: entry.path,
        at: read.prompt.locate(['when_tools_any', index]),
        message: `\`when_tools_any\`: \`${clip(tool)}\` is not a valid tool name: ${nameProblem(tool)}`,
        hint: 'list exact tool names',
      });
    }
    blocks.push({ prompt: read.prompt });
  }
  return blocks;
}

function displayPath(root: string, absolute: string): string {
  const relative = path.relative(root, absolute);
  return relative.startsWith('..') || path.isAbsolute(relative) ? absolute : relative.split(path.sep).join('/');
}
