import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, type BuildResult } from '../build/build.ts';
import type { WorkspaceConfig } from '../config.ts';
import { WorkspaceFiles } from '../load/files.ts';
import type { Io } from './io.ts';
import { renderGithub, renderJson, renderPretty } from './render.ts';
import { UsageError } from './usage.ts';
import { repositoryPrefix, workspaceRoot } from './workspace.ts';

const FORMATS = ['pretty', 'json', 'github'] as const;

const BUILD_OPTIONS = {
  root: { type: 'string' },
  out: { type: 'string' },
  bot: { type: 'string', multiple: true, default: [] as string[] },
  format: { type: 'string', default: 'pretty' },
  'no-cache': { type: 'boolean', default: false },
  watch: { type: 'boolean', default: false },
} as const;

/** `botc build`: validate the workspace and write one bundle per bot. */
export const runBuild = (argv: string[], io: Io) => runBuildCommand('build', argv, io);
/** `botc check`: everything `build` does but write. */
export const runCheck = (argv: string[], io: Io) => runBuildCommand('check', argv, io);

async function runBuildCommand(command: 'build' | 'check', argv: string[], io: Io): Promise<number> {
  const values = parse(command, argv);
  const format = values.format.toLowerCase();
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format is pretty, json or github, not \`${values.format.slice(0, 64)}\``);
  const cwd = io.cwd ?? process.cwd();
  const root = workspaceRoot(values.root, cwd);

  // A broken botc.config.json is a diagnostic of the build (and shows in json and github
  // output like any other); the output folder is then the default, and nothing is written.
  // Without a config file, the config's parser (zod) is not even loaded: an unchanged
  // rebuild answered from the cache loads nothing but the cache check.
  let config: WorkspaceConfig = {};
  if (existsSync(path.join(root, 'botc.config.json'))) {
    const { ConfigError, readConfig } = await import('../config.ts');
    try {
      config = readConfig(root);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
    }
  }
  const options = {
    root,
    out: values.out === undefined ? (config.out ?? 'dist') : path.resolve(cwd, values.out),
    bots: values.bot,
    write: command === 'build',
    keepBundles: false,
    cache: !values['no-cache'],
  };
  if (values.watch) {
    const { watchWorkspace } = await import('./watch.ts');
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    try {
      return await watchWorkspace({
        root,
        rebuild: () => build(options),
        report: (result, status) => {
          printResult(command, format, result, root, io);
          io.stdout(`${status}\n`);
        },
        signal: stop.signal,
      });
    } finally {
      process.removeListener('SIGINT', onSignal);
    }
  }
  const result = await build(options);
  printResult(command, format, result, root, io);
  return result.ok ? 0 : 1;
}

/** Prints one build's result in the chosen format. */
function printResult(command: 'build' | 'check', format: string, result: BuildResult, root: string, io: Io): void {
  if (format === 'json') io.stdout(renderJson(result));
  else if (format === 'github') {
    // GitHub resolves annotation paths against the repository root, not the workspace.
    const prefix = repositoryPrefix(root, io.env);
    io.stdout(renderGithub({ ...result, diagnostics: result.diagnostics.map((d) => ({ ...d, file: `${prefix}${d.file}` })) }));
  } else {
    const files = new WorkspaceFiles(root);
    io.stdout(renderPretty(result, { color: useColour(io), source: (file) => readForFrame(files, file) }, command));
  }
}

/**
 * Colour follows the common conventions: `FORCE_COLOR` set to anything but `0`/`false` turns
 * it on and `FORCE_COLOR=0` off (https://force-color.org); otherwise `NO_COLOR` (any non-empty
 * value, https://no-color.org) or `TERM=dumb` turn it off, and a terminal turns it on.
 */
export function useColour(io: Pick<Io, 'env' | 'isTty'>): boolean {
  const force = io.env.FORCE_COLOR;
  if (force !== undefined && force !== '') return !['0', 'false'].includes(force.toLowerCase());
  if (io.env.NO_COLOR) return false;
  if (io.env.TERM === 'dumb') return false;
  return io.isTty === true;
}

function readForFrame(files: WorkspaceFiles, file: string): string | undefined {
  const read = files.read(file);
  return read.ok ? read.text : undefined;
}

function parse(command: string, args: string[]) {
  try {
    return parseArgs({ args, options: BUILD_OPTIONS, allowPositionals: false, strict: true }).values;
  } catch (error) {
    throw new UsageError((error as Error).message, `botc help ${command} lists the options`);
  }
}
