// Over 300 lines: one class implements the whole StateStore over SQL, so both drivers share every statement.
import { randomUUID } from 'node:crypto';
import { auditHash, auditRow, GENESIS_HASH, headRebuiltEntry, toEntry, verifyAuditLog, type AuditRow } from './audit-chain.ts';
import { confirmationExecutedEvent, reviewApprovedEvent, type AutomationClaim, type EventFilter, type EventInput, type StoredEvent } from './events.ts';
import { chainJson, insertEvent, SqlAutomationState } from './sql-events.ts';
import { ANY_APPROVER, confirmationStatus, type ConfirmationStatus, type StoredConfirmation } from './types.ts';
import type {
  AuditAnchor, AuditEntry, AuditFilter, AuditInput, AuditLogCheck, AuditVerification, Confirmation, ConfirmationUse, CredentialSummary,
  IdempotencyClaim, IdempotencyRecord, IdempotencyState, ReviewItem, ReviewStatus, StateStore, StoredCredential,
} from './types.ts';

/** One connection or transaction. SQL uses `?` placeholders; drivers translate. */
export interface SqlConnection {
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
  run(sql: string, params?: unknown[]): Promise<number>;
}

/** A connection whose statements answer synchronously (an embedded database). */
export interface SqlSyncConnection {
  all<T>(sql: string, params?: unknown[]): T[];
  run(sql: string, params?: unknown[]): number;
}

export interface SqlDriver extends SqlConnection {
  readonly kind: 'sqlite' | 'postgres';
  /** Runs `fn` in one transaction that holds the write lock it needs. */
  transaction<T>(fn: (tx: SqlConnection) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` in one transaction now, synchronously, when nothing of this database is queued
   * ahead of it in this process (so it overtakes no queued write); returns undefined, having
   * run nothing, when something is. Throws what `fn` or the database throws, after rolling
   * back. Absent when the driver has no synchronous path (PostgreSQL).
   */
  transactionSync?: (<T extends object>(fn: (tx: SqlSyncConnection) => T) => T | undefined) | undefined;
  /** Appended to the SELECT of a tenant's chain head to lock the row (PostgreSQL). */
  readonly lockSuffix: string;
  close(): Promise<void>;
}

const TABLES = [
  `CREATE TABLE IF NOT EXISTS botc_idempotency (tenant TEXT NOT NULL, method_id TEXT NOT NULL, idem_key TEXT NOT NULL,
     args_sha256 TEXT NOT NULL, result_json TEXT NOT NULL, PRIMARY KEY (tenant, method_id, idem_key))`,
  `CREATE TABLE IF NOT EXISTS botc_audit (tenant TEXT NOT NULL, seq BIGINT NOT NULL, at TEXT NOT NULL, action TEXT NOT NULL,
     actor TEXT NOT NULL, integration TEXT, method_id TEXT, outcome TEXT NOT NULL, trace_id TEXT, detail_json TEXT NOT NULL,
     prev_hash TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (tenant, seq))`,
  `CREATE INDEX IF NOT EXISTS botc_audit_at ON botc_audit (at)`,
  `CREATE TABLE IF NOT EXISTS botc_audit_head (tenant TEXT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS botc_confirmation (token_sha256 TEXT PRIMARY KEY, tenant TEXT NOT NULL, approver TEXT NOT NULL,
     expires_at BIGINT NOT NULL, preview_sha256 TEXT NOT NULL, expert TEXT NOT NULL, tool TEXT NOT NULL, method_id TEXT NOT NULL,
     call_json TEXT NOT NULL, created_at BIGINT NOT NULL, used_at BIGINT)`,
  `CREATE TABLE IF NOT EXISTS botc_review (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, provider TEXT NOT NULL, method_id TEXT NOT NULL,
     record_key TEXT NOT NULL, record_json TEXT NOT NULL, record_sha256 TEXT NOT NULL, status TEXT NOT NULL, batch_id TEXT NOT NULL,
     created_at BIGINT NOT NULL, decided_by TEXT, decided_at BIGINT, UNIQUE (tenant, provider, record_key))`,
  `CREATE TABLE IF NOT EXISTS botc_cursor (tenant TEXT NOT NULL, stream TEXT NOT NULL, value TEXT, PRIMARY KEY (tenant, stream))`,
  `CREATE TABLE IF NOT EXISTS botc_credential (id TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL, provider TEXT NOT NULL,
     ciphertext TEXT NOT NULL, iv TEXT NOT NULL, tag TEXT NOT NULL, scopes_json TEXT NOT NULL, created_at BIGINT NOT NULL,
     revoked_at BIGINT, PRIMARY KEY (tenant, provider))`,
  // One row per credential being refreshed: the single refresh in flight (docs/oauth-and-automations.md).
  `CREATE TABLE IF NOT EXISTS botc_refresh_lock (tenant TEXT NOT NULL, provider TEXT NOT NULL, holder TEXT NOT NULL,
     expires_at BIGINT NOT NULL, PRIMARY KEY (tenant, provider))`,
  // Internal events, append-only, numbered in commit order through the one-row counter
  // botc_event_head (docs/oauth-and-automations.md); automations' claims and checkpoints.
  `CREATE TABLE IF NOT EXISTS botc_event (seq BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL, type TEXT NOT NULL,
     subject TEXT NOT NULL, payload_json TEXT NOT NULL, caused_by_json TEXT, created_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS botc_event_head (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS botc_automation_claim (automation TEXT NOT NULL, event_id TEXT NOT NULL, tenant TEXT NOT NULL,
     claimed_at BIGINT NOT NULL, outcome TEXT NOT NULL, confirmation_id TEXT, PRIMARY KEY (automation, event_id))`,
  `CREATE TABLE IF NOT EXISTS botc_automation_checkpoint (automation TEXT PRIMARY KEY, seq BIGINT NOT NULL)`,
];

/** The tables every SQL store shares; drivers add their append-only guards for the audit log. */
export const SCHEMA: readonly string[] = TABLES;

/**
 * Columns added to the tables of SCHEMA since their first release. A store opening a database
 * adds each one that is missing (in the same locked set-up step as SCHEMA), so a state file or
 * schema made by an older botc is upgraded in place; rows that predate a column get its
 * default. See docs/security.md, "Confirmations, idempotency and the audit log".
 */
export const ADDED_COLUMNS: readonly { table: string; column: string; definition: string }[] = [
  // A key is claimed (`in_flight`) before its call runs, then completed (`done`) with the result.
  { table: 'botc_idempotency', column: 'state', definition: "TEXT NOT NULL DEFAULT 'done'" },
  { table: 'botc_idempotency', column: 'claimed_at', definition: 'BIGINT' },
  { table: 'botc_idempotency', column: 'claim_id', definition: 'TEXT' },
  // A confirmation's public id and the bundle that proposed it.
  { table: 'botc_confirmation', column: 'id', definition: 'TEXT' },
  { table: 'botc_confirmation', column: 'bot', definition: 'TEXT' },
  { table: 'botc_confirmation', column: 'bundle_digest', definition: 'TEXT' },
  { table: 'botc_confirmation', column: 'bundle_path', definition: 'TEXT' },
  // A person's decision: `executed` or `rejected` (NULL on rows that predate it: derived from used_at).
  { table: 'botc_confirmation', column: 'status', definition: 'TEXT' },
  { table: 'botc_confirmation', column: 'decided_by', definition: 'TEXT' },
  { table: 'botc_confirmation', column: 'reason', definition: 'TEXT' },
  // The preview shown to the person, so `botc confirm list` can show it again.
  { table: 'botc_confirmation', column: 'preview_json', definition: 'TEXT' },
  // OAuth credentials: the ciphertext holds access and refresh token; when the access token expires.
  { table: 'botc_credential', column: 'oauth', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'botc_credential', column: 'expires_at', definition: 'BIGINT' },
  // The automations that proposed a confirmation (JSON array), so its execution does not trigger them again.
  { table: 'botc_confirmation', column: 'automation_chain', definition: 'TEXT' },
];

/** Indexes over ADDED_COLUMNS, created once those exist. */
export const ADDED_INDEXES: readonly string[] = [
  'CREATE UNIQUE INDEX IF NOT EXISTS botc_confirmation_by_id ON botc_confirmation (id)',
];

export { auditHash, auditRow, GENESIS_HASH, toEntry, type AuditRow } from './audit-chain.ts';

/** A StateStore over any SQL driver; SQLite and PostgreSQL differ only in their drivers. */
export class SqlStore implements StateStore {
  readonly kind: 'sqlite' | 'postgres';

  /** Set when the driver runs transactions synchronously (SQLite); undefined for PostgreSQL. */
  readonly appendAuditSync: ((entry: AuditInput) => { seq: number; hash: string } | undefined) | undefined;

  private readonly automations: SqlAutomationState;

  constructor(private readonly db: SqlDriver) {
    this.kind = db.kind;
    this.automations = new SqlAutomationState(db);
    const transactionSync = db.transactionSync?.bind(db);
    this.appendAuditSync = transactionSync === undefined
      ? undefined
      : (entry) => transactionSync((tx) => runStepsSync(auditAppendSteps(entry, db.lockSuffix), tx));
  }

  async getIdempotency(tenant: string, methodId: string, key: string): Promise<IdempotencyRecord | undefined> {
    const stored = await this.readIdempotency(tenant, methodId, key);
    return stored?.state === 'done' ? { args_sha256: stored.args_sha256, result: stored.result } : undefined;
  }

  async readIdempotency(tenant: string, methodId: string, key: string): Promise<IdempotencyState | undefined> {
    const [row] = await this.db.all<{ args_sha256: string; result_json: string; state: string; claimed_at: number | null }>(
      'SELECT args_sha256, result_json, state, claimed_at FROM botc_idempotency WHERE tenant = ? AND method_id = ? AND idem_key = ?',
      [tenant, methodId, key],
    );
    if (!row) return undefined;
    if (row.state === 'in_flight') return { state: 'in_flight', args_sha256: row.args_sha256, claimed_at: Number(row.claimed_at ?? 0) };
    return { state: 'done', args_sha256: row.args_sha256, result: JSON.parse(row.result_json) };
  }

  async claimIdempotency(tenant: string, methodId: string, key: string, claim: { args_sha256: string; claim_id: string; claimed_at: number }): Promise<IdempotencyClaim> {
    // The primary key (tenant, method_id, idem_key) makes the insert the atomic claim: of any
    // number of concurrent inserts, on any connection, exactly one adds the row.
    for (let tries = 0; tries < 5; tries++) {
      const inserted = await this.db.run(
        `INSERT INTO botc_idempotency (tenant, method_id, idem_key, args_sha256, result_json, state, claimed_at, claim_id)
         VALUES (?, ?, ?, ?, '', 'in_flight', ?, ?) ON CONFLICT DO NOTHING`,
        [tenant, methodId, key, claim.args_sha256, claim.claimed_at, claim.claim_id],
      );
      if (inserted === 1) return { claimed: true };
      const existing = await this.readIdempotency(tenant, methodId, key);
      // Gone between the insert and the read: its claim was released; claim again.
      if (existing) return { claimed: false, existing };
    }
    throw new Error('the idempotency key is claimed and released faster than it can be read');
  }

  async completeIdempotency(tenant: string, methodId: string, key: string, claimId: string, record: IdempotencyRecord): Promise<void> {
    await this.db.run(
      `UPDATE botc_idempotency SET state = 'done', args_sha256 = ?, result_json = ?
       WHERE tenant = ? AND method_id = ? AND idem_key = ? AND claim_id = ? AND state = 'in_flight'`,
      [record.args_sha256, JSON.stringify(record.result), tenant, methodId, key, claimId],
    );
  }

  async releaseIdempotency(tenant: string, methodId: string, key: string, claimId: string): Promise<void> {
    await this.db.run(
      "DELETE FROM botc_idempotency WHERE tenant = ? AND method_id = ? AND idem_key = ? AND claim_id = ? AND state = 'in_flight'",
      [tenant, methodId, key, claimId],
    );
  }

  async putIdempotency(tenant: string, methodId: string, key: string, record: IdempotencyRecord): Promise<IdempotencyRecord> {
    const resultJson = JSON.stringify(record.result);
    const inserted = await this.db.run(
      'INSERT INTO botc_idempotency (tenant, method_id, idem_key, args_sha256, result_json) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [tenant, methodId, key, record.args_sha256, resultJson],
    );
    // Ours is stored: return it as a read would, without the round trip. Else the one stored first.
    if (inserted === 1) return { args_sha256: record.args_sha256, result: JSON.parse(resultJson) };
    // A claim in flight holds no outcome yet: nothing of ours was stored, and nothing else is.
    return (await this.getIdempotency(tenant, methodId, key)) ?? { args_sha256: record.args_sha256, result: JSON.parse(resultJson) };
  }

  async appendAudit(entry: AuditInput): Promise<{ seq: number; hash: string }> {
    return this.db.transaction((tx) => runSteps(auditAppendSteps(entry, this.db.lockSuffix), tx));
  }

  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, value: unknown) => {
      where.push(clause);
      params.push(value);
    };
    if (filter.tenant !== undefined) add('tenant = ?', filter.tenant);
    if (filter.since !== undefined) add('at >= ?', filter.since);
    if (filter.until !== undefined) add('at < ?', filter.until);
    if (filter.integration !== undefined) add('integration = ?', filter.integration);
    if (filter.outcome !== undefined) add('outcome = ?', filter.outcome);
    if (filter.action !== undefined) add('action = ?', filter.action);
    const limit = Math.max(1, Math.min(filter.limit ?? 1000, 100_000));
    const rows = await this.db.all<AuditRow>(
      `SELECT * FROM botc_audit${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at, tenant, seq LIMIT ${limit}`,
      params,
    );
    return rows.map(toEntry);
  }

  async verifyAudit(tenant?: string, anchors: readonly AuditAnchor[] = []): Promise<AuditVerification> {
    return (await this.checkAudit(tenant, anchors)).verdict;
  }

  async checkAudit(tenant?: string, anchors: readonly AuditAnchor[] = []): Promise<AuditLogCheck> {
    const only = tenant === undefined ? '' : ' WHERE tenant = ?';
    const params = tenant === undefined ? [] : [tenant];
    return verifyAuditLog(
      {
        heads: async () =>
          (await this.db.all<AuditAnchor>(`SELECT tenant, seq, hash FROM botc_audit_head${only} ORDER BY tenant`, params)).map((h) => ({ ...h, seq: Number(h.seq) })),
        tenantsWithEntries: async () => (await this.db.all<{ tenant: string }>(`SELECT DISTINCT tenant FROM botc_audit${only}`, params)).map((r) => r.tenant),
        rows: (name) => this.db.all<AuditRow>('SELECT * FROM botc_audit WHERE tenant = ? ORDER BY seq', [name]),
      },
      tenant,
      anchors,
    );
  }

  async createConfirmation(c: Confirmation): Promise<void> {
    await this.db.run(
      `INSERT INTO botc_confirmation (token_sha256, id, tenant, approver, expires_at, preview_sha256, expert, tool, method_id, call_json, created_at,
         bot, bundle_digest, bundle_path, preview_json, status, automation_chain)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`,
      [c.token_sha256, c.id, c.tenant, c.approver, c.expires_at, c.preview_sha256, c.expert, c.tool, c.method_id, c.call_json, c.created_at, c.bot, c.bundle_digest, c.bundle_path, c.preview_json ?? null, chainJson(c.automation_chain)],
    );
  }

  async getConfirmationById(id: string): Promise<StoredConfirmation | undefined> {
    if (id === '') return undefined;
    const [row] = await this.db.all<ConfirmationRow>('SELECT * FROM botc_confirmation WHERE id = ?', [id]);
    return row ? normalizeConfirmation(row) : undefined;
  }

  async getConfirmation(tokenSha256: string): Promise<StoredConfirmation | undefined> {
    const [row] = await this.db.all<ConfirmationRow>('SELECT * FROM botc_confirmation WHERE token_sha256 = ?', [tokenSha256]);
    return row ? normalizeConfirmation(row) : undefined;
  }

  async listConfirmations(filter: { tenant?: string; status?: ConfirmationStatus; now: number }): Promise<StoredConfirmation[]> {
    const rows = filter.tenant === undefined
      ? await this.db.all<ConfirmationRow>('SELECT * FROM botc_confirmation ORDER BY created_at, id')
      : await this.db.all<ConfirmationRow>('SELECT * FROM botc_confirmation WHERE tenant = ? ORDER BY created_at, id', [filter.tenant]);
    const all = rows.map(normalizeConfirmation);
    return filter.status === undefined ? all : all.filter((c) => confirmationStatus(c, filter.now) === filter.status);
  }

  async useConfirmation(tokenSha256: string, tenant: string, approver: string, now: number): Promise<ConfirmationUse> {
    return this.decideConfirmation(tokenSha256, tenant, approver, now, 'executed', null);
  }

  async rejectConfirmation(tokenSha256: string, tenant: string, approver: string, reason: string | null, now: number): Promise<ConfirmationUse> {
    return this.decideConfirmation(tokenSha256, tenant, approver, now, 'rejected', reason);
  }

  /**
   * One UPDATE guarded by `used_at IS NULL`: of any number of concurrent decisions, one wins. An
   * approval records its `confirmation.executed` event in the same transaction.
   */
  private async decideConfirmation(tokenSha256: string, tenant: string, approver: string, now: number, status: 'executed' | 'rejected', reason: string | null): Promise<ConfirmationUse> {
    return this.db.transaction(async (tx) => {
      const changed = await tx.run(
        `UPDATE botc_confirmation SET used_at = ?, status = ?, decided_by = ?, reason = ? WHERE token_sha256 = ? AND tenant = ? AND used_at IS NULL AND expires_at > ?
         AND (approver = ? OR approver = '${ANY_APPROVER}')`,
        [now, status, approver, reason, tokenSha256, tenant, now, approver],
      );
      const [found] = await tx.all<ConfirmationRow>('SELECT * FROM botc_confirmation WHERE token_sha256 = ?', [tokenSha256]);
      const row = found ? normalizeConfirmation(found) : undefined;
      if (changed === 1 && row) {
        if (status === 'executed') await insertEvent(tx, confirmationExecutedEvent(row, approver), now);
        return { ok: true, confirmation: row };
      }
      return { ok: false, reason: confirmationRefusal(row, tenant, approver) };
    });
  }

  async enqueueImport(items: ReviewItem[], cursor: { tenant: string; stream: string; value: string | null } | null, event?: EventInput): Promise<ReviewItem[]> {
    return this.db.transaction(async (tx) => {
      for (const item of items) {
        // A re-import of the same record is absorbed (its decision stands); a changed record goes
        // back to review. Either way the record now belongs to the latest batch that delivered it.
        await tx.run(
          `INSERT INTO botc_review (id, tenant, provider, method_id, record_key, record_json, record_sha256, status, batch_id, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
           ON CONFLICT (tenant, provider, record_key) DO UPDATE SET
             batch_id = excluded.batch_id, method_id = excluded.method_id,
             status = CASE WHEN botc_review.record_sha256 = excluded.record_sha256 THEN botc_review.status ELSE 'pending' END,
             decided_by = CASE WHEN botc_review.record_sha256 = excluded.record_sha256 THEN botc_review.decided_by ELSE NULL END,
             decided_at = CASE WHEN botc_review.record_sha256 = excluded.record_sha256 THEN botc_review.decided_at ELSE NULL END,
             created_at = CASE WHEN botc_review.record_sha256 = excluded.record_sha256 THEN botc_review.created_at ELSE excluded.created_at END,
             record_json = excluded.record_json, record_sha256 = excluded.record_sha256`,
          [item.id, item.tenant, item.provider, item.method_id, item.record_key, item.record_json, item.record_sha256, item.batch_id, item.created_at],
        );
      }
      if (cursor) {
        await tx.run(
          'INSERT INTO botc_cursor (tenant, stream, value) VALUES (?, ?, ?) ON CONFLICT (tenant, stream) DO UPDATE SET value = excluded.value',
          [cursor.tenant, cursor.stream, cursor.value],
        );
      }
      // The event commits with the records it reports, or not at all. Last, so the counter row
      // it locks is held only until the commit that follows.
      if (event) await insertEvent(tx, event, items[0]?.created_at ?? Date.now());
      const batch = items[0]?.batch_id;
      return batch === undefined ? [] : (await tx.all<ReviewItem>('SELECT * FROM botc_review WHERE batch_id = ? ORDER BY record_key', [batch])).map(normalizeReview);
    });
  }

  async listReviews(filter: { tenant?: string; status?: ReviewStatus; batch_id?: string }): Promise<ReviewItem[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const key of ['tenant', 'status', 'batch_id'] as const) {
      if (filter[key] !== undefined) {
        where.push(`${key} = ?`);
        params.push(filter[key]);
      }
    }
    const rows = await this.db.all<ReviewItem>(`SELECT * FROM botc_review${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`, params);
    return rows.map(normalizeReview);
  }

  async decideReview(tenant: string, id: string, status: 'approved' | 'rejected', by: string, now: number): Promise<ReviewItem | undefined> {
    return this.db.transaction(async (tx) => {
      const changed = await tx.run(
        "UPDATE botc_review SET status = ?, decided_by = ?, decided_at = ? WHERE tenant = ? AND id = ? AND status = 'pending'",
        [status, by, now, tenant, id],
      );
      if (changed !== 1) return undefined;
      const [row] = await tx.all<ReviewItem>('SELECT * FROM botc_review WHERE id = ?', [id]);
      if (!row) return undefined;
      const item = normalizeReview(row);
      if (status === 'approved') await insertEvent(tx, reviewApprovedEvent(item), now);
      return item;
    });
  }

  async getCursor(tenant: string, stream: string): Promise<string | null> {
    const [row] = await this.db.all<{ value: string | null }>('SELECT value FROM botc_cursor WHERE tenant = ? AND stream = ?', [tenant, stream]);
    return row?.value ?? null;
  }

  async putCredential(c: StoredCredential): Promise<void> {
    await this.db.run(
      `INSERT INTO botc_credential (id, tenant, provider, ciphertext, iv, tag, scopes_json, created_at, revoked_at, oauth, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)
       ON CONFLICT (tenant, provider) DO UPDATE SET id = excluded.id, ciphertext = excluded.ciphertext, iv = excluded.iv,
         tag = excluded.tag, scopes_json = excluded.scopes_json, created_at = excluded.created_at, revoked_at = NULL,
         oauth = excluded.oauth, expires_at = excluded.expires_at`,
      [c.id, c.tenant, c.provider, c.ciphertext, c.iv, c.tag, JSON.stringify(c.scopes), c.created_at, c.oauth ? 1 : 0, c.expires_at ?? null],
    );
  }

  async getCredential(tenant: string, provider: string): Promise<StoredCredential | undefined> {
    // The tenant is part of the key: another tenant's row is never read.
    const [row] = await this.db.all<CredentialRow>(
      'SELECT * FROM botc_credential WHERE tenant = ? AND provider = ? AND revoked_at IS NULL',
      [tenant, provider],
    );
    return row ? { ...summary(row), ciphertext: row.ciphertext, iv: row.iv, tag: row.tag } : undefined;
  }

  async listCredentials(tenant?: string): Promise<CredentialSummary[]> {
    const rows = await this.db.all<CredentialRow>(
      `SELECT id, tenant, provider, scopes_json, created_at, revoked_at, oauth, expires_at FROM botc_credential${tenant === undefined ? '' : ' WHERE tenant = ?'} ORDER BY tenant, provider`,
      tenant === undefined ? [] : [tenant],
    );
    return rows.map(summary);
  }

  async revokeCredential(tenant: string, provider: string, now: number): Promise<boolean> {
    return (await this.db.run('UPDATE botc_credential SET revoked_at = ? WHERE tenant = ? AND provider = ? AND revoked_at IS NULL', [now, tenant, provider])) === 1;
  }

  async claimRefreshLock(tenant: string, provider: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    // One row per credential: the insert, or the take-over of an expired lock, is one atomic
    // statement, so of any number of concurrent claimers on any connection exactly one wins.
    const changed = await this.db.run(
      `INSERT INTO botc_refresh_lock (tenant, provider, holder, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (tenant, provider) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE botc_refresh_lock.expires_at <= ?`,
      [tenant, provider, holder, now + ttlMs, now],
    );
    return changed === 1;
  }

  async releaseRefreshLock(tenant: string, provider: string, holder: string): Promise<void> {
    await this.db.run('DELETE FROM botc_refresh_lock WHERE tenant = ? AND provider = ? AND holder = ?', [tenant, provider, holder]);
  }

  appendEvent(event: EventInput, now: number): Promise<StoredEvent> {
    return this.db.transaction((tx) => insertEvent(tx, event, now));
  }

  listEvents(filter: EventFilter): Promise<StoredEvent[]> {
    return this.automations.listEvents(filter);
  }

  claimAutomationEvent(automation: string, eventId: string, tenant: string, now: number): Promise<boolean> {
    return this.automations.claim(automation, eventId, tenant, now);
  }

  settleAutomationEvent(automation: string, eventId: string, outcome: string, confirmationId: string | null): Promise<void> {
    return this.automations.settle(automation, eventId, outcome, confirmationId);
  }

  listAutomationClaims(automation?: string): Promise<AutomationClaim[]> {
    return this.automations.claims(automation);
  }

  getAutomationCheckpoint(automation: string): Promise<number> {
    return this.automations.checkpoint(automation);
  }

  advanceAutomationCheckpoint(automation: string, seq: number): Promise<void> {
    return this.automations.advance(automation, seq);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}



/** A credential as stored: its scopes as JSON text. */
type CredentialRow = Omit<StoredCredential, 'scopes' | 'oauth'> & { scopes_json: string; oauth?: number | null };

function summary(row: CredentialRow): CredentialSummary {
  return {
    id: row.id,
    tenant: row.tenant,
    provider: row.provider,
    scopes: JSON.parse(row.scopes_json) as string[],
    created_at: Number(row.created_at),
    revoked_at: row.revoked_at === null ? null : Number(row.revoked_at),
    ...(Number(row.oauth ?? 0) === 1 ? { oauth: true, expires_at: row.expires_at === null || row.expires_at === undefined ? null : Number(row.expires_at) } : {}),
  };
}

/** Why a confirmation cannot be used; checked in the order a person would want to hear it. */
export function confirmationRefusal(
  row: StoredConfirmation | undefined,
  tenant: string,
  approver: string,
): 'unknown' | 'used' | 'expired' | 'tenant' | 'approver' {
  if (!row) return 'unknown';
  if (row.tenant !== tenant) return 'tenant';
  if (row.used_at !== null) return 'used';
  if (row.approver !== ANY_APPROVER && row.approver !== approver) return 'approver';
  return 'expired';
}

type ConfirmationRow = Omit<StoredConfirmation, 'status' | 'automation_chain'> & { status: string | null; automation_chain?: string | null };

function normalizeConfirmation(row: ConfirmationRow): StoredConfirmation {
  const usedAt = row.used_at === null ? null : Number(row.used_at);
  // Rows stored before ids and bundle bindings existed have NULL there: unbound, never a match.
  // Rows stored before decisions were recorded have no status: used ones were executed.
  return {
    ...row,
    used_at: usedAt,
    status: row.status === 'rejected' || row.status === 'executed' ? row.status : usedAt === null ? 'pending' : 'executed',
    decided_by: row.decided_by ?? null,
    reason: row.reason ?? null,
    preview_json: row.preview_json ?? null,
    id: row.id ?? '',
    bot: row.bot ?? '',
    bundle_digest: row.bundle_digest ?? '',
    bundle_path: row.bundle_path ?? null,
    automation_chain: typeof row.automation_chain === 'string' ? (JSON.parse(row.automation_chain) as string[]) : null,
    expires_at: Number(row.expires_at),
    created_at: Number(row.created_at),
  };
}

function normalizeReview(row: ReviewItem): ReviewItem {
  return {
    ...row,
    created_at: Number(row.created_at),
    decided_at: row.decided_at === null ? null : Number(row.decided_at),
  };
}

export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '')}`;
}

/** One statement of a step-wise operation, which an async or a synchronous connection runs. */
interface SqlStep {
  /** `all` answers the rows; `run` the number of rows changed. */
  kind: 'all' | 'run';
  sql: string;
  params: unknown[];
}

/** What a step-wise operation is: it yields each statement and is given back what it answered. */
type SqlSteps<T> = Generator<SqlStep, T, unknown>;

async function runSteps<T>(steps: SqlSteps<T>, tx: SqlConnection): Promise<T> {
  let next = steps.next();
  while (!next.done) {
    const { kind, sql, params } = next.value;
    next = steps.next(kind === 'all' ? await tx.all(sql, params) : await tx.run(sql, params));
  }
  return next.value;
}

function runStepsSync<T>(steps: SqlSteps<T>, tx: SqlSyncConnection): T {
  let next = steps.next();
  while (!next.done) {
    const { kind, sql, params } = next.value;
    next = steps.next(kind === 'all' ? tx.all(sql, params) : tx.run(sql, params));
  }
  return next.value;
}

/**
 * One audit append, in a transaction of its caller's: locks the tenant's chain head (rebuilding
 * it from the last entry when it is missing), inserts the entry as the next link, moves the
 * head. Written once, as steps, so that the async and the synchronous append cannot differ.
 */
function* auditAppendSteps(entry: AuditInput, lockSuffix: string): SqlSteps<{ seq: number; hash: string }> {
  const lockHead: SqlStep = { kind: 'all', sql: `SELECT seq, hash FROM botc_audit_head WHERE tenant = ?${lockSuffix}`, params: [entry.tenant] };
  let [head] = (yield lockHead) as { seq: number; hash: string }[];
  let rebuilt = false;
  if (!head) {
    // The tenant's first entry, or a head someone deleted: the chain goes on from the last
    // stored entry, so a deleted head never makes appends fail. A concurrent append that
    // also found no head makes this insert wait, then do nothing.
    const [last] = (yield { kind: 'all', sql: 'SELECT seq, hash FROM botc_audit WHERE tenant = ? ORDER BY seq DESC LIMIT 1', params: [entry.tenant] }) as { seq: number; hash: string }[];
    const inserted = (yield { kind: 'run', sql: 'INSERT INTO botc_audit_head (tenant, seq, hash) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', params: [entry.tenant, last ? Number(last.seq) : 0, last?.hash ?? GENESIS_HASH] }) as number;
    rebuilt = inserted === 1 && last !== undefined;
    [head] = (yield lockHead) as { seq: number; hash: string }[];
  }
  let tip = { seq: Number(head!.seq), hash: head!.hash };
  // The log records that its head was rebuilt: verification fails until then, and after it
  // the entry shows when and from where.
  const inputs = rebuilt ? [headRebuiltEntry(entry.tenant, tip), entry] : [entry];
  for (const input of inputs) {
    const row = auditRow(input, tip.seq + 1, tip.hash);
    const hash = auditHash(row);
    yield {
      kind: 'run',
      sql: `INSERT INTO botc_audit (tenant, seq, at, action, actor, integration, method_id, outcome, trace_id, detail_json, prev_hash, hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      params: [row.tenant, row.seq, row.at, row.action, row.actor, row.integration, row.method_id, row.outcome, row.trace_id, row.detail_json, row.prev_hash, hash],
    };
    tip = { seq: row.seq, hash };
  }
  yield { kind: 'run', sql: 'UPDATE botc_audit_head SET seq = ?, hash = ? WHERE tenant = ?', params: [tip.seq, tip.hash, entry.tenant] };
  return tip;
}
