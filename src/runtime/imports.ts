import type { IntegrationResult, ResultMeta } from '../integration/types.ts';
import { newId } from '../state/sql-store.ts';
import type { ReviewItem } from '../state/types.ts';
import { elapsed, type Invocation } from './executor.ts';
import { importedRecords } from './governance.ts';
import type { RuntimeParts } from './parts.ts';
import { emptyMeta, errorResult, okResult } from './results.ts';

/**
 * An import's records wait in the review queue, untrusted, until a person approves them: the
 * records and the stream's cursor are saved in one transaction, the batch is audited
 * (`import`), and the caller gets REVIEW_REQUIRED with `meta.review` instead of the records.
 */
export async function queueImport(parts: RuntimeParts, invocation: Invocation, result: IntegrationResult & { ok: true }): Promise<IntegrationResult> {
  const { plan, tenant, traceId, started } = invocation;
  const batchId = newId('batch');
  const now = parts.now();
  const items: ReviewItem[] = importedRecords(result.data).map((r) => ({
    id: newId('rev'),
    tenant,
    provider: plan.spec.provider,
    method_id: plan.spec.method_id,
    record_key: r.key,
    record_json: r.json,
    record_sha256: r.sha256,
    status: 'pending',
    batch_id: batchId,
    created_at: now,
    decided_by: null,
    decided_at: null,
  }));
  // The records and the sync cursor are saved together: after a crash they still agree.
  const queued = await parts.store.enqueueImport(items, { tenant, stream: plan.spec.method_id, value: result.meta.next_cursor });
  await parts.store.appendAudit({
    tenant, action: 'import', actor: 'runtime', integration: plan.spec.provider, method_id: plan.spec.method_id, outcome: 'pending', trace_id: traceId,
    detail: { batch_id: batchId, records: items.length, queued: queued.length },
  });
  const meta: ResultMeta = { ...result.meta, latency_ms: elapsed(started) };
  const pending = queued.filter((q) => q.status === 'pending').length;
  meta['review'] = { batch_id: batchId, records: items.length, pending };
  // A re-import absorbs records already decided: only the pending ones wait for a person.
  return errorResult('REVIEW_REQUIRED', `${pending} of ${items.length} imported record(s) wait for review (batch ${batchId}); they are untrusted until a person approves them`, meta);
}

/**
 * An import's result with its records held back: REVIEW_REQUIRED, with how many records there
 * are. Used for a dry run (nothing is queued) and for a stored import result replayed by key.
 */
export function withheldImport(result: IntegrationResult & { ok: true }): IntegrationResult {
  const records = importedRecords(result.data).length;
  const meta: ResultMeta = { ...result.meta };
  const dryRun = meta['dry_run'] === true;
  meta['review'] = { batch_id: null, records, pending: 0, queued: false };
  const what = dryRun ? `dry run: ${records} imported record(s) would wait for review; nothing was queued` : `${records} imported record(s) are not reviewed`;
  return errorResult('REVIEW_REQUIRED', `${what}, and imported records reach the caller only after a person approves them`, meta);
}

/** Records of an import batch, once reviewed: REVIEW_REQUIRED while any is pending, NOT_FOUND for an unknown batch. */
export async function reviewedRecords(parts: RuntimeParts, tenant: string, batchId: string): Promise<IntegrationResult> {
  const items = await parts.store.listReviews({ tenant, batch_id: batchId });
  const meta = emptyMeta('botc', `review:${batchId}`);
  if (items.length === 0) return errorResult('NOT_FOUND', `no import batch ${batchId}`, meta);
  const pending = items.filter((i) => i.status === 'pending').length;
  if (pending > 0) return errorResult('REVIEW_REQUIRED', `${pending} record(s) of batch ${batchId} are not reviewed yet`, meta);
  const records = items.filter((i) => i.status === 'approved').map((i) => JSON.parse(i.record_json) as unknown);
  return okResult({ batch_id: batchId, records, rejected: items.length - records.length }, meta);
}
