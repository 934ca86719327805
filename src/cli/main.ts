import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { build, BuildUsageError } from '../build/build.ts';
import { WorkspaceFiles } from '../load/files.ts';
import { renderGithub, renderJson, renderPretty, type Format } from './render.ts';
import { runCall, runConfirm } from './call.ts';
import { runAudit, runCredentials, runReview } from './state.ts';
import { VaultKeyError } from '../state/vault.ts';
import { UsageError } from './usage.ts';
import { runDiff, runImpact, runLock } from './versioning.ts';
import { runExport } from './export.ts';
import { runServe } from './serve.ts';
import { ConfigError, readConfig } from '../config.ts';
import { BundleLoadError } from '../runtime/bundle.ts';

const USAGE = `botc: the bot compiler

Usage:
  botc build [--root DIR] [--out DIR] [--bot ID]... [--format pretty|json|github]
  botc check [--root DIR] [--bot ID]... [--format pretty|json|github]
  botc call <bundle> --expert E --tool T --op OP [--args JSON] [--root DIR] [--tenant T]
            [--credentials FILE] [--state URL] [--approver NAME]
  botc confirm <token> <bundle> --approver NAME [--tenant T] [--root DIR] [--state URL]
  botc review list|approve|reject [ID...] [--tenant T] [--reviewer NAME] [--status S] [--state URL]
  botc credentials add|list|revoke [PROVIDER] [--tenant T] [--scopes a,b] [--state URL]
  botc audit list|verify [--tenant T] [--since ISO] [--until ISO] [--integration P] [--outcome O] [--state URL]
  botc export <bundle> --target T [--expert E] [--style envelope|methods] [--strict] [--server NAME]
  botc serve mcp <bundle> --expert E [--http HOST:PORT] [--tenant T] [--style envelope|methods]
            [--approver NAME] [--root DIR] [--state URL]
  botc lock [--root DIR]
  botc diff <old.bundle.json|DIR> <new.bundle.json|DIR> [--format pretty|json|markdown|github] [--fail-on breaking|any]
  botc impact <method_id|provider> [--root DIR] [--format pretty|json]

Commands:
  build   validate the workspace and write one bundle per bot to --out (default: dist)
  check   validate everything, write nothing
  call    run one tool call through a bundle and print the result as JSON
          (exit 0 when ok, 1 when the result is an error)
  confirm send an outbound write a person approved (the token comes from CONFIRMATION_REQUIRED)
  review  list imported records waiting for review; approve or reject them
  credentials  store tenant credentials encrypted with BOTC_SECRET_KEY; the secret is read from stdin
  audit   list the audit log, or verify its hash chain (exit 1 names the first bad entry)
  export  print tool definitions of one expert for an agent runtime (openai-responses, openai-chat,
          anthropic, gemini, mcp, claude-code)
  serve   serve one expert as an MCP server over stdio, or Streamable HTTP at /mcp with --http
          (loopback by default; other addresses need BOTC_MCP_TOKEN as a bearer token)
  lock    record every declared method in botc.lock.json; refuses a breaking change of a locked id
  diff    compare two builds for review: experts, prompt blocks, tools, methods (breaking or not)
  impact  list the bots, tools and experts that use a method or a provider

State: --state or BOTC_STATE_URL (postgres://... or a SQLite file), default <root>/.botc/state.db.

Exit status: 0 no errors (warnings allowed), 1 errors found, 2 bad usage or internal failure.
`;

export interface Io {
  stdout: (text: string) => void;
  /** Reads all of standard input (secrets for `credentials add`). */
  stdin?: () => Promise<string>;
  stderr: (text: string) => void;
  isTty: boolean;
  env: NodeJS.ProcessEnv;
}

/** Runs the CLI and returns the exit status. The only place that prints. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(USAGE);
    return command === undefined ? 2 : 0;
  }
  try {
    switch (command) {
      case 'build':
      case 'check':
        return await runBuild(command, rest, io);
      case 'call':
        return await runCall(rest, io);
      case 'confirm':
        return await runConfirm(rest, io);
      case 'review':
        return await runReview(rest, io);
      case 'credentials':
        return await runCredentials(rest, io);
      case 'audit':
        return await runAudit(rest, io);
      case 'export':
        return await runExport(rest, io);
      case 'serve':
        return await runServe(rest, io);
      case 'lock':
        return await runLock(rest, io);
      case 'diff':
        return await runDiff(rest, io);
      case 'impact':
        return await runImpact(rest, io);
      default:
        io.stderr(`botc: unknown command \`${command}\`\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof BuildUsageError || error instanceof ConfigError || error instanceof BundleLoadError || error instanceof VaultKeyError) {
      io.stderr(`botc: ${error.message}\n`);
      return 2;
    }
    io.stderr(`botc: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (io.env.BOTC_DEBUG && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    return 2;
  }
}


async function runBuild(command: 'build' | 'check', args: string[], io: Io): Promise<number> {
  const { values } = parse(args);
  const format = values.format;
  if (!['pretty', 'json', 'github'].includes(format)) throw new UsageError(`--format must be pretty, json or github, not \`${format}\``);
  const root = values.root;
  const result = await build({
    root,
    out: values.out === undefined ? (readConfig(root).out ?? 'dist') : pathFromCwd(values.out),
    bots: values.bot,
    write: command === 'build',
    keepBundles: false,
  });
  const files = new WorkspaceFiles(root);
  const output =
    (format as Format) === 'json'
      ? renderJson(result)
      : format === 'github'
        ? renderGithub(result)
        : renderPretty(result, { color: io.isTty && !io.env.NO_COLOR, source: (file) => readForFrame(files, file) }, command);
  io.stdout(output);
  return result.ok ? 0 : 1;
}

function readForFrame(files: WorkspaceFiles, file: string): string | undefined {
  const read = files.read(file);
  return read.ok ? read.text : undefined;
}

function pathFromCwd(value: string): string {
  // Not `new URL(...)`: a URL would percent-encode spaces and cut the path at `#` or `?`.
  return path.resolve(value);
}

const BUILD_OPTIONS = {
  root: { type: 'string', default: '.' },
  out: { type: 'string' },
  bot: { type: 'string', multiple: true, default: [] as string[] },
  format: { type: 'string', default: 'pretty' },
} satisfies ParseArgsConfig['options'];

function parse(args: string[]) {
  try {
    return parseArgs({ args, options: BUILD_OPTIONS, allowPositionals: false, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
