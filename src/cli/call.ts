import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { WorkspaceConfig } from '../config.ts';
import { providerConfig } from '../config-providers.ts';
import { loadBundle } from '../runtime/bundle-load.ts';
import { chainCredentials, credentialsFromEnv, type CredentialSource } from '../integration/credentials.ts';
import { CursorKeyError, cursorKeyFile, cursorKeyFromEnv, deriveCursorKey } from '../runtime/cursors.ts';
import { Runtime } from '../runtime/runtime.ts';
import { usePrecompiledValidators } from '../runtime/validators.ts';
import { loadWorkspaceConfig } from '../runtime/workspace-config.ts';
import { DEFAULT_STATE_FILE } from '../state/open.ts';
import type { StateStore } from '../state/types.ts';
import type { Io } from './io.ts';
import { checkVaultKey, storeFor } from './store.ts';
import { UsageError } from './usage.ts';
import { workspaceRoot } from './workspace.ts';

const RUNTIME_OPTIONS = {
  root: { type: 'string' },
  tenant: { type: 'string', default: 'default' },
  credentials: { type: 'string' },
  state: { type: 'string' },
  approver: { type: 'string' },
  'trace-id': { type: 'string' },
} as const;

const CALL_OPTIONS = {
  ...RUNTIME_OPTIONS,
  expert: { type: 'string' },
  tool: { type: 'string' },
  op: { type: 'string' },
  args: { type: 'string' },
} as const;

function parse<O extends typeof CALL_OPTIONS | typeof CONFIRM_OPTIONS>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, `botc help ${options === CALL_OPTIONS ? 'call' : 'confirm'} lists the options`);
  }
}

/** `botc call <bundle> --expert E --tool T --op OP [--args JSON]`: one tool call, printed as JSON. */
export async function runCall(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, CALL_OPTIONS);
  if (positionals.length !== 1) throw new UsageError('botc call takes one bundle path', 'botc call <bundle> --expert E --tool T --op OP');
  for (const required of ['expert', 'tool', 'op'] as const) {
    if (!values[required]) throw new UsageError(`botc call needs --${required}`, 'botc call <bundle> --expert E --tool T --op OP');
  }
  const args = jsonOption(values.args, '--args');
  return withRuntime(positionals[0]!, values, io, async (runtime) => {
    const result = await runtime.callTool({
      expert: values.expert!,
      tool: values.tool!,
      op: values.op!,
      args,
      tenant: values.tenant,
      ...(values.approver ? { approver: values.approver } : {}),
      ...(values['trace-id'] ? { trace_id: values['trace-id'] } : {}),
    });
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return result.ok ? 0 : 1;
  });
}

const CONFIRM_OPTIONS = { ...RUNTIME_OPTIONS, params: { type: 'string' }, 'token-file': { type: 'string' } } as const;

/** Confirmation tokens as the runtime hands them out; nothing else is a token. */
const TOKEN_PREFIX = 'botc_confirm_';
/** A token is about 60 characters; a file much larger than that is not a token file. */
const TOKEN_FILE_CAP = 4096;

/**
 * `botc confirm <bundle> --approver NAME`: send a previewed outbound write. The token comes
 * from standard input or `--token-file`, never from the arguments: every user of the machine
 * can read a process's arguments (`ps`, /proc/<pid>/cmdline), and shells keep them in history.
 */
export async function runConfirm(argv: string[], io: Io): Promise<number> {
  const tokenOnArgv = argv.some((a) => a === '--token' || a.startsWith('--token=') || a.startsWith(TOKEN_PREFIX));
  const { values, positionals } = parse(tokenOnArgv ? [] : argv, CONFIRM_OPTIONS);
  if (tokenOnArgv || positionals.length === 2) {
    // The old form `botc confirm <token> <bundle>`, or a token given any other way on the
    // command line. The token is not echoed back.
    throw new UsageError(
      'botc confirm no longer takes the token as an argument: arguments are visible to every user of the machine (`ps`) and stay in shell history',
      `pass it on standard input: printf '%s' "$TOKEN" | botc confirm <bundle> --approver NAME, or from a file only you can read: --token-file FILE`,
    );
  }
  if (positionals.length !== 1) throw new UsageError('botc confirm takes one bundle path', 'printf \'%s\' "$TOKEN" | botc confirm <bundle> --approver NAME');
  const approver = values.approver ?? io.env.USER;
  if (!approver) throw new UsageError('--approver names the person confirming');
  const params = jsonOption(values.params, '--params') as Record<string, unknown> | undefined;
  const token = await readToken(values['token-file'], io);
  return withRuntime(positionals[0]!, values, io, async (runtime) => {
    const result = await runtime.confirm({
      token,
      tenant: values.tenant,
      approver,
      ...(params ? { params } : {}),
      ...(values['trace-id'] ? { trace_id: values['trace-id'] } : {}),
    });
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return result.ok ? 0 : 1;
  });
}

/** The confirmation token from `--token-file FILE` or standard input, surrounding space removed. */
async function readToken(file: string | undefined, io: Io): Promise<string> {
  let text: string;
  if (file !== undefined) {
    const resolved = path.resolve(io.cwd ?? process.cwd(), file);
    try {
      if (statSync(resolved).size > TOKEN_FILE_CAP) throw new UsageError(`--token-file ${file} is larger than a token (${TOKEN_FILE_CAP} bytes at most)`);
      text = readFileSync(resolved, 'utf8');
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`--token-file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else {
    if (!io.stdin) throw new UsageError('the token is read from standard input or --token-file FILE');
    text = await io.stdin();
  }
  const token = text.trim();
  if (!token) throw new UsageError(`no confirmation token ${file === undefined ? 'on standard input' : `in ${file}`}`, `printf '%s' "$TOKEN" | botc confirm <bundle> --approver NAME`);
  if (!token.startsWith(TOKEN_PREFIX) || /\s/.test(token)) {
    throw new UsageError(`${file === undefined ? 'standard input' : file} does not hold a confirmation token (one line starting with \`${TOKEN_PREFIX}\`)`, 'the token is `meta.confirmation.token` of the CONFIRMATION_REQUIRED result');
  }
  return token;
}

function jsonOption(text: string | undefined, flag: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${flag} must be JSON`);
  }
}

/** src/state/vault.ts, imported when BOTC_SECRET_KEY is set. */
type VaultModule = typeof import('../state/vault.ts');

export interface RuntimeValues {
  root?: string | undefined;
  tenant: string;
  credentials?: string | undefined;
  state?: string | undefined;
}

export async function withRuntime(bundlePath: string, values: RuntimeValues, io: Io, work: (runtime: Runtime) => Promise<number>): Promise<number> {
  // Everything that can be the user's mistake is checked before the state store is opened, so
  // a command run from the wrong folder creates nothing there.
  const cwd = io.cwd ?? process.cwd();
  const root = workspaceRoot(values.root, cwd);
  // A config and a bundle whose exact text was checked before are not checked again, so the
  // schema library (zod) does not load (verdicts in the workspace's cache, src/runtime/verdicts.ts).
  const config = await loadWorkspaceConfig(root);
  const bundle = await loadBundle(path.resolve(cwd, bundlePath), root);
  const credentialsFile = values.credentials ?? io.env.BOTC_CREDENTIALS_FILE;
  const fileSource = credentialsFile ? await readCredentialsFile(path.resolve(cwd, credentialsFile)) : undefined;
  const store: StateStore = await storeFor({ ...values, root }, io);
  // Schemas compiled once are taken precompiled from the workspace's cache (no ajv at start-up),
  // for this command only: main() may run again in the same process (tests, embedding).
  usePrecompiledValidators(root);
  let runtime: Runtime;
  try {
    await checkVaultKey(store, io.env, values.tenant);
    // The encrypted credential store's module loads only when its key is set.
    const vault = io.env.BOTC_SECRET_KEY ? await import('../state/vault.ts') : undefined;
    runtime = await Runtime.load(bundle, {
      root,
      store,
      credentials: await credentialSources(fileSource, values.tenant, io, store, config, vault),
      // Provider settings follow this command's environment (BOTC_PROVIDER_*); Runtime.load
      // reads the config's `runtime` settings itself (withWorkspaceConfig).
      providerConfig: providerConfig(config, io.env, Object.keys(bundle.integrations)),
      ...cursorKeyOption(values, io, root, vault),
      bundle_path: path.resolve(cwd, bundlePath),
    });
  } catch (error) {
    usePrecompiledValidators(undefined);
    await store.close();
    throw error;
  }
  try {
    return await work(runtime);
  } finally {
    usePrecompiledValidators(undefined);
    await runtime.close();
  }
}

/**
 * The key that seals pagination cursors, shared by every `botc call`: BOTC_CURSOR_KEY, else
 * one derived from BOTC_SECRET_KEY, else a key file beside the SQLite state file. With
 * PostgreSQL state and neither variable, each process has its own key (set BOTC_CURSOR_KEY).
 */
function cursorKeyOption(values: RuntimeValues, io: Io, root: string, vault: VaultModule | undefined): { cursor_key?: Buffer } {
  try {
    const fromEnv = cursorKeyFromEnv(io.env) ?? (vault ? deriveCursorKey(vault.vaultKeyFromEnv(io.env)) : undefined);
    if (fromEnv) return { cursor_key: fromEnv };
    const location = values.state ?? io.env.BOTC_STATE_URL;
    if (location && /^postgres(ql)?:\/\//.test(location)) return {};
    const file = location ? location.replace(/^sqlite:(\/\/)?/, '') : path.join(root, DEFAULT_STATE_FILE);
    if (file === ':memory:') return {};
    return { cursor_key: cursorKeyFile(path.join(path.dirname(path.resolve(root, file)), 'cursor.key')) };
  } catch (error) {
    if (error instanceof CursorKeyError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * A credentials file first, then the environment, then the encrypted store when a key is set;
 * OAuth credentials in the store are refreshed (docs/oauth-and-automations.md).
 */
async function credentialSources(file: CredentialSource | undefined, tenant: string, io: Io, store: StateStore, config: WorkspaceConfig, vaultModule: VaultModule | undefined): Promise<CredentialSource> {
  const sources: CredentialSource[] = [];
  if (file) sources.push(file);
  sources.push(credentialsFromEnv(io.env, tenant));
  if (vaultModule) {
    const vault = new vaultModule.CredentialVault(store, vaultModule.vaultKeyFromEnv(io.env));
    // The OAuth client (oauth4webapi) loads only when the encrypted store is in use.
    const { oauthClients, RefreshingVault } = await import('../oauth/index.ts');
    sources.push(new RefreshingVault({ store, vault, client: oauthClients(config, io.env) }));
  }
  return chainCredentials(...sources);
}

/**
 * A `--credentials` file, or a usage error that says what is wrong and where. The parser's own
 * message is not shown: it can quote the text around the mistake, which holds secrets.
 */
async function readCredentialsFile(file: string): Promise<CredentialSource> {
  // The JSON parser and the file's schema load only when a credentials file is given.
  const [{ parseJson }, { credentialsFromFile }] = await Promise.all([import('../load/json.ts'), import('../integration/credentials-file.ts')]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`credentials file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const parsed = parseJson(text);
  if (!parsed.ok) throw new UsageError(`credentials file ${file}:${parsed.at.line}:${parsed.at.column} is not valid JSON`, 'the format is {"<tenant>": {"<provider>": {"secret": "...", "scopes": ["..."]}}}');
  try {
    return credentialsFromFile(file);
  } catch (error) {
    throw new UsageError(`${file}: ${(error as Error).message}`, 'the format is {"<tenant>": {"<provider>": {"secret": "...", "scopes": ["..."]}}}');
  }
}
