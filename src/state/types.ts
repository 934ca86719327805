// Over 300 lines: the one StateStore contract and the record types it shares across stores.
import type { IntegrationResult } from '../integration/types.ts';
import type { AutomationClaim, EventFilter, EventInput, StoredEvent } from './events.ts';

/** One audit entry as the runtime writes it. Never holds a secret. */
export interface AuditInput {
  tenant: string;
  /**
   * What happened: `call` (with its attempts and outcome), `call.attempted` (a confirmed write
   * about to be sent; the `call` entry of the same trace id holds its outcome, and its absence
   * means the outcome is unknown), `query` (help, status, list ops), `retry`,
   * `confirmation.created|used|rejected` (`rejected`: the runtime refused an attempt to confirm),
   * `confirmation.declined` (a person rejected it: `botc confirm reject`), `import`, `review.approved|rejected`,
   * `credential.added|revoked|denied`, `audit.head_rebuilt` (an append found its tenant's chain
   * head deleted and rebuilt it from the last entry), `automation.proposed|failed` (an
   * automation's proposal for one event; actor `automation:<name>`).
   */
  action: string;
  /** Who did it: `runtime`, `expert:<name>`, `user:<name>`. */
  actor: string;
  integration: string | null;
  method_id: string | null;
  /** `ok`, `pending`, or a §5 error code. */
  outcome: string;
  trace_id: string | null;
  detail: Record<string, unknown>;
}

/** A stored audit entry: per-tenant sequence number, time, and its place in the hash chain. */
export interface AuditEntry extends AuditInput {
  seq: number;
  at: string;
  prev_hash: string;
  hash: string;
}

export interface AuditFilter {
  tenant?: string;
  since?: string;
  until?: string;
  integration?: string;
  outcome?: string;
  action?: string;
  limit?: number;
}

export type AuditVerification =
  | { ok: true; tenants: number; entries: number }
  | { ok: false; tenant: string; seq: number; reason: string };

/** A point of a tenant's chain: its entry `seq` (1-based) has hash `hash` (hex sha256). */
export interface AuditAnchor {
  tenant: string;
  seq: number;
  hash: string;
}

/** A verified log: the verdict, and when it is ok the last entry of each tenant that has entries. */
export interface AuditLogCheck {
  verdict: AuditVerification;
  heads: AuditAnchor[];
}

export interface IdempotencyRecord {
  args_sha256: string;
  result: IntegrationResult;
}

/**
 * What the store holds for one idempotency key: a call that claimed the key and has not
 * recorded its outcome yet (`in_flight`, since `claimed_at`, ms since the epoch), or the
 * outcome it recorded (`done`). A claim that is never completed means the process running the
 * call stopped: whether the call reached the provider is unknown.
 */
export type IdempotencyState =
  | ({ state: 'done' } & IdempotencyRecord)
  | { state: 'in_flight'; args_sha256: string; claimed_at: number };

/** The answer to a claim: the key is now ours, or what another call already holds under it. */
export type IdempotencyClaim = { claimed: true } | { claimed: false; existing: IdempotencyState };

/** A pending outbound write, waiting for a person's approval. Only the token's hash is stored. */
export interface Confirmation {
  token_sha256: string;
  /**
   * The public, non-secret name of the confirmation (`conf_<32 hex>`): it lets a person with
   * access to the store find and act on it; only the token authorizes a host. Empty for
   * confirmations stored before ids existed.
   */
  id: string;
  /** The bot whose bundle proposed the write; only that bot's bundle may confirm it. Empty when unknown. */
  bot: string;
  /** The digest of the bundle that proposed the write; a confirmation runs only with that bundle. Empty when unknown. */
  bundle_digest: string;
  /** Where the proposing bundle was loaded from (absolute path), when it came from a file. */
  bundle_path: string | null;
  tenant: string;
  approver: string;
  expires_at: number;
  preview_sha256: string;
  expert: string;
  tool: string;
  method_id: string;
  /** The call's params, cursor and idempotency key, as JSON. */
  call_json: string;
  /**
   * The preview a person is shown (the request as it would be sent, secrets replaced by
   * `[redacted]`), as canonical JSON; its sha256 is `preview_sha256`. Null for confirmations
   * stored before previews were kept.
   */
  preview_json?: string | null;
  created_at: number;
  /**
   * The automations whose proposal this is, oldest first (see events.ts): empty or absent when
   * a caller proposed it directly. Its `confirmation.executed` event names them.
   */
  automation_chain?: string[] | null;
}

/**
 * Where a confirmation stands: `pending` (waiting for a person), `executed` (a person approved it
 * and the write was sent; its outcome is in the audit log), `rejected` (a person refused it), or
 * `expired` (never decided before `expires_at`; computed when read, never stored).
 */
export type ConfirmationStatus = 'pending' | 'executed' | 'rejected' | 'expired';

/** The closed values of `ConfirmationStatus`, in the order `botc confirm list --status` names them. */
export const CONFIRMATION_STATUSES: readonly ConfirmationStatus[] = ['pending', 'executed', 'rejected', 'expired'];

/** A confirmation as the store holds it: its decision besides what was proposed. */
export interface StoredConfirmation extends Confirmation {
  /** When it was used up (approved or rejected; ms since the epoch), or null while undecided. */
  used_at: number | null;
  /** The decision stored: `pending` until a person approves (`executed`) or rejects it. */
  status: 'pending' | 'executed' | 'rejected';
  /** Who approved or rejected it, or null (undecided, or decided before this was recorded). */
  decided_by: string | null;
  /** The reason a person gave when rejecting it, or null. */
  reason: string | null;
}

/** The status of a stored confirmation at time `now` (ms since the epoch). */
export function confirmationStatus(row: StoredConfirmation, now: number): ConfirmationStatus {
  if (row.status === 'pending' && row.expires_at <= now) return 'expired';
  return row.status;
}

export type ConfirmationUse =
  | { ok: true; confirmation: Confirmation }
  | { ok: false; reason: 'unknown' | 'used' | 'expired' | 'tenant' | 'approver' };

/** The approver that lets any person of the tenant confirm. */
export const ANY_APPROVER = '*';

export type ReviewStatus = 'pending' | 'approved' | 'rejected';

export interface ReviewItem {
  id: string;
  tenant: string;
  provider: string;
  method_id: string;
  /** A stable key of the record at the provider, so re-imports upsert instead of duplicating. */
  record_key: string;
  record_json: string;
  record_sha256: string;
  status: ReviewStatus;
  batch_id: string;
  created_at: number;
  decided_by: string | null;
  decided_at: number | null;
}

export interface StoredCredential {
  id: string;
  tenant: string;
  provider: string;
  /** AES-256-GCM ciphertext, iv and tag, base64. */
  ciphertext: string;
  iv: string;
  tag: string;
  scopes: string[];
  created_at: number;
  revoked_at: number | null;
  /**
   * True when the ciphertext holds OAuth tokens (access and refresh token, as JSON) obtained by
   * `botc auth login`, rather than one static secret. Absent or false for static secrets.
   */
  oauth?: boolean;
  /** When the OAuth access token expires, ms since the epoch; null when unknown or not OAuth. */
  expires_at?: number | null;
}

export type CredentialSummary = Omit<StoredCredential, 'ciphertext' | 'iv' | 'tag'>;

/**
 * Everything the runtime must remember: audit log, pending confirmations, review queue,
 * idempotency records, credentials and sync cursors. SQLite and PostgreSQL implement it
 * with the same behaviour; every multi-step change is one transaction.
 */
export interface StateStore {
  readonly kind: 'sqlite' | 'postgres' | 'memory';

  /** The recorded outcome of a key; undefined when there is none (or only a claim in flight). */
  getIdempotency(tenant: string, methodId: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** Stores the record unless one exists; returns the record that is stored. */
  putIdempotency(tenant: string, methodId: string, key: string, record: IdempotencyRecord): Promise<IdempotencyRecord>;
  /** What the store holds for a key, claim or outcome. */
  readIdempotency(tenant: string, methodId: string, key: string): Promise<IdempotencyState | undefined>;
  /**
   * Claims a key before anything is sent, atomically across processes and machines (one row
   * per key, inserted only when absent): at most one caller gets `claimed: true`; the others
   * get what is stored (the claim in flight, or the recorded outcome).
   */
  claimIdempotency(tenant: string, methodId: string, key: string, claim: { args_sha256: string; claim_id: string; claimed_at: number }): Promise<IdempotencyClaim>;
  /** Records the outcome of our claim (`claim_id`); a claim that is not ours is left alone. */
  completeIdempotency(tenant: string, methodId: string, key: string, claimId: string, record: IdempotencyRecord): Promise<void>;
  /** Gives up our claim when the call definitely did not happen, so the key can be used again. */
  releaseIdempotency(tenant: string, methodId: string, key: string, claimId: string): Promise<void>;

  /** Appends an entry to its tenant's chain; returns its place in the chain. */
  appendAudit(entry: AuditInput): Promise<{ seq: number; hash: string }>;
  /**
   * `appendAudit` done synchronously, for stores that can (the memory store always; SQLite when
   * no statement of its file is queued in this process, so the entry never overtakes a write
   * queued before it). Returns the entry's place in the chain, or undefined when it appended
   * nothing and the caller must use `appendAudit` instead. Throws when the append fails, as
   * `appendAudit` rejects; the chain, its order and what is stored are exactly as `appendAudit`
   * would leave them. Absent (PostgreSQL) when the store has no synchronous path. A wrapper that
   * intercepts `appendAudit` must intercept or hide this too: callers prefer it.
   */
  appendAuditSync?: ((entry: AuditInput) => { seq: number; hash: string } | undefined) | undefined;
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;
  /**
   * Verifies the hash chain of every tenant with entries or a chain head (or only `tenant`), and
   * that each anchor (from a signed checkpoint) is still in the log with its hash.
   */
  verifyAudit(tenant?: string, anchors?: readonly AuditAnchor[]): Promise<AuditVerification>;
  /** Like `verifyAudit`, and on success the last entry of each tenant: what a checkpoint signs. */
  checkAudit(tenant?: string, anchors?: readonly AuditAnchor[]): Promise<AuditLogCheck>;

  createConfirmation(confirmation: Confirmation): Promise<void>;
  /** Reads a confirmation without using it, or undefined. */
  getConfirmation(tokenSha256: string): Promise<StoredConfirmation | undefined>;
  /** Reads a confirmation by its public id (`conf_…`), without using it, or undefined. */
  getConfirmationById(id: string): Promise<StoredConfirmation | undefined>;
  /**
   * Confirmations, oldest first: of one tenant when `tenant` is given, and only those whose
   * status at `now` (ms since the epoch) is `status` when it is given.
   */
  listConfirmations(filter: { tenant?: string; status?: ConfirmationStatus; now: number }): Promise<StoredConfirmation[]>;
  /**
   * Marks a confirmation used (`executed`, by `approver`), atomically and once: a second use, a
   * rejected one, another tenant, another approver or an expired token fail, and only one of two
   * concurrent uses succeeds. The use records the `confirmation.executed` event in the same
   * transaction (the write is sent right after; its outcome is in the audit log).
   */
  useConfirmation(tokenSha256: string, tenant: string, approver: string, now: number): Promise<ConfirmationUse>;
  /**
   * Marks a confirmation `rejected` by `approver` with `reason`, under the same conditions and as
   * atomically as `useConfirmation`: a rejected confirmation can never be used, nor a used one rejected.
   */
  rejectConfirmation(tokenSha256: string, tenant: string, approver: string, reason: string | null, now: number): Promise<ConfirmationUse>;

  /**
   * Queues imported records for review and saves the sync cursor in one transaction, so a
   * crash leaves both or neither. Records upsert by (tenant, provider, record_key): an unchanged
   * record keeps its decision, a changed one is pending again; both move to the new batch.
   */
  enqueueImport(items: ReviewItem[], cursor: { tenant: string; stream: string; value: string | null } | null, event?: EventInput): Promise<ReviewItem[]>;
  listReviews(filter: { tenant?: string; status?: ReviewStatus; batch_id?: string }): Promise<ReviewItem[]>;
  /**
   * Records a person's decision on a pending review item; undefined when it is not pending (or
   * unknown). An approval records the `review.approved` event in the same transaction.
   */
  decideReview(tenant: string, id: string, status: 'approved' | 'rejected', by: string, now: number): Promise<ReviewItem | undefined>;
  getCursor(tenant: string, stream: string): Promise<string | null>;

  putCredential(credential: StoredCredential): Promise<void>;
  getCredential(tenant: string, provider: string): Promise<StoredCredential | undefined>;
  listCredentials(tenant?: string): Promise<CredentialSummary[]>;
  revokeCredential(tenant: string, provider: string, now: number): Promise<boolean>;

  /**
   * Takes the refresh lock of one credential for `holder` until `now + ttlMs` (ms), atomically
   * across processes and machines: true when it is now ours, false while another holder's
   * unexpired lock stands. An expired lock (its holder stopped) is taken over.
   */
  claimRefreshLock(tenant: string, provider: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
  /** Gives up our refresh lock; another holder's lock is left alone. */
  releaseRefreshLock(tenant: string, provider: string, holder: string): Promise<void>;

  /**
   * Appends one internal event (events.ts) on its own: for state changes made of several
   * transactions, such as a sync run of several pages. Other events are recorded by the store
   * methods that make their state change. Refuses a nested or oversized payload.
   */
  appendEvent(event: EventInput, now: number): Promise<StoredEvent>;
  /** Events after a seq, oldest first (the order they committed in). */
  listEvents(filter: EventFilter): Promise<StoredEvent[]>;
  /**
   * Claims the handling of `event_id` by `automation` (insert if absent), atomically across
   * processes and machines: true for exactly one claimer, ever.
   */
  claimAutomationEvent(automation: string, eventId: string, tenant: string, now: number): Promise<boolean>;
  /** Records what became of a claimed handling: `proposed` with the confirmation id, or an error code. */
  settleAutomationEvent(automation: string, eventId: string, outcome: string, confirmationId: string | null): Promise<void>;
  /** The claims of an automation (or all), oldest first. */
  listAutomationClaims(automation?: string): Promise<AutomationClaim[]>;
  /** The seq of the last event an automation went past; 0 before its first run. */
  getAutomationCheckpoint(automation: string): Promise<number>;
  /** Moves an automation's checkpoint forward to `seq` (never back). */
  advanceAutomationCheckpoint(automation: string, seq: number): Promise<void>;

  close(): Promise<void>;
}
