import { canonicalJson } from '../bundle/canonical.ts';
import { auditHash, auditRow, GENESIS_HASH, headRebuiltEntry, toEntry, verifyAuditLog, type AuditRow } from './audit-chain.ts';
import {
  confirmationExecutedEvent, EVENT_VALUE_MAX, eventPayloadJson, newEventId, proposingAutomations, reviewApprovedEvent,
  type AutomationClaim, type EventFilter, type EventInput, type StoredEvent,
} from './events.ts';
import { confirmationRefusal } from './sql-store.ts';
import { ANY_APPROVER, confirmationStatus, type ConfirmationStatus, type StoredConfirmation } from './types.ts';
import type {
  AuditAnchor, AuditEntry, AuditFilter, AuditInput, AuditLogCheck, AuditVerification, Confirmation, ConfirmationUse, CredentialSummary,
  IdempotencyClaim, IdempotencyRecord, IdempotencyState, ReviewItem, ReviewStatus, StateStore, StoredCredential,
} from './types.ts';

/**
 * A StateStore in process memory, with the same rules as the SQL stores: for tests, benchmarks
 * and short-lived runtimes. Nothing survives the process.
 */
export class MemoryStore implements StateStore {
  readonly kind = 'memory' as const;
  /** Per key: the outcome as JSON text, or a claim in flight. */
  private readonly idempotency = new Map<string, string | { args_sha256: string; claim_id: string; claimed_at: number }>();
  private readonly audit = new Map<string, AuditRow[]>();
  /** Each tenant's chain head, kept apart from the entries as the SQL stores keep it. */
  private readonly heads = new Map<string, { seq: number; hash: string }>();
  private readonly confirmations = new Map<string, StoredConfirmation>();
  private readonly reviews = new Map<string, ReviewItem>();
  private readonly cursors = new Map<string, string | null>();
  private readonly credentials = new Map<string, StoredCredential>();

  async getIdempotency(tenant: string, methodId: string, key: string): Promise<IdempotencyRecord | undefined> {
    const stored = this.idempotency.get(canonicalJson([tenant, methodId, key]));
    return typeof stored === 'string' ? (JSON.parse(stored) as IdempotencyRecord) : undefined;
  }

  async putIdempotency(tenant: string, methodId: string, key: string, record: IdempotencyRecord): Promise<IdempotencyRecord> {
    const id = canonicalJson([tenant, methodId, key]);
    if (!this.idempotency.has(id)) this.idempotency.set(id, JSON.stringify(record));
    const stored = this.idempotency.get(id);
    return JSON.parse(typeof stored === 'string' ? stored : JSON.stringify(record)) as IdempotencyRecord;
  }

  async readIdempotency(tenant: string, methodId: string, key: string): Promise<IdempotencyState | undefined> {
    const stored = this.idempotency.get(canonicalJson([tenant, methodId, key]));
    if (stored === undefined) return undefined;
    if (typeof stored !== 'string') return { state: 'in_flight', args_sha256: stored.args_sha256, claimed_at: stored.claimed_at };
    return { state: 'done', ...(JSON.parse(stored) as IdempotencyRecord) };
  }

  async claimIdempotency(tenant: string, methodId: string, key: string, claim: { args_sha256: string; claim_id: string; claimed_at: number }): Promise<IdempotencyClaim> {
    const id = canonicalJson([tenant, methodId, key]);
    // No await between the check and the set: the claim is atomic in this process.
    if (!this.idempotency.has(id)) {
      this.idempotency.set(id, { ...claim });
      return { claimed: true };
    }
    return { claimed: false, existing: (await this.readIdempotency(tenant, methodId, key))! };
  }

  async completeIdempotency(tenant: string, methodId: string, key: string, claimId: string, record: IdempotencyRecord): Promise<void> {
    const id = canonicalJson([tenant, methodId, key]);
    const stored = this.idempotency.get(id);
    if (typeof stored === 'object' && stored.claim_id === claimId) this.idempotency.set(id, JSON.stringify(record));
  }

  async releaseIdempotency(tenant: string, methodId: string, key: string, claimId: string): Promise<void> {
    const id = canonicalJson([tenant, methodId, key]);
    const stored = this.idempotency.get(id);
    if (typeof stored === 'object' && stored.claim_id === claimId) this.idempotency.delete(id);
  }

  async appendAudit(entry: AuditInput): Promise<{ seq: number; hash: string }> {
    return this.appendNow(entry);
  }

  /** Always synchronous here: nothing is ever queued ahead of an append (`StateStore.appendAuditSync`). */
  appendAuditSync(entry: AuditInput): { seq: number; hash: string } {
    return this.appendNow(entry);
  }

  private appendNow(entry: AuditInput): { seq: number; hash: string } {
    let chain = this.audit.get(entry.tenant);
    if (!chain) this.audit.set(entry.tenant, (chain = []));
    const append = (input: AuditInput, tip: { seq: number; hash: string }) => {
      const row = auditRow(input, tip.seq + 1, tip.hash);
      // The log keeps the rows as they would be stored: strings, never the caller's objects.
      const stored: AuditRow = { ...row, hash: auditHash(row) };
      chain.push(stored);
      return { seq: stored.seq, hash: stored.hash };
    };
    let tip = this.heads.get(entry.tenant);
    if (!tip) {
      // As in the SQL stores: a missing head is rebuilt from the last entry, and the log says so.
      const last = chain.at(-1);
      tip = last ? append(headRebuiltEntry(entry.tenant, last), last) : { seq: 0, hash: GENESIS_HASH };
    }
    const written = append(entry, tip);
    this.heads.set(entry.tenant, written);
    return written;
  }

  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    const all = [...this.audit.values()].flat().filter(
      (e) =>
        (filter.tenant === undefined || e.tenant === filter.tenant) &&
        (filter.since === undefined || e.at >= filter.since) &&
        (filter.until === undefined || e.at < filter.until) &&
        (filter.integration === undefined || e.integration === filter.integration) &&
        (filter.outcome === undefined || e.outcome === filter.outcome) &&
        (filter.action === undefined || e.action === filter.action),
    );
    all.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : a.seq - b.seq));
    return all.slice(0, filter.limit ?? 1000).map(toEntry);
  }

  async verifyAudit(tenant?: string, anchors: readonly AuditAnchor[] = []): Promise<AuditVerification> {
    return (await this.checkAudit(tenant, anchors)).verdict;
  }

  async checkAudit(tenant?: string, anchors: readonly AuditAnchor[] = []): Promise<AuditLogCheck> {
    const mine = (name: string) => tenant === undefined || name === tenant;
    return verifyAuditLog(
      {
        heads: async () => [...this.heads].filter(([name]) => mine(name)).map(([name, head]) => ({ tenant: name, ...head })),
        tenantsWithEntries: async () => [...this.audit].filter(([name, rows]) => mine(name) && rows.length > 0).map(([name]) => name),
        rows: async (name) => [...(this.audit.get(name) ?? [])],
      },
      tenant,
      anchors,
    );
  }

  async createConfirmation(confirmation: Confirmation): Promise<void> {
    if (this.confirmations.has(confirmation.token_sha256)) throw new Error('duplicate confirmation token');
    if (confirmation.id !== '' && [...this.confirmations.values()].some((c) => c.id === confirmation.id)) throw new Error('duplicate confirmation id');
    const chain = confirmation.automation_chain ?? proposingAutomations();
    this.confirmations.set(confirmation.token_sha256, {
      ...confirmation, preview_json: confirmation.preview_json ?? null, automation_chain: chain?.length ? chain : null, used_at: null, status: 'pending', decided_by: null, reason: null,
    });
  }

  async getConfirmation(tokenSha256: string): Promise<StoredConfirmation | undefined> {
    const row = this.confirmations.get(tokenSha256);
    return row ? { ...row } : undefined;
  }

  async getConfirmationById(id: string): Promise<StoredConfirmation | undefined> {
    if (id === '') return undefined;
    const row = [...this.confirmations.values()].find((c) => c.id === id);
    return row ? { ...row } : undefined;
  }

  async listConfirmations(filter: { tenant?: string; status?: ConfirmationStatus; now: number }): Promise<StoredConfirmation[]> {
    return [...this.confirmations.values()]
      .filter((c) => (filter.tenant === undefined || c.tenant === filter.tenant) && (filter.status === undefined || confirmationStatus(c, filter.now) === filter.status))
      .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((c) => ({ ...c }));
  }

  async useConfirmation(tokenSha256: string, tenant: string, approver: string, now: number): Promise<ConfirmationUse> {
    return this.decide(tokenSha256, tenant, approver, now, 'executed', null);
  }

  async rejectConfirmation(tokenSha256: string, tenant: string, approver: string, reason: string | null, now: number): Promise<ConfirmationUse> {
    return this.decide(tokenSha256, tenant, approver, now, 'rejected', reason);
  }

  private decide(tokenSha256: string, tenant: string, approver: string, now: number, status: 'executed' | 'rejected', reason: string | null): ConfirmationUse {
    const row = this.confirmations.get(tokenSha256);
    const usable = row && row.tenant === tenant && row.used_at === null && row.expires_at > now && (row.approver === ANY_APPROVER || row.approver === approver);
    if (!usable) return { ok: false, reason: confirmationRefusal(row, tenant, approver) };
    Object.assign(row, { used_at: now, status, decided_by: approver, reason });
    if (status === 'executed') this.insertEvent(confirmationExecutedEvent(row, approver), now);
    const { used_at: _used, status: _status, decided_by: _by, reason: _reason, ...confirmation } = row;
    return { ok: true, confirmation };
  }

  async enqueueImport(items: ReviewItem[], cursor: { tenant: string; stream: string; value: string | null } | null, event?: EventInput): Promise<ReviewItem[]> {
    if (event) this.insertEvent(event, items[0]?.created_at ?? Date.now());
    for (const item of items) {
      const id = canonicalJson([item.tenant, item.provider, item.record_key]);
      const existing = this.reviews.get(id);
      if (existing && existing.record_sha256 === item.record_sha256) {
        existing.batch_id = item.batch_id;
        existing.method_id = item.method_id;
        continue;
      }
      this.reviews.set(id, { ...item, id: existing?.id ?? item.id, status: 'pending', decided_by: null, decided_at: null });
    }
    if (cursor) this.cursors.set(canonicalJson([cursor.tenant, cursor.stream]), cursor.value);
    const batch = items[0]?.batch_id;
    return batch === undefined ? [] : this.listReviews({ batch_id: batch });
  }

  async listReviews(filter: { tenant?: string; status?: ReviewStatus; batch_id?: string }): Promise<ReviewItem[]> {
    return [...this.reviews.values()]
      .filter((r) => (filter.tenant === undefined || r.tenant === filter.tenant) && (filter.status === undefined || r.status === filter.status) && (filter.batch_id === undefined || r.batch_id === filter.batch_id))
      .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1))
      .map((r) => ({ ...r }));
  }

  async decideReview(tenant: string, id: string, status: 'approved' | 'rejected', by: string, now: number): Promise<ReviewItem | undefined> {
    const row = [...this.reviews.values()].find((r) => r.id === id && r.tenant === tenant && r.status === 'pending');
    if (!row) return undefined;
    Object.assign(row, { status, decided_by: by, decided_at: now });
    if (status === 'approved') this.insertEvent(reviewApprovedEvent(row), now);
    return { ...row };
  }

  async getCursor(tenant: string, stream: string): Promise<string | null> {
    return this.cursors.get(canonicalJson([tenant, stream])) ?? null;
  }

  async putCredential(credential: StoredCredential): Promise<void> {
    this.credentials.set(canonicalJson([credential.tenant, credential.provider]), { ...credential, revoked_at: null });
  }

  async getCredential(tenant: string, provider: string): Promise<StoredCredential | undefined> {
    const row = this.credentials.get(canonicalJson([tenant, provider]));
    return row && row.revoked_at === null ? { ...row } : undefined;
  }

  async listCredentials(tenant?: string): Promise<CredentialSummary[]> {
    return [...this.credentials.values()]
      .filter((c) => tenant === undefined || c.tenant === tenant)
      .map(({ ciphertext: _c, iv: _i, tag: _t, ...summary }) => summary);
  }

  async revokeCredential(tenant: string, provider: string, now: number): Promise<boolean> {
    const row = this.credentials.get(canonicalJson([tenant, provider]));
    if (!row || row.revoked_at !== null) return false;
    row.revoked_at = now;
    return true;
  }

  private readonly refreshLocks = new Map<string, { holder: string; expires_at: number }>();

  async claimRefreshLock(tenant: string, provider: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    const key = canonicalJson([tenant, provider]);
    const held = this.refreshLocks.get(key);
    if (held && held.expires_at > now) return false;
    this.refreshLocks.set(key, { holder, expires_at: now + ttlMs });
    return true;
  }

  async releaseRefreshLock(tenant: string, provider: string, holder: string): Promise<void> {
    const key = canonicalJson([tenant, provider]);
    if (this.refreshLocks.get(key)?.holder === holder) this.refreshLocks.delete(key);
  }

  private readonly events: StoredEvent[] = [];
  private readonly claims = new Map<string, AutomationClaim>();
  private readonly checkpoints = new Map<string, number>();

  /** Synchronous, so it is atomic with the change it reports. */
  private insertEvent(event: EventInput, now: number): StoredEvent {
    const payload = JSON.parse(eventPayloadJson(event.payload)) as StoredEvent['payload'];
    const stored: StoredEvent = structuredClone({ ...event, subject: event.subject.slice(0, EVENT_VALUE_MAX), payload, id: newEventId(), seq: this.events.length + 1, created_at: now });
    this.events.push(stored);
    return structuredClone(stored);
  }

  async appendEvent(event: EventInput, now: number): Promise<StoredEvent> {
    return this.insertEvent(event, now);
  }

  async listEvents(filter: EventFilter): Promise<StoredEvent[]> {
    return this.events
      .filter((e) => e.seq > filter.after && (filter.type === undefined || e.type === filter.type) && (filter.tenant === undefined || e.tenant === filter.tenant))
      .slice(0, Math.max(1, Math.min(filter.limit ?? 500, 10_000)))
      .map((e) => structuredClone(e));
  }

  async claimAutomationEvent(automation: string, eventId: string, tenant: string, now: number): Promise<boolean> {
    const key = canonicalJson([automation, eventId]);
    if (this.claims.has(key)) return false;
    this.claims.set(key, { automation, event_id: eventId, tenant, claimed_at: now, outcome: 'claimed', confirmation_id: null });
    return true;
  }

  async settleAutomationEvent(automation: string, eventId: string, outcome: string, confirmationId: string | null): Promise<void> {
    const claim = this.claims.get(canonicalJson([automation, eventId]));
    if (claim) Object.assign(claim, { outcome, confirmation_id: confirmationId });
  }

  async listAutomationClaims(automation?: string): Promise<AutomationClaim[]> {
    return [...this.claims.values()].filter((c) => automation === undefined || c.automation === automation).map((c) => ({ ...c }));
  }

  async getAutomationCheckpoint(automation: string): Promise<number> {
    return this.checkpoints.get(automation) ?? 0;
  }

  async advanceAutomationCheckpoint(automation: string, seq: number): Promise<void> {
    if ((this.checkpoints.get(automation) ?? 0) < seq) this.checkpoints.set(automation, seq);
  }

  async close(): Promise<void> {}
}
