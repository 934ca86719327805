import { randomUUID } from 'node:crypto';
import { canonicalJson, sha256 } from '../bundle/canonical.ts';
import type { IntegrationResult } from '../integration/types.ts';
import { newId } from '../state/sql-store.ts';
import type { ReviewItem, StateStore } from '../state/types.ts';
import { atPointer, idValue, type StreamDeclaration } from './declarations.ts';

/** One stream of one tenant: what `botc sync run` schedules. */
export interface SyncTarget {
  tenant: string;
  provider: string;
  stream: StreamDeclaration;
}

/**
 * Fetches one page of a stream: the integration's `import` method called with the stream's
 * stored cursor (null on the first run). The runtime's `syncPage` in production, a fake
 * provider in tests. Must not throw; a failure is an IntegrationResult error.
 */
export type PageFetcher = (target: SyncTarget, cursor: string | null, traceId: string) => Promise<IntegrationResult>;

export interface SyncOptions {
  /** Milliseconds since the epoch (tests move it to the next interval). */
  now?: () => number;
  /** Most pages one run reads before it stops (the rest waits for the next interval); default 100. */
  maxPages?: number;
}

export type SyncOutcome =
  | { status: 'not_due' }
  | { status: 'busy' }
  | { status: 'ok'; pages: number; records: number }
  | { status: 'failed'; pages: number; records: number; code: string; message: string };

/** The store key of a stream's cursor: one per (tenant, provider, stream). */
export const streamCursorKey = (provider: string, stream: string): string => `sync:${provider}:${stream}`;
/** The store namespace of a stream's run claims (one row per interval). */
const runScope = (provider: string, stream: string): string => `sync-run:${provider}:${stream}`;

/**
 * Runs one stream if it is due, at most once per interval and never twice at once, across
 * every process and machine on the store (docs/inbound.md):
 *
 * - Time is cut into slots of `interval_seconds`; a run claims its slot's row in the store
 *   (insert-if-absent, the idempotency table), so one worker wins each slot and the others get
 *   `not_due`. A slot's row, once written, is kept: the stream ran for that interval.
 * - A run of the previous slot still in flight and younger than one interval makes this slot
 *   `busy` (it is tried again by the next worker pass); an older one is taken as a crashed
 *   worker, and the stream goes on from the cursor it last committed.
 * - Each page's records (upserted by their declared record id) and the cursor that follows
 *   them are committed in ONE transaction into the review queue, so a crash at any point
 *   leaves the cursor exactly at the last committed page: nothing skipped, nothing doubled.
 * - When the provider says there is no next page, the cursor stays at the last page's start,
 *   so the next run reads that page again (records upsert unchanged) and then what is new.
 * - A failure is audited (`sync.failed`) and waits for the next interval: no retry here
 *   beyond the method's declared retry policy, which the fetcher applies.
 */
export async function runStream(store: StateStore, target: SyncTarget, fetchPage: PageFetcher, options: SyncOptions = {}): Promise<SyncOutcome> {
  const now = options.now ?? Date.now;
  const maxPages = options.maxPages ?? 100;
  const { tenant, provider, stream } = target;
  const intervalMs = stream.interval_seconds * 1000;
  const started = now();
  const slot = Math.floor(started / intervalMs);
  const scope = runScope(provider, stream.name);
  const slotKey = `slot:${slot}`;
  // Both reads at once: a worker looks at every stream each interval.
  const [existing, previous] = await Promise.all([store.readIdempotency(tenant, scope, slotKey), store.readIdempotency(tenant, scope, `slot:${slot - 1}`)]);
  if (existing) return { status: 'not_due' };
  if (previous?.state === 'in_flight' && started - previous.claimed_at < intervalMs) return { status: 'busy' };
  const claimId = randomUUID();
  const claim = await store.claimIdempotency(tenant, scope, slotKey, { args_sha256: '', claim_id: claimId, claimed_at: started });
  if (!claim.claimed) return { status: 'not_due' };

  const traceId = randomUUID();
  const cursorKey = streamCursorKey(provider, stream.name);
  let pages = 0;
  let records = 0;
  let outcome: SyncOutcome;
  try {
    let cursor = await store.getCursor(tenant, cursorKey);
    for (;;) {
      const result = await fetchPage(target, cursor, traceId);
      if (!result.ok) {
        outcome = { status: 'failed', pages, records, code: result.error.code, message: result.error.message };
        break;
      }
      const items = pageItems(target, result.data, now(), traceId);
      if (typeof items === 'string') {
        outcome = { status: 'failed', pages, records, code: 'OUTPUT_INVALID', message: items };
        break;
      }
      const next = result.meta.next_cursor;
      // The page and the cursor after it, together: a crash leaves both or neither.
      await store.enqueueImport(items, { tenant, stream: cursorKey, value: next ?? cursor });
      pages++;
      records += items.length;
      if (next === null || next === cursor || pages >= maxPages) {
        outcome = { status: 'ok', pages, records };
        break;
      }
      cursor = next;
    }
  } catch (error) {
    outcome = { status: 'failed', pages, records, code: 'INTERNAL_ERROR', message: error instanceof Error ? error.message.slice(0, 200) : 'unknown error' };
  }
  await store.completeIdempotency(tenant, scope, slotKey, claimId, {
    args_sha256: '',
    result: { ok: true, data: { ...outcome }, meta: { provider_request_id: null, latency_ms: now() - started, next_cursor: null, rate_limit_remaining: null, cost_units: null, provenance: { source_type: 'sync', source_ref: cursorKey } } },
  });
  if (outcome.status === 'ok') await store.appendEvent({ tenant, type: 'sync.completed', subject: `${provider}:${stream.name}:${slot}`, payload: { provider, stream: stream.name, method_id: stream.method_id, pages, records }, caused_by: null }, now());
  await store.appendAudit({
    tenant,
    action: outcome.status === 'ok' ? 'sync.completed' : 'sync.failed',
    actor: 'runtime',
    integration: provider,
    method_id: stream.method_id,
    outcome: outcome.status === 'ok' ? (records > 0 ? 'pending' : 'ok') : outcome.code,
    trace_id: traceId,
    detail: { stream: stream.name, slot, pages, records, ...(outcome.status === 'failed' ? { error: outcome.message } : {}) },
  });
  return outcome;
}

/** The review items of one page, keyed by the declared record id; a message when a record has none. */
function pageItems(target: SyncTarget, data: unknown, at: number, traceId: string): ReviewItem[] | string {
  const list = data !== null && typeof data === 'object' && !Array.isArray(data) && Array.isArray((data as { records?: unknown }).records) ? ((data as { records: unknown[] }).records) : undefined;
  if (!list) return `the page of stream ${target.stream.name} has no \`records\` list`;
  const batch = `batch_sync_${traceId.replace(/-/g, '')}`;
  const items: ReviewItem[] = [];
  const seen = new Set<string>();
  for (const [index, record] of list.entries()) {
    const id = idValue(atPointer(record, target.stream.record_id));
    if (id === undefined) return `record ${index} of stream ${target.stream.name} has no id at ${target.stream.record_id}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const json = canonicalJson(record);
    items.push({
      id: newId('rev'),
      tenant: target.tenant,
      provider: target.provider,
      method_id: target.stream.method_id,
      record_key: id,
      record_json: json,
      record_sha256: sha256(json),
      status: 'pending',
      batch_id: batch,
      created_at: at,
      decided_by: null,
      decided_at: null,
    });
  }
  return items;
}
