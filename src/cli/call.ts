import { parseArgs } from 'node:util';
import path from 'node:path';
import { providerConfig, readConfig } from '../config.ts';
import { chainCredentials, credentialsFromEnv, credentialsFromFile, type CredentialSource } from '../runtime/credentials.ts';
import { readBundle } from '../runtime/bundle.ts';
import { Runtime } from '../runtime/runtime.ts';
import type { Io } from './main.ts';
import { UsageError } from './usage.ts';

const CALL_OPTIONS = {
  expert: { type: 'string' },
  tool: { type: 'string' },
  op: { type: 'string' },
  args: { type: 'string' },
  root: { type: 'string', default: '.' },
  tenant: { type: 'string', default: 'default' },
  credentials: { type: 'string' },
  'trace-id': { type: 'string' },
} as const;

/** `botc call <bundle> --expert E --tool T --op OP [--args JSON]`: one tool call, printed as JSON. */
export async function runCall(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: CALL_OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError('botc call takes one bundle path');
  for (const required of ['expert', 'tool', 'op'] as const) {
    if (!values[required]) throw new UsageError(`botc call needs --${required}`);
  }
  let args: unknown;
  if (values.args !== undefined) {
    try {
      args = JSON.parse(values.args);
    } catch {
      throw new UsageError('--args must be JSON');
    }
  }
  const root = path.resolve(values.root);
  const config = readConfig(root);
  const sources: CredentialSource[] = [];
  const credentialsFile = values.credentials ?? io.env.BOTC_CREDENTIALS_FILE;
  if (credentialsFile) sources.push(credentialsFromFile(credentialsFile));
  sources.push(credentialsFromEnv(io.env, values.tenant));

  const bundle = readBundle(path.resolve(positionals[0]!));
  const runtime = await Runtime.load(bundle, {
    root,
    credentials: chainCredentials(...sources),
    providerConfig: providerConfig(config, io.env, Object.keys(bundle.integrations)),
    ...(config.runtime?.timeout_ms !== undefined ? { timeout_ms: config.runtime.timeout_ms } : {}),
    ...(config.runtime?.retry_policy !== undefined ? { retry_policy: config.runtime.retry_policy } : {}),
  });
  try {
    const result = await runtime.callTool({
      expert: values.expert!,
      tool: values.tool!,
      op: values.op!,
      args,
      tenant: values.tenant,
      ...(values['trace-id'] ? { trace_id: values['trace-id'] } : {}),
    });
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return result.ok ? 0 : 1;
  } finally {
    await runtime.close();
  }
}
