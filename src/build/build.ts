import { existsSync } from 'node:fs';
import path from 'node:path';
import { WorkspaceFiles } from '../load/files.ts';
import { BuildCache } from './cache/cache.ts';
import { readSourceIndex, reusableBuild, SourceWalk, storeSourceIndex, wholeBuildKey, type SourceIndex, type StoredBuild } from './cache/build-cache.ts';
import { BuildUsageError } from './build-error.ts';
import { outputFolderProblem } from './emit/output-folder.ts';
import type { BuildOptions, BuildResult } from './compile.ts';

export type { BuildFailure, BuildOptions, BuildResult, BuildSuccess, BundleSummary } from './compile.ts';
export { BuildUsageError };

/**
 * Builds a workspace: load → validate → resolve → assemble → emit. Every expected problem is
 * a diagnostic; nothing is written unless the whole build is free of errors.
 *
 * An unchanged workspace whose bundles are still in place is answered from the build cache
 * before the compiler is even imported (src/build/compile.ts, with zod, ajv, esbuild and
 * handlebars behind it): a no-op rebuild costs one `lstat` per source (the source index of the
 * previous build answers unchanged files, see build-cache.ts) and a check of the bundles, no more.
 */
export async function build(options: BuildOptions): Promise<BuildResult> {
  let files: WorkspaceFiles;
  try {
    files = new WorkspaceFiles(options.root);
  } catch {
    throw new BuildUsageError(`workspace root \`${options.root}\` does not exist`);
  }
  // Without an `out`, the output folder is the config's `out` (as for `botc build`). The config's
  // parser loads only when the file exists; a broken config is reported by the compiler.
  if (options.out === undefined && existsSync(path.join(files.root, 'botc.config.json'))) {
    const { ConfigError, readConfig } = await import('../config.ts');
    try {
      const out = readConfig(files.root).out;
      if (out !== undefined) options = { ...options, out };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
    }
  }
  const cache = BuildCache.open(files.root, options.cache !== false);
  // The previous build's index of the sources: files whose fingerprint is unchanged are not read.
  const previous = cache && wholeBuildApplies(options) ? readSourceIndex(cache) : undefined;
  // Without one, this is a first build (or one without the cache): it bundles its integration
  // modules, and esbuild starts on them now, beside the walk of the sources.
  if (!previous) await (await import('./load/prebundle.ts')).prebundleModules(files);
  const whole = wholeBuildFor(cache, files.root, options, previous);
  if (whole?.stored) {
    const stored = whole.stored;
    if (stored.ok) storeSourceIndex(cache!, whole.walk, whole.previous);
    // A build that writes is answered only when every bundle file is in place, byte for byte.
    const unchanged = options.write === false ? [] : stored.bundles.map((b) => b.bot);
    return stored.ok ? { ok: true, diagnostics: stored.diagnostics, bundles: stored.bundles, built: [], unchanged } : { ok: false, diagnostics: stored.diagnostics, bundles: [], built: [] };
  }
  const { compile } = await import('./compile.ts');
  let result: BuildResult;
  try {
    result = await compile(files, options, cache, whole);
  } finally {
    if (!previous) (await import('../load/sandbox.ts')).dropPrebundles();
  }
  // Like every entry, the index is written by builds free of errors only: a failed build writes nothing.
  if (whole && result.ok) storeSourceIndex(cache!, whole.walk, whole.previous);
  return result;
}

/**
 * The whole-build cache applies to builds that hand no bundles back and compute no lock
 * update (`botc build` and `botc check`), into a usable output folder.
 */
function wholeBuildFor(cache: BuildCache | undefined, root: string, options: BuildOptions, previous: SourceIndex | undefined): { key: string; stored: StoredBuild | undefined; walk: SourceWalk; previous: SourceIndex | undefined } | undefined {
  if (!cache || !wholeBuildApplies(options)) return undefined;
  const outDir = path.resolve(root, options.out ?? 'dist');
  const write = options.write !== false;
  if (write && outputFolderProblem(root, outDir)) return undefined;
  const walk = new SourceWalk();
  const key = wholeBuildKey(root, { out: outDir, bots: options.bots ?? [], write, lock: options.lock ?? 'check' }, walk, previous);
  return { key, stored: reusableBuild(cache, key, write ? outDir : undefined, root), walk, previous };
}

/** Whether the whole-build cache may answer or store this build (see `wholeBuildFor`). */
function wholeBuildApplies(options: BuildOptions): boolean {
  return options.keepBundles === false && options.lock !== 'update';
}

/** `check`: everything `build` does but write. */
export function check(options: Omit<BuildOptions, 'write'>): Promise<BuildResult> {
  return build({ ...options, write: false });
}
