import path from 'node:path';
import { parseArgs } from 'node:util';
import { CredentialVault, vaultKeyFromEnv } from '../state/vault.ts';
import { openStore } from '../state/open.ts';
import { decideReview } from '../state/reviews.ts';
import type { StateStore } from '../state/types.ts';
import type { Io } from './main.ts';
import { UsageError } from './usage.ts';

/** Where the state store is: `--state`, else BOTC_STATE_URL, else `<root>/.botc/state.db`. */
export async function storeFor(values: { state?: string | undefined; root?: string | undefined }, io: Io): Promise<StateStore> {
  return openStore(values.state ?? io.env.BOTC_STATE_URL, path.resolve(values.root ?? '.'));
}

/**
 * With BOTC_SECRET_KEY set, proves it opens the tenant's stored credentials before a command uses
 * them, so a wrong key is a usage error (VaultKeyError, exit 2) rather than failed calls.
 */
export async function checkVaultKey(store: StateStore, env: NodeJS.ProcessEnv, tenant: string): Promise<void> {
  if (env.BOTC_SECRET_KEY) await new CredentialVault(store, vaultKeyFromEnv(env)).checkKey(tenant);
}

const COMMON = {
  root: { type: 'string', default: '.' },
  state: { type: 'string' },
  tenant: { type: 'string', default: 'default' },
} as const;

function parse<O extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function withStore<T>(values: { state?: string | undefined; root?: string | undefined }, io: Io, work: (store: StateStore) => Promise<T>): Promise<T> {
  const store = await storeFor(values, io);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

const print = (io: Io, value: unknown) => io.stdout(`${JSON.stringify(value, null, 2)}\n`);

/** `botc review list|approve|reject`. */
export async function runReview(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parse(rest, { status: { type: 'string' }, batch: { type: 'string' }, reviewer: { type: 'string' } });
  if (sub === 'list') {
    const status = values.status as string | undefined;
    if (status !== undefined && !['pending', 'approved', 'rejected'].includes(status)) throw new UsageError('--status is pending, approved or rejected');
    return withStore(values, io, async (store) => {
      const items = await store.listReviews({
        tenant: values.tenant,
        ...(status ? { status: status as 'pending' } : {}),
        ...(values.batch ? { batch_id: values.batch as string } : {}),
      });
      print(io, items.map((i) => ({ ...i, record: JSON.parse(i.record_json) as unknown, record_json: undefined })));
      return 0;
    });
  }
  if (sub === 'approve' || sub === 'reject') {
    if (positionals.length === 0) throw new UsageError(`botc review ${sub} needs one or more review ids`);
    const reviewer = (values.reviewer as string | undefined) ?? io.env.USER;
    if (!reviewer) throw new UsageError('--reviewer names the person deciding');
    return withStore(values, io, async (store) => {
      let missing = 0;
      for (const id of positionals) {
        const item = await decideReview(store, { tenant: values.tenant, id, decision: sub === 'approve' ? 'approved' : 'rejected', reviewer });
        if (!item) {
          missing++;
          io.stderr(`botc: no pending review ${id} for tenant ${values.tenant}\n`);
        } else io.stdout(`${item.status} ${item.id} (${item.provider} ${item.record_key})\n`);
      }
      return missing === 0 ? 0 : 1;
    });
  }
  throw new UsageError('botc review list|approve|reject');
}

/** `botc credentials add|list|revoke`: secrets come from standard input, never from arguments. */
export async function runCredentials(argv: string[], io: Io & { stdin?: () => Promise<string> }): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parse(rest, { scopes: { type: 'string', default: '' }, actor: { type: 'string' } });
  const actor = `user:${(values.actor as string | undefined) ?? io.env.USER ?? 'cli'}`;
  if (sub === 'list') {
    return withStore(values, io, async (store) => {
      print(io, await store.listCredentials(rest.includes('--tenant') ? values.tenant : undefined));
      return 0;
    });
  }
  if (sub === 'add' || sub === 'revoke') {
    const [provider] = positionals;
    if (!provider || positionals.length !== 1) throw new UsageError(`botc credentials ${sub} <provider> --tenant T`);
    const key = vaultKeyFromEnv(io.env);
    if (sub === 'add') {
      if (!io.stdin) throw new UsageError('the secret is read from standard input');
      const secret = (await io.stdin()).replace(/\r?\n$/, '');
      if (!secret) throw new UsageError('no secret on standard input');
      const scopes = (values.scopes as string).split(',').map((s) => s.trim()).filter(Boolean);
      return withStore(values, io, async (store) => {
        const summary = await new CredentialVault(store, key).add(values.tenant, provider, secret, scopes, actor);
        print(io, summary);
        return 0;
      });
    }
    return withStore(values, io, async (store) => {
      const revoked = await new CredentialVault(store, key).revoke(values.tenant, provider, actor);
      io.stdout(revoked ? `revoked ${provider} for ${values.tenant}\n` : `no active ${provider} credential for ${values.tenant}\n`);
      return revoked ? 0 : 1;
    });
  }
  throw new UsageError('botc credentials add|list|revoke');
}

/** `botc audit list|verify`. */
export async function runAudit(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parse(rest, {
    since: { type: 'string' },
    until: { type: 'string' },
    integration: { type: 'string' },
    outcome: { type: 'string' },
    action: { type: 'string' },
    limit: { type: 'string' },
    all: { type: 'boolean', default: false },
  });
  const tenant = values.all || !rest.includes('--tenant') ? undefined : values.tenant;
  if (sub === 'list') {
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError('--limit is a positive whole number');
    for (const bound of ['since', 'until'] as const) {
      if (values[bound] !== undefined && Number.isNaN(Date.parse(values[bound] as string))) throw new UsageError(`--${bound} is an ISO 8601 time`);
    }
    return withStore(values, io, async (store) => {
      const entries = await store.listAudit({
        ...(tenant !== undefined ? { tenant } : {}),
        ...(values.since ? { since: new Date(values.since as string).toISOString() } : {}),
        ...(values.until ? { until: new Date(values.until as string).toISOString() } : {}),
        ...(values.integration ? { integration: values.integration as string } : {}),
        ...(values.outcome ? { outcome: values.outcome as string } : {}),
        ...(values.action ? { action: values.action as string } : {}),
        ...(limit !== undefined ? { limit } : {}),
      });
      for (const e of entries) io.stdout(`${JSON.stringify(e)}\n`);
      return 0;
    });
  }
  if (sub === 'verify') {
    return withStore(values, io, async (store) => {
      const verdict = await store.verifyAudit(tenant);
      if (verdict.ok) {
        io.stdout(`audit log intact: ${verdict.entries} entries across ${verdict.tenants} tenant(s)\n`);
        return 0;
      }
      io.stdout(`audit log broken at tenant ${verdict.tenant} entry ${verdict.seq}: ${verdict.reason}\n`);
      return 1;
    });
  }
  throw new UsageError('botc audit list|verify');
}
