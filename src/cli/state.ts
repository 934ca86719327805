import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AuditCheckpointError, openCheckpoint, signCheckpoint, signingKeyFromEnv, verifyKeyFromEnv } from '../state/audit-checkpoint.ts';
import { CredentialVault, vaultKeyFromEnv } from '../state/vault.ts';
import { openStore } from '../state/open.ts';
import { decideReview } from '../state/reviews.ts';
import type { AuditAnchor, StateStore } from '../state/types.ts';
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

/** `botc audit list|verify|checkpoint`. */
export async function runAudit(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parse(rest, {
    checkpoint: { type: 'string' },
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
    if (values.checkpoint !== undefined) throw new UsageError('--checkpoint belongs to `botc audit verify`');
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
  if (sub === 'verify') return verifyAudit(values, tenant, io);
  if (sub === 'checkpoint') return checkpointAudit(values, tenant, io);
  throw new UsageError('botc audit list|verify|checkpoint');
}

type AuditValues = { state?: string | undefined; root?: string | undefined; checkpoint?: string | boolean | undefined };

/** The largest checkpoint file read: a head is about 150 bytes, so room for 100,000 tenants. */
const MAX_CHECKPOINT_BYTES = 16 * 1024 * 1024;

/**
 * `botc audit verify [--tenant T] [--checkpoint FILE]`: exit 0 intact, 1 broken (the first bad
 * entry is named) or a checkpoint that does not verify, 2 a missing key or a file that is no checkpoint.
 */
async function verifyAudit(values: AuditValues, tenant: string | undefined, io: Io): Promise<number> {
  let anchors: AuditAnchor[] = [];
  if (typeof values.checkpoint === 'string') {
    const opened = checkpointErrorsAsUsage(() => openCheckpoint(readCheckpointFile(values.checkpoint as string), verifyKeyFromEnv(io.env)));
    if (!opened.ok) {
      io.stdout(`audit checkpoint rejected: ${opened.reason}\n`);
      return 1;
    }
    anchors = opened.checkpoint.heads;
    if (tenant !== undefined && !anchors.some((a) => a.tenant === tenant)) throw new UsageError(`the checkpoint records no entry of tenant ${tenant}`);
  }
  return withStore(values, io, async (store) => {
    const verdict = await store.verifyAudit(tenant, anchors);
    if (!verdict.ok) {
      io.stdout(`audit log broken at tenant ${verdict.tenant} entry ${verdict.seq}: ${verdict.reason}\n`);
      return 1;
    }
    const extends_ = anchors.length > 0 ? `; it extends the checkpoint (${anchors.length} tenant head(s))` : '';
    if (verdict.entries === 0 && anchors.length === 0) {
      io.stdout('audit log empty: 0 entries (an emptied log looks the same; verify against a checkpoint with --checkpoint FILE)\n');
    } else io.stdout(`audit log intact: ${verdict.entries} entries across ${verdict.tenants} tenant(s)${extends_}\n`);
    return 0;
  });
}

/**
 * `botc audit checkpoint [--tenant T]`: verifies the log, then prints a checkpoint of each
 * tenant's last entry, signed with BOTC_AUDIT_SIGNING_KEY, to keep outside the database.
 */
async function checkpointAudit(values: AuditValues, tenant: string | undefined, io: Io): Promise<number> {
  if (values.checkpoint !== undefined) throw new UsageError('--checkpoint belongs to `botc audit verify`');
  const key = checkpointErrorsAsUsage(() => signingKeyFromEnv(io.env));
  return withStore(values, io, async (store) => {
    const { verdict, heads } = await store.checkAudit(tenant);
    if (!verdict.ok) {
      io.stdout(`audit log broken at tenant ${verdict.tenant} entry ${verdict.seq}: ${verdict.reason}\n`);
      io.stderr('botc: no checkpoint of a broken log\n');
      return 1;
    }
    if (heads.length === 0) {
      io.stderr(`botc: ${tenant === undefined ? 'the audit log has' : `tenant ${tenant} has`} no entries to checkpoint\n`);
      return 1;
    }
    io.stdout(`${JSON.stringify(signCheckpoint(heads, key), null, 2)}\n`);
    return 0;
  });
}

function readCheckpointFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new UsageError(`cannot read the checkpoint file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  try {
    if (fstatSync(fd).size > MAX_CHECKPOINT_BYTES) throw new UsageError(`the checkpoint file ${file} is larger than ${MAX_CHECKPOINT_BYTES} bytes`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function checkpointErrorsAsUsage<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof AuditCheckpointError) throw new UsageError(error.message);
    throw error;
  }
}
