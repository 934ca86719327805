import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { StreamDeclaration, WebhookDeclaration } from '../inbound/declarations.ts';
import { runPgScheduler } from '../inbound/pg-scheduler.ts';
import { runLocalScheduler } from '../inbound/scheduler.ts';
import { openStreamLocks } from '../inbound/stream-lock.ts';
import { runStream, type PageFetcher, type SyncOutcome, type SyncTarget } from '../inbound/sync.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { StateStore } from '../state/types.ts';
import { withRuntime } from './call.ts';
import { webhookHandler } from '../inbound/receiver.ts';
import { readRegistryEntries } from '../inbound/registry.ts';
import { CredentialVault, vaultKeyFromEnv, webhookSecretKey } from '../state/vault.ts';
import type { Io } from './io.ts';
import { untilStopped } from './signals.ts';
import { checkVaultKey, storeFor } from './state.ts';
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
  let handler;
  try {
    handler = webhookHandler({
      store,
      declarations,
      secretFor: async (tenant, provider) => (await vault.get(tenant, webhookSecretKey(provider)))?.secret,
      ...(maxBody !== undefined ? { maxBodyBytes: maxBody } : {}),
    });
  } catch (error) {
    // A payload schema that does not compile: the build reports it at its place.
    await store.close();
    throw new UsageError(`a webhook payload schema does not compile: ${(error as Error).message.split('\n')[0]!.slice(0, 200)}`, 'botc check shows where');
  }
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
    await untilStopped();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  } finally {
    await store.close();
  }
  return 0;
}

/** `HOST:PORT`, `[v6]:PORT` or `PORT` (loopback), as `botc serve mcp --http` takes it. */
function parseBind(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))?:?(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new UsageError(`--http takes HOST:PORT (for example 127.0.0.1:8790), not \`${text.slice(0, 60)}\``);
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
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

const SYNC_OPTIONS = {
  once: { type: 'boolean', default: false },
  tenant: { type: 'string', multiple: true },
  provider: { type: 'string' },
  root: { type: 'string' },
  state: { type: 'string' },
  credentials: { type: 'string' },
  bundles: { type: 'string' },
} as const;

/**
 * `botc sync run [--once] [--tenant T]... [--provider P] [--bundles DIR] [--root DIR] [--state URL]`:
 * runs the due sync streams (registry `streams`) of each tenant (`--tenant` repeats; default
 * `default`) through the built bundles that carry their methods (DIR, default `<root>/dist`),
 * one JSON line per run on stdout. `--once` runs what is due and exits (1 when a run failed);
 * otherwise it is a worker until SIGINT or SIGTERM. Any number of these may run on one store
 * (src/inbound/sync.ts). Credentials from BOTC_CREDENTIAL_<PROVIDER> variables serve the first tenant only;
 * the vault serves every tenant.
 */
export async function runSync(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'run') throw new UsageError(sub === undefined ? 'botc sync needs a subcommand' : `unknown subcommand \`sync ${sub.slice(0, 64)}\``, 'botc sync run [--once] [--tenant T] [--provider P]');
  let values;
  try {
    ({ values } = parseArgs({ args: rest, options: SYNC_OPTIONS, allowPositionals: false, strict: true }));
  } catch (error) {
    throw new UsageError((error as Error).message, 'botc sync run [--once] [--tenant T] [--provider P] [--bundles DIR] [--root DIR] [--state URL]');
  }
  const cwd = io.cwd ?? process.cwd();
  const root = workspaceRoot(values.root, cwd);
  let entries;
  try {
    entries = readRegistryEntries(root);
  } catch (error) {
    throw new UsageError((error as Error).message, 'botc check shows what is wrong with it');
  }
  const streams = entries.filter((e) => e.modes.includes('polling_sync') && (values.provider === undefined || e.provider === values.provider))
    .flatMap((e) => (e.streams ?? []).map((stream) => ({ provider: e.provider, stream: stream as StreamDeclaration })));
  if (streams.length === 0) {
    throw new UsageError(values.provider === undefined ? 'no integration of the workspace declares sync streams' : `provider \`${values.provider.slice(0, 64)}\` declares no sync streams`, 'add `"streams"` to a registry entry with mode `polling_sync` (docs/inbound.md)');
  }
  // Each stream runs through the first built bundle that carries its method.
  const folder = path.resolve(cwd, values.bundles ?? path.join(root, 'dist'));
  const bundles = bundleFiles(folder);
  const byBundle = new Map<string, { provider: string; stream: StreamDeclaration }[]>();
  for (const item of streams) {
    const file = bundles.find((b) => b.methods.has(item.stream.method_id));
    if (!file) throw new UsageError(`no bundle in ${folder} carries method \`${item.stream.method_id}\` of stream \`${item.stream.name}\``, 'run `botc build` (a bot must install a tool with the method), or pass --bundles DIR');
    byBundle.set(file.path, [...(byBundle.get(file.path) ?? []), item]);
  }
  const tenants = values.tenant ?? ['default'];
  const store = await storeFor({ ...values, root }, io);
  try {
    // A wrong BOTC_SECRET_KEY is a usage error up front, not a failed run per tenant and interval.
    for (const tenant of tenants) await checkVaultKey(store, io.env, tenant);
    const runtimes: BundleStreams = [];
    const open = async (index: number): Promise<number> => {
      const paths = [...byBundle.keys()];
      if (index < paths.length) {
        return withRuntime(paths[index]!, { ...values, tenant: tenants[0]!, root }, io, async (runtime) => {
          runtimes.push({ runtime, streams: byBundle.get(paths[index]!)! });
          return open(index + 1);
        });
      }
      return loop(runtimes, store, tenants, values.once, values.state ?? io.env.BOTC_STATE_URL, io);
    };
    return await open(0);
  } finally {
    await store.close();
  }
}

type BundleStreams = { runtime: Runtime; streams: { provider: string; stream: StreamDeclaration }[] }[];

/**
 * Runs the tenants' streams: `--once` each stream once, in order; otherwise a long-running
 * worker until SIGINT or SIGTERM, on the PostgreSQL job queue when the store is PostgreSQL
 * (workers on several machines share the schedule) and the in-process scheduler on SQLite.
 */
async function loop(runtimes: BundleStreams, store: StateStore, tenants: string[], once: boolean, location: string | undefined, io: Io): Promise<number> {
  const runtimeOf = new Map<string, Runtime>();
  const targets: SyncTarget[] = [];
  for (const tenant of tenants) {
    for (const { runtime, streams } of runtimes) {
      for (const { provider, stream } of streams) {
        runtimeOf.set(stream.method_id, runtime);
        targets.push({ tenant, provider, stream });
      }
    }
  }
  const fetchPage: PageFetcher = (t, cursor, traceId) =>
    runtimeOf.get(t.stream.method_id)!.syncPage({ tenant: t.tenant, method_id: t.stream.method_id, params: t.stream.params ?? {}, trace_id: traceId, ...(cursor !== null ? { cursor } : {}) });
  const line = (t: SyncTarget, outcome: SyncOutcome) => io.stdout(`${JSON.stringify({ tenant: t.tenant, provider: t.provider, stream: t.stream.name, ...outcome })}\n`);
  const shared = location !== undefined && /^postgres(ql)?:\/\//.test(location);
  if (once) {
    // On PostgreSQL a cron run keeps off a stream a worker is running, as the workers do.
    const locks = shared ? await openStreamLocks(location) : undefined;
    try {
      let failed = false;
      for (const target of targets) {
        const outcome = locks ? ((await locks.exclusive(target, () => runStream(store, target, fetchPage))) ?? { status: 'busy' as const }) : await runStream(store, target, fetchPage);
        if (outcome.status === 'failed') failed = true;
        line(target, outcome);
      }
      return failed ? 1 : 0;
    } finally {
      await locks?.close();
    }
  }
  const controller = new AbortController();
  void untilStopped().then(() => controller.abort());
  const options = {
    store,
    targets,
    fetchPage,
    signal: controller.signal,
    // A worker reports what it did, not the streams other workers ran.
    onOutcome: (t: SyncTarget, outcome: SyncOutcome) => void (outcome.status === 'ok' || outcome.status === 'failed' ? line(t, outcome) : undefined),
    onError: (error: Error, t?: SyncTarget) => io.stderr(`botc: sync${t ? ` of ${t.tenant}/${t.provider}/${t.stream.name}` : ''}: ${error.message.slice(0, 300)}\n`),
  };
  io.stderr(`botc: sync worker for ${targets.length} stream(s) of ${tenants.join(', ')} (${shared ? 'shared PostgreSQL job queue' : 'in-process scheduler'}); stop with SIGINT or SIGTERM\n`);
  if (shared) await runPgScheduler({ ...options, connectionString: location });
  else await runLocalScheduler(options);
  return 0;
}

/** The bundles of a folder (`*.bundle.json`) with the methods each carries; unreadable files are skipped. */
function bundleFiles(folder: string): { path: string; methods: Set<string> }[] {
  let names: string[];
  try {
    names = readdirSync(folder).filter((n) => n.endsWith('.bundle.json')).sort();
  } catch {
    throw new UsageError(`the bundle folder ${folder} cannot be read`, 'run `botc build` first, or pass --bundles DIR');
  }
  const out: { path: string; methods: Set<string> }[] = [];
  for (const name of names) {
    const file = path.join(folder, name);
    try {
      const bundle = JSON.parse(readFileSync(file, 'utf8')) as { methods?: Record<string, unknown> };
      out.push({ path: file, methods: new Set(Object.keys(bundle.methods ?? {})) });
    } catch {
      // Not a bundle; the runtime refuses it anyway if it is ever chosen.
    }
  }
  return out;
}
