import { lstatSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { BuildResult } from '../build/build.ts';

/** Folders of a workspace that hold its sources; everything else (dist/, .botc/, node_modules/) is not watched. */
const SOURCE_FOLDERS = ['automations', 'bots', 'integrations', 'prompts'];
/** Names at the root whose change means a rebuild. */
const ROOT_SOURCES = new Set([...SOURCE_FOLDERS, 'botc.config.json', 'botc.lock.json']);
/** Folders skipped wherever they are: installs and caches, never sources. */
const SKIPPED = new Set(['node_modules', '.botc', '.git']);

/** How a watch session is driven: tests pass their own `signal` and a short `debounceMs`. */
export interface WatchSession {
  root: string;
  /** Runs one build (or check) of the workspace. */
  rebuild: () => Promise<BuildResult>;
  /** Prints the diagnostics of one build and its status line. */
  report: (result: BuildResult, status: string) => void;
  /** Ends the session (SIGINT in the CLI). */
  signal: AbortSignal;
  /** Quiet time after the last change before a rebuild, in milliseconds (default 100). */
  debounceMs?: number;
}

/**
 * `botc build --watch` / `check --watch`: builds once, then again after every change to the
 * workspace's sources (bots/, integrations/, prompts/, and files at the root such as
 * botc.config.json), debounced so an editor's burst of writes gives one rebuild. The build
 * cache makes a rebuild redo only what the change affects.
 *
 * Each folder is watched on its own (`fs.watch`, not recursive), found by walking the tree
 * with `lstat`: a symbolic link is never followed, so a link cannot make botc watch (or
 * report on) files outside the workspace. Folders are watched, not files, so an atomic save
 * (write a temporary file, rename it over the old one) and renames are seen like any change;
 * after each change the set of watched folders is walked again, so new, renamed and deleted
 * folders are followed. A change during a build causes one more build after it.
 *
 * Resolves with the exit status of the last build when `signal` aborts; every watcher is
 * closed and no timer is left running.
 */
export async function watchWorkspace(session: WatchSession): Promise<number> {
  const watchers = new Map<string, FSWatcher>();
  const debounceMs = session.debounceMs ?? 100;
  let timer: NodeJS.Timeout | undefined;
  let building = false;
  let again = false;
  let count = 0;
  let status = 0;
  let stopped = false;
  let wake: (() => void) | undefined;

  const schedule = () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void run(), debounceMs);
  };

  const sync = () => {
    const wanted = new Set(folders(session.root));
    for (const [dir, watcher] of watchers) {
      if (!wanted.has(dir)) {
        watcher.close();
        watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (watchers.has(dir)) continue;
      try {
        // At the root only sources count: the build's own output (dist/, .botc/) must not
        // trigger another build.
        const atRoot = dir === session.root;
        const watcher = watch(dir, { persistent: true }, (_event, name) => {
          if (!atRoot || name === null || ROOT_SOURCES.has(String(name))) schedule();
        });
        // A deleted folder ends its watcher with an error: drop it and look again.
        watcher.on('error', () => {
          watcher.close();
          watchers.delete(dir);
          schedule();
        });
        watchers.set(dir, watcher);
      } catch {
        // Gone between the walk and the watch: the next walk will not list it.
      }
    }
  };

  const run = async () => {
    if (stopped) return;
    if (building) {
      again = true;
      return;
    }
    building = true;
    sync();
    const started = performance.now();
    try {
      const result = await session.rebuild();
      count++;
      status = result.ok ? 0 : 1;
      const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
      const warnings = result.diagnostics.length - errors;
      const ms = Math.round(performance.now() - started);
      const time = new Date().toISOString().slice(11, 19);
      if (!stopped) session.report(result, `[${time}] rebuild ${count}: ${result.ok ? 'ok' : 'failed'}, ${errors} error(s), ${warnings} warning(s), ${result.bundles.length} bundle(s) in ${ms} ms; watching for changes (Ctrl-C stops)`);
    } catch (error) {
      // A usage problem (the root was deleted) ends nothing: the next change may fix it.
      status = 2;
      if (!stopped) session.report({ ok: false, diagnostics: [], bundles: [], built: [] }, `rebuild failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      building = false;
      wake?.();
    }
    if (again) {
      again = false;
      schedule();
    }
  };

  await run();
  await new Promise<void>((resolve) => {
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
      // A build under way finishes first, so nothing is left half-written.
      if (!building) resolve();
      else wake = resolve;
    };
    if (session.signal.aborted) stop();
    else session.signal.addEventListener('abort', stop, { once: true });
  });
  return status;
}

/** The root and every source folder under it, found without following links. */
function folders(root: string): string[] {
  const found = [root];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (SKIPPED.has(name)) continue;
      const full = path.join(dir, name);
      const stat = lstatSync(full, { throwIfNoEntry: false });
      if (stat?.isDirectory()) {
        found.push(full);
        walk(full);
      }
    }
  };
  for (const name of SOURCE_FOLDERS) {
    const dir = path.join(root, name);
    if (lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      found.push(dir);
      walk(dir);
    }
  }
  return found;
}
