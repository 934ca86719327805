import path from 'node:path';
import { parseArgs } from 'node:util';
import { providerConfig, readConfig } from '../config.ts';
import { readBundle } from '../runtime/bundle.ts';
import { chainCredentials, credentialsFromEnv, credentialsFromFile, type CredentialSource } from '../runtime/credentials.ts';
import { Runtime } from '../runtime/runtime.ts';
import { CredentialVault, vaultKeyFromEnv } from '../state/vault.ts';
import type { StateStore } from '../state/types.ts';
import type { Io } from './main.ts';
import { storeFor } from './state.ts';
import { UsageError } from './usage.ts';

const RUNTIME_OPTIONS = {
  root: { type: 'string', default: '.' },
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
    throw new UsageError((error as Error).message);
  }
}

/** `botc call <bundle> --expert E --tool T --op OP [--args JSON]`: one tool call, printed as JSON. */
export async function runCall(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, CALL_OPTIONS);
  if (positionals.length !== 1) throw new UsageError('botc call takes one bundle path');
  for (const required of ['expert', 'tool', 'op'] as const) {
    if (!values[required]) throw new UsageError(`botc call needs --${required}`);
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

const CONFIRM_OPTIONS = { ...RUNTIME_OPTIONS, params: { type: 'string' } } as const;

/** `botc confirm <token> <bundle> --approver NAME`: send a previewed outbound write. */
export async function runConfirm(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, CONFIRM_OPTIONS);
  if (positionals.length !== 2) throw new UsageError('botc confirm <token> <bundle> --approver NAME');
  const approver = values.approver ?? io.env.USER;
  if (!approver) throw new UsageError('--approver names the person confirming');
  const params = jsonOption(values.params, '--params') as Record<string, unknown> | undefined;
  return withRuntime(positionals[1]!, values, io, async (runtime) => {
    const result = await runtime.confirm({
      token: positionals[0]!,
      tenant: values.tenant,
      approver,
      ...(params ? { params } : {}),
      ...(values['trace-id'] ? { trace_id: values['trace-id'] } : {}),
    });
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return result.ok ? 0 : 1;
  });
}

function jsonOption(text: string | undefined, flag: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${flag} must be JSON`);
  }
}

export interface RuntimeValues {
  root: string;
  tenant: string;
  credentials?: string | undefined;
  state?: string | undefined;
}

export async function withRuntime(bundlePath: string, values: RuntimeValues, io: Io, work: (runtime: Runtime) => Promise<number>): Promise<number> {
  const root = path.resolve(values.root);
  const config = readConfig(root);
  const bundle = readBundle(path.resolve(bundlePath));
  const store: StateStore = await storeFor(values, io);
  let runtime: Runtime;
  try {
    runtime = await Runtime.load(bundle, {
      root,
      store,
      credentials: credentialSources(values, io, store),
      providerConfig: providerConfig(config, io.env, Object.keys(bundle.integrations)),
      ...(config.runtime?.timeout_ms !== undefined ? { timeout_ms: config.runtime.timeout_ms } : {}),
      ...(config.runtime?.retry_policy !== undefined ? { retry_policy: config.runtime.retry_policy } : {}),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

/** A credentials file first, then the environment, then the encrypted store when a key is set. */
function credentialSources(values: RuntimeValues, io: Io, store: StateStore): CredentialSource {
  const sources: CredentialSource[] = [];
  const file = values.credentials ?? io.env.BOTC_CREDENTIALS_FILE;
  if (file) sources.push(credentialsFromFile(file));
  sources.push(credentialsFromEnv(io.env, values.tenant));
  if (io.env.BOTC_SECRET_KEY) sources.push(new CredentialVault(store, vaultKeyFromEnv(io.env)));
  return chainCredentials(...sources);
}
