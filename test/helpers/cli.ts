import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BOTC = path.join(REPO_ROOT, 'bin/botc.js');

/** What a CLI run left behind: its exit status and everything it printed. */
export interface CliRun {
  /** The exit status; null when a spawned process was killed (timeout). */
  status: number | null;
  /** The signal that killed a spawned process; always null in process. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The arguments the CLI was given (tests assert no secret is among them). */
  args: string[];
}

/** How to run the CLI; the same options for every runner below. */
export interface CliOptions {
  /** The working directory; default the repository root. */
  cwd?: string;
  /** Variables added to the environment (after the outer environment without BOTC_*). */
  env?: Record<string, string | undefined>;
  /** Standard input, whole; default empty. */
  input?: string;
  /** Spawned runners only: milliseconds before the child is killed (a hung build fails the test). */
  timeout?: number;
  /** Keep the outer BOTC_* variables (default: dropped, so the test decides the state store etc.). */
  inheritBotc?: boolean;
}

/** The environment a CLI run sees: the outer one without BOTC_* (unless asked), no colour, then `env`. */
export function cliEnv(options: CliOptions = {}): NodeJS.ProcessEnv {
  const outer = options.inheritBotc ? { ...process.env } : Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BOTC_')));
  const env: NodeJS.ProcessEnv = { ...outer, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/**
 * Runs the CLI in this process through `main(argv, io)`, exactly as bin/botc.js wires it, but
 * without starting node or loading the compiled lib/: the fast way to test a command. Use the
 * spawned runners below only for what needs a process of its own (exit on a signal, a hang
 * that a timeout must kill, the shipped bin/ itself).
 */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const status = await main(args, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    stdin: async () => options.input ?? '',
    cwd: options.cwd ?? REPO_ROOT,
    isTty: false,
    env: cliEnv(options),
  });
  return { status, signal: null, stdout, stderr, args };
}

/**
 * Runs `node bin/botc.js ...args` (the compiled lib/, built by `pretest`) in a child process and
 * waits for it synchronously. The timeout (default 30 s) kills a hung build, so a regression
 * that blocks on a FIFO fails the test instead of freezing the test run.
 */
export function spawnCliSync(args: string[], options: CliOptions = {}): CliRun {
  const result = spawnSync(process.execPath, [BOTC, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    encoding: 'utf8',
    timeout: options.timeout ?? 30_000,
    env: cliEnv(options),
    input: options.input ?? '',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr: result.stderr ?? '', args };
}

/**
 * Runs `node bin/botc.js ...args` in a child process without blocking this one (which may
 * serve the fake providers the child talks to). The timeout (default 30 s) kills the child.
 */
export function spawnCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise<CliRun>((resolve, reject) => {
    const child = spawn(process.execPath, [BOTC, ...args], { cwd: options.cwd ?? REPO_ROOT, env: cliEnv(options), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 30_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, args });
    });
    child.stdin.end(options.input ?? '');
  });
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
