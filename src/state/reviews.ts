import type { ReviewItem, StateStore } from './types.ts';

/**
 * A person's decision on an imported record: approved records become trusted, rejected ones
 * never are. Only pending records can be decided, and every decision is audited.
 */
export async function decideReview(
  store: StateStore,
  request: { tenant: string; id: string; decision: 'approved' | 'rejected'; reviewer: string; now?: number },
): Promise<ReviewItem | undefined> {
  const item = await store.decideReview(request.tenant, request.id, request.decision, request.reviewer, request.now ?? Date.now());
  await store.appendAudit({
    tenant: request.tenant,
    action: request.decision === 'approved' ? 'review.approved' : 'review.rejected',
    actor: `user:${request.reviewer}`,
    integration: item?.provider ?? null,
    method_id: item?.method_id ?? null,
    outcome: item ? 'ok' : 'NOT_FOUND',
    trace_id: null,
    detail: { review_id: request.id, record_key: item?.record_key ?? null, batch_id: item?.batch_id ?? null },
  });
  return item;
}
