import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BOTC = path.join(REPO_ROOT, 'bin/botc.js');

export interface CliRun {
  /** null when the process was killed (timeout). */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/botc.js ...args` (the compiled lib/, built by `pretest`) in a child process.
 * The timeout kills a hung build, so a regression that blocks on a FIFO fails the test
 * instead of freezing the test run.
 */
export function runCli(args: string[], options: { cwd?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}): CliRun {
  const result = spawnSync(process.execPath, [BOTC, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    encoding: 'utf8',
    timeout: options.timeout ?? 30_000,
    env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/**
 * Records every path the process opens or reads through `node:fs` while `run` executes.
 * `syncBuiltinESMExports` pushes the wrappers into the ESM bindings that `src/` imports.
 */
export async function recordFileReads<T>(run: () => Promise<T>): Promise<{ result: T; paths: string[] }> {
  const paths: string[] = [];
  const originals = { openSync: fs.openSync, readFileSync: fs.readFileSync, open: fs.open, readFile: fs.readFile };
  const note = (target: unknown) => {
    if (typeof target === 'string') paths.push(path.resolve(target));
    else if (target instanceof URL) paths.push(fileURLToPath(target));
    else if (Buffer.isBuffer(target)) paths.push(path.resolve(target.toString()));
  };
  const wrap = <F extends (...args: never[]) => unknown>(fn: F): F =>
    ((...args: Parameters<F>) => {
      note(args[0]);
      return fn(...args);
    }) as F;
  fs.openSync = wrap(originals.openSync);
  fs.readFileSync = wrap(originals.readFileSync);
  fs.open = wrap(originals.open as (...args: never[]) => unknown) as typeof fs.open;
  fs.readFile = wrap(originals.readFile as (...args: never[]) => unknown) as typeof fs.readFile;
  syncBuiltinESMExports();
  try {
    return { result: await run(), paths };
  } finally {
    Object.assign(fs, originals);
    syncBuiltinESMExports();
  }
}
