// Over 300 lines: the review, credentials and audit commands share the store plumbing at the top of this file.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { didYouMean } from '../diagnostics/hints.ts';
import { ERROR_CODES } from '../integration/types.ts';
import { AuditCheckpointError, openCheckpoint, signCheckpoint, signingKeyFromEnv, verifyKeyFromEnv } from '../state/audit-checkpoint.ts';
import { CredentialVault, vaultKeyFromEnv, webhookSecretKey } from '../state/vault.ts';
import { decideReview } from '../state/reviews.ts';
import type { AuditAnchor, ReviewItem, ReviewStatus, StateStore } from '../state/types.ts';
import type { Io } from './io.ts';
import { storeFor } from './store.ts';
import { UsageError } from './usage.ts';
import { workspaceRoot } from './workspace.ts';

// Opening the store and checking the vault key live in store.ts, which `botc call` imports
// without the review, credentials and audit commands of this file.
export { checkVaultKey, storeFor } from './store.ts';

/**
 * The options every state command takes. `--tenant` has no default here: one rule for every
 * command decides what its absence means (see `tenantToChange` and `tenantsToRead`).
 */
const COMMON = {
  root: { type: 'string' },
  state: { type: 'string' },
  tenant: { type: 'string' },
} as const;

const LIST = { format: { type: 'string', default: 'json' } } as const;

function parse<O extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, `botc help ${command} lists the options`);
  }
}

/** A command that changes state acts on one tenant: `--tenant`, else `default`. */
const tenantToChange = (values: { tenant?: string | undefined }): string => values.tenant ?? 'default';
/** A command that reads (list, verify) shows every tenant unless `--tenant` names one. */
const tenantsToRead = (values: { tenant?: string | undefined }): string | undefined => values.tenant;

async function withStore<T>(values: { state?: string | undefined; root?: string | undefined }, io: Io, work: (store: StateStore) => Promise<T>): Promise<T> {
  const store = await storeFor(values, io);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/**
 * One value of a closed set, in any case: `--outcome ok`, `--outcome AUTH_FORBIDDEN` and
 * `--outcome auth_forbidden` are the same. An unknown value is refused with the nearest one.
 */
export function enumOption<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  const found = allowed.find((a) => a.toLowerCase() === value.trim().toLowerCase());
  if (found !== undefined) return found;
  const near = didYouMean(value.toLowerCase(), allowed.map((a) => a.toLowerCase()));
  throw new UsageError(`--${flag} \`${value.slice(0, 64)}\` is not one of ${allowed.join(', ')}${near ? `: ${near}` : ''}`);
}

type ListFormat = 'json' | 'ndjson';

/**
 * Every list prints one JSON array (`--format json`, the default), or one JSON object per line
 * (`--format ndjson`) for logs too long to hold in memory at once.
 */
export function printList(io: Io, format: ListFormat, items: readonly unknown[]): void {
  if (format === 'ndjson') for (const item of items) io.stdout(`${JSON.stringify(item)}\n`);
  else io.stdout(`${JSON.stringify(items, null, 2)}\n`);
}

export const listFormat = (value: string): ListFormat => enumOption('format', value, ['json', 'ndjson'] as const)!;

/** Milliseconds since the epoch as ISO 8601 (UTC), as every time botc prints. */
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function reviewView(item: ReviewItem) {
  const { record_json, created_at, decided_at, ...rest } = item;
  return { ...rest, record: JSON.parse(record_json) as unknown, created_at: iso(created_at), decided_at: iso(decided_at) };
}

const REVIEW_STATUSES: readonly ReviewStatus[] = ['pending', 'approved', 'rejected'];

/** `botc review list|approve|reject`. */
export async function runReview(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') {
    const { values, positionals } = parse('review', rest, { ...LIST, status: { type: 'string' }, batch: { type: 'string' } });
    if (positionals.length > 0) throw new UsageError('botc review list takes no ids', 'filter with --status or --batch');
    const format = listFormat(values.format);
    const status = enumOption('status', values.status, REVIEW_STATUSES);
    const tenant = tenantsToRead(values);
    return withStore(values, io, async (store) => {
      const items = await store.listReviews({
        ...(tenant !== undefined ? { tenant } : {}),
        ...(status ? { status } : {}),
        ...(values.batch ? { batch_id: values.batch } : {}),
      });
      printList(io, format, items.map(reviewView));
      return 0;
    });
  }
  if (sub === 'approve' || sub === 'reject') {
    const { values, positionals } = parse('review', rest, { reviewer: { type: 'string' } });
    if (positionals.length === 0) throw new UsageError(`botc review ${sub} needs one or more record ids (rev_...) or batch ids (batch_...)`);
    const reviewer = values.reviewer ?? io.env.USER;
    if (!reviewer) throw new UsageError('--reviewer names the person deciding');
    const tenant = tenantToChange(values);
    const decision = sub === 'approve' ? 'approved' : 'rejected';
    return withStore(values, io, async (store) => {
      let missing = 0;
      for (const id of positionals) {
        // A batch id decides every record of the batch that is still pending.
        const ids = id.startsWith('batch_')
          ? (await store.listReviews({ tenant, batch_id: id, status: 'pending' })).sort((a, b) => (a.record_key < b.record_key ? -1 : a.record_key > b.record_key ? 1 : 0)).map((i) => i.id)
          : [id];
        if (ids.length === 0) {
          missing++;
          io.stderr(`botc review ${sub}: no pending record in batch ${id} for tenant ${tenant}\n`);
        }
        for (const one of ids) {
          const item = await decideReview(store, { tenant, id: one, decision, reviewer });
          if (!item) {
            missing++;
            io.stderr(`botc review ${sub}: no pending review ${one} for tenant ${tenant}\n`);
          } else io.stdout(`${item.status} ${item.id} (${item.provider} ${item.record_key})\n`);
        }
      }
      return missing === 0 ? 0 : 1;
    });
  }
  throw new UsageError(sub === undefined ? 'botc review needs a subcommand' : `unknown subcommand \`review ${sub.slice(0, 64)}\``, 'botc review list|approve|reject');
}

/** `botc credentials add|list|revoke`: secrets come from standard input, never from arguments. */
export async function runCredentials(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parse('credentials', rest, { ...LIST, scopes: { type: 'string' }, actor: { type: 'string' }, 'webhook-secret': { type: 'boolean', default: false } });
  const actor = `user:${values.actor ?? io.env.USER ?? 'cli'}`;
  if (sub === 'list') {
    if (positionals.length > 0) throw new UsageError('botc credentials list takes no provider', 'filter with --tenant');
    const format = listFormat(values.format);
    return withStore(values, io, async (store) => {
      const rows = await store.listCredentials(tenantsToRead(values));
      printList(io, format, rows.map((r) => ({ ...r, created_at: iso(r.created_at), revoked_at: iso(r.revoked_at) })));
      return 0;
    });
  }
  if (sub === 'add' || sub === 'revoke') {
    const [provider] = positionals;
    if (!provider || positionals.length !== 1) throw new UsageError(`botc credentials ${sub} takes one provider`, `botc credentials ${sub} <provider> --tenant T`);
    const tenant = tenantToChange(values);
    const key = vaultKeyFromEnv(io.env);
    // A webhook signing secret is kept under its own vault key, apart from API credentials.
    const webhook = values['webhook-secret'] === true;
    if (webhook && values.scopes !== undefined) throw new UsageError('--webhook-secret takes no --scopes: a signing secret grants no API access');
    const stored = webhook ? webhookSecretKey(provider) : provider;
    if (sub === 'add') {
      if (values.scopes === undefined && !webhook) {
        throw new UsageError('botc credentials add needs --scopes: the scopes the secret was granted', "--scopes repo:read,issues:read (or --scopes '' for a secret with none)");
      }
      const scopes = [...new Set((values.scopes ?? '').split(',').map((s) => s.trim()).filter(Boolean))];
      const root = workspaceRoot(values.root, io.cwd ?? process.cwd());
      const providers = registeredProviders(root);
      if (!providers.includes(provider)) {
        const near = didYouMean(provider, providers);
        throw new UsageError(`provider \`${provider.slice(0, 64)}\` is not in the workspace registry (integrations/manifest.json)${near ? `: ${near}` : ''}`, `the providers are ${providers.join(', ') || 'none'}`);
      }
      if (!io.stdin) throw new UsageError('the secret is read from standard input');
      const secret = (await io.stdin()).replace(/\r?\n$/, '');
      if (!secret) throw new UsageError('no secret on standard input', `printf '%s' "$SECRET" | botc credentials add ${provider} --scopes ...`);
      return withStore({ ...values, root }, io, async (store) => {
        const summary = await new CredentialVault(store, key).add(tenant, stored, secret, scopes, actor);
        print(io, { ...summary, created_at: iso(summary.created_at), revoked_at: iso(summary.revoked_at) });
        return 0;
      });
    }
    return withStore(values, io, async (store) => {
      const revoked = await new CredentialVault(store, key).revoke(tenant, stored, actor);
      const what = webhook ? `${provider} webhook secret` : provider;
      io.stdout(revoked ? `revoked ${what} for ${tenant}\n` : `no active ${what} credential for ${tenant}\n`);
      return revoked ? 0 : 1;
    });
  }
  throw new UsageError(sub === undefined ? 'botc credentials needs a subcommand' : `unknown subcommand \`credentials ${sub.slice(0, 64)}\``, 'botc credentials add|list|revoke');
}

const print = (io: Io, value: unknown) => io.stdout(`${JSON.stringify(value, null, 2)}\n`);

/** The providers of the workspace registry, integrations/manifest.json. */
function registeredProviders(root: string): string[] {
  const file = path.join(root, 'integrations', 'manifest.json');
  let registry: unknown;
  try {
    registry = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = error instanceof SyntaxError ? 'is not valid JSON' : `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
    throw new UsageError(`the workspace registry integrations/manifest.json ${reason}`, 'botc check shows what is wrong with it');
  }
  const entries = (registry as { integrations?: unknown } | null)?.integrations;
  if (!Array.isArray(entries)) throw new UsageError('the workspace registry integrations/manifest.json has no `integrations` list', 'botc check shows what is wrong with it');
  return entries.map((e) => (e as { provider?: unknown } | null)?.provider).filter((p): p is string => typeof p === 'string').sort();
}

/** Outcomes of audit entries: `ok`, `pending` (a confirmation or an import waits), or an error code. */
const OUTCOMES = ['ok', 'pending', ...ERROR_CODES] as const;

/** `botc audit list|verify|checkpoint`. */
export async function runAudit(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parse('audit', rest, {
    ...LIST,
    checkpoint: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    integration: { type: 'string' },
    outcome: { type: 'string' },
    action: { type: 'string' },
    limit: { type: 'string' },
    all: { type: 'boolean', default: false },
  });
  const tenant = values.all ? undefined : tenantsToRead(values);
  if (sub === 'list') {
    if (values.checkpoint !== undefined) throw new UsageError('--checkpoint belongs to `botc audit verify`');
    const format = listFormat(values.format);
    const outcome = enumOption('outcome', values.outcome, OUTCOMES);
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError('--limit is a positive whole number');
    for (const bound of ['since', 'until'] as const) {
      if (values[bound] !== undefined && Number.isNaN(Date.parse(values[bound]))) throw new UsageError(`--${bound} is an ISO 8601 time`, `for example --${bound} 2026-11-01 or 2026-11-01T09:30:00Z`);
    }
    return withStore(values, io, async (store) => {
      const entries = await store.listAudit({
        ...(tenant !== undefined ? { tenant } : {}),
        ...(values.since ? { since: new Date(values.since).toISOString() } : {}),
        ...(values.until ? { until: new Date(values.until).toISOString() } : {}),
        ...(values.integration ? { integration: values.integration.toLowerCase() } : {}),
        ...(outcome ? { outcome } : {}),
        ...(values.action ? { action: values.action.toLowerCase() } : {}),
        ...(limit !== undefined ? { limit } : {}),
      });
      printList(io, format, entries);
      return 0;
    });
  }
  if (sub === 'verify') return verifyAudit(values, tenant, io);
  if (sub === 'checkpoint') return checkpointAudit(values, tenant, io);
  throw new UsageError(sub === undefined ? 'botc audit needs a subcommand' : `unknown subcommand \`audit ${sub.slice(0, 64)}\``, 'botc audit list|verify|checkpoint');
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
