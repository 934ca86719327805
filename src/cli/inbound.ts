import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import type { WebhookDeclaration } from '../inbound/declarations.ts';
import { webhookHandler } from '../inbound/receiver.ts';
import { readRegistryEntries } from '../inbound/registry.ts';
import { CredentialVault, vaultKeyFromEnv, webhookSecretKey } from '../state/vault.ts';
import type { Io } from './main.ts';
import { parseBind } from './serve.ts';
import { storeFor } from './state.ts';
import { UsageError } from './usage.ts';
import { workspaceRoot } from './workspace.ts';

/** Where `botc serve webhooks` listens without --http. */
const DEFAULT_BIND = '127.0.0.1:8790';

/**
 * `botc serve webhooks [--http HOST:PORT] [--root DIR] [--state URL]`: the webhook receiver of
 * every provider whose registry entry declares webhook events, until SIGINT or SIGTERM.
 * Signing secrets come from the vault (BOTC_SECRET_KEY), stored with
 * `botc credentials add <provider> --webhook-secret`.
 */
export async function runServeWebhooks(argv: string[], io: Io): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { http: { type: 'string' }, root: { type: 'string' }, state: { type: 'string' }, 'max-body': { type: 'string' } }, allowPositionals: false, strict: true }));
  } catch (error) {
    throw new UsageError((error as Error).message, 'botc serve webhooks [--http HOST:PORT] [--root DIR] [--state URL]');
  }
  const root = workspaceRoot(values.root, io.cwd ?? process.cwd());
  const declarations = webhookDeclarations(root);
  if (declarations.size === 0) throw new UsageError('no integration of the workspace declares webhook events', 'add `"webhook"` to a registry entry with mode `webhook` (docs/inbound.md)');
  const key = vaultKeyFromEnv(io.env);
  const bind = parseBind(values.http ?? DEFAULT_BIND);
  const maxBody = values['max-body'] === undefined ? undefined : Number(values['max-body']);
  if (maxBody !== undefined && (!Number.isSafeInteger(maxBody) || maxBody < 1)) throw new UsageError('--max-body takes a number of bytes');
  const store = await storeFor({ ...values, root }, io);
  const vault = new CredentialVault(store, key);
  const handler = webhookHandler({
    store,
    declarations,
    secretFor: async (tenant, provider) => (await vault.get(tenant, webhookSecretKey(provider)))?.secret,
    ...(maxBody !== undefined ? { maxBodyBytes: maxBody } : {}),
  });
  const server = createServer(handler);
  // Slow senders may not hold connections open: a delivery is one small request.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(bind.port, bind.host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : bind.port;
    io.stderr(`botc: receiving webhooks for ${[...declarations.keys()].join(', ')} at http://${bind.host.includes(':') ? `[${bind.host}]` : bind.host}:${port}/webhooks/<tenant>/<provider>\n`);
    await new Promise<void>((resolve) => {
      const done = () => {
        process.off('SIGINT', done);
        process.off('SIGTERM', done);
        resolve();
      };
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  } finally {
    await store.close();
  }
  return 0;
}

/** The webhook declarations of the workspace registry, by provider. */
function webhookDeclarations(root: string): Map<string, WebhookDeclaration> {
  let entries;
  try {
    entries = readRegistryEntries(root);
  } catch (error) {
    throw new UsageError((error as Error).message, 'botc check shows what is wrong with it');
  }
  const out = new Map<string, WebhookDeclaration>();
  for (const entry of entries) if (entry.modes.includes('webhook') && entry.webhook) out.set(entry.provider, entry.webhook as WebhookDeclaration);
  return out;
}
