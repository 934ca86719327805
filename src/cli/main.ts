import { readFileSync } from 'node:fs';
import { didYouMean } from '../diagnostics/hints.ts';
import { COMMAND_HELP, COMMANDS, usage } from './help.ts';

export type { Io } from './io.ts';
import type { Io } from './io.ts';

type Command = (argv: string[], io: Io) => Promise<number>;

// Each command is imported when it runs: `botc --help` and `botc --version` load no compiler,
// runtime or database driver.
const RUNNERS: Record<string, () => Promise<Command>> = {
  build: async () => (await import('./build.ts')).runBuild,
  check: async () => (await import('./build.ts')).runCheck,
  explain: async () => (await import('./explain.ts')).runExplain,
  call: async () => (await import('./call.ts')).runCall,
  confirm: async () => (await import('./confirm.ts')).runConfirm,
  review: async () => (await import('./state.ts')).runReview,
  credentials: async () => (await import('./state.ts')).runCredentials,
  audit: async () => (await import('./state.ts')).runAudit,
  export: async () => (await import('./export.ts')).runExport,
  lock: async () => (await import('./versioning.ts')).runLock,
  diff: async () => (await import('./versioning.ts')).runDiff,
  impact: async () => (await import('./versioning.ts')).runImpact,
  serve: async () => (await import('./serve.ts')).runServe,
  auth: async () => (await import('./auth.ts')).runAuth,
  console: async () => (await import('./console.ts')).runConsole,
  sync: async () => (await import('./inbound.ts')).runSync,
  automations: async () => (await import('./automations.ts')).runAutomationsCommand,
};

/**
 * Errors that are the user's mistake (bad arguments, a missing workspace, a broken config,
 * bundle or credentials file, a wrong key): a message on stderr and exit 2, never "internal
 * error". Matched by name because their classes live in modules loaded only on demand.
 */
const USER_ERRORS = new Set(['UsageError', 'BuildUsageError', 'ConfigError', 'BundleLoadError', 'VaultKeyError']);

/** Runs the CLI and returns the exit status. The only place that prints. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.stderr(usage());
    return 2;
  }
  if (command === '--version' || command === '-v') {
    io.stdout(`botc ${version()}\n`);
    return 0;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    const [topic, ...extra] = rest;
    if (topic === undefined || topic === '--help' || topic === '-h' || topic === 'help') {
      io.stdout(usage());
      return 0;
    }
    if (extra.length > 0 || !Object.hasOwn(COMMAND_HELP, topic)) return unknownCommand(extra.length > 0 ? rest.join(' ') : topic, io);
    io.stdout(COMMAND_HELP[topic]!.text);
    return 0;
  }
  if (!Object.hasOwn(RUNNERS, command)) return unknownCommand(command, io);
  if (asksForHelp(rest)) {
    io.stdout(COMMAND_HELP[command]!.text);
    return 0;
  }
  try {
    const run = await RUNNERS[command]!();
    return await run(rest, io);
  } catch (error) {
    if (error instanceof Error && USER_ERRORS.has(error.name)) {
      const hint = (error as { hint?: unknown }).hint;
      io.stderr(`botc: ${error.message}\n${typeof hint === 'string' ? `  hint: ${hint}\n` : ''}`);
      return 2;
    }
    io.stderr(`botc: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (io.env.BOTC_DEBUG && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    return 2;
  }
}

function unknownCommand(command: string, io: Io): number {
  const suggestion = command.startsWith('-') ? undefined : didYouMean(command, COMMANDS);
  io.stderr(`botc: unknown command \`${command.slice(0, 64)}\`${suggestion ? `: ${suggestion}` : ''}\n  hint: botc --help lists the commands\n`);
  return 2;
}

/** `--help` or `-h` among the arguments, before a `--` that ends the options. */
function asksForHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/** The version in package.json, next to src/ and lib/ alike. */
function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}
