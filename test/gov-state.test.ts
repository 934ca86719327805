/**
 * The idempotency claim of every StateStore (SQLite, PostgreSQL, in memory): of many concurrent
 * claims of one key, over several connections, exactly one wins; only the winner completes or
 * releases its claim; a completed key holds its outcome.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/state/memory.ts';
import type { IntegrationResult } from '../src/integration/types.ts';
import type { StateStore } from '../src/state/types.ts';
import { describeStores } from './helpers/stores.ts';

const RESULT = { ok: true, data: { n: 1 }, meta: { provider_request_id: null, latency_ms: 0, next_cursor: null, rate_limit_remaining: null, cost_units: null, provenance: { source_type: 't', source_ref: null } } } as IntegrationResult;

async function claimOnce(stores: StateStore[]): Promise<void> {
  const claims = await Promise.all(
    Array.from({ length: 12 }, (_, i) => stores[i % stores.length]!.claimIdempotency('acme', 'm.v1', 'k', { args_sha256: 'a', claim_id: `c${i}`, claimed_at: 1000 + i })),
  );
  const winners = claims.flatMap((c, i) => (c.claimed ? [i] : []));
  expect(winners).toHaveLength(1);
  for (const c of claims) if (!c.claimed) expect(c.existing).toMatchObject({ state: 'in_flight', args_sha256: 'a' });
  const store = stores[0]!;
  const winner = `c${winners[0]}`;
  // Someone else's claim id changes nothing.
  await store.completeIdempotency('acme', 'm.v1', 'k', 'not-mine', { args_sha256: 'a', result: RESULT });
  await store.releaseIdempotency('acme', 'm.v1', 'k', 'not-mine');
  expect(await store.readIdempotency('acme', 'm.v1', 'k')).toMatchObject({ state: 'in_flight' });
  expect(await store.getIdempotency('acme', 'm.v1', 'k')).toBeUndefined();
  await store.completeIdempotency('acme', 'm.v1', 'k', winner, { args_sha256: 'a', result: RESULT });
  expect(await store.readIdempotency('acme', 'm.v1', 'k')).toEqual({ state: 'done', args_sha256: 'a', result: RESULT });
  expect(await store.claimIdempotency('acme', 'm.v1', 'k', { args_sha256: 'a', claim_id: 'late', claimed_at: 2000 })).toEqual({ claimed: false, existing: { state: 'done', args_sha256: 'a', result: RESULT } });
  // A released claim frees the key.
  expect(await store.claimIdempotency('acme', 'm.v1', 'k2', { args_sha256: 'b', claim_id: 'r1', claimed_at: 1 })).toEqual({ claimed: true });
  await store.releaseIdempotency('acme', 'm.v1', 'k2', 'r1');
  expect(await store.readIdempotency('acme', 'm.v1', 'k2')).toBeUndefined();
  expect(await store.claimIdempotency('acme', 'm.v1', 'k2', { args_sha256: 'b', claim_id: 'r2', claimed_at: 2 })).toEqual({ claimed: true });
}

describe('idempotency claims (memory)', () => {
  it('exactly one of concurrent claims of one key wins; only the winner completes or releases it', async () => {
    await claimOnce([new MemoryStore()]);
  });
});

describeStores('idempotency claims', (backend) => {
  it('exactly one of concurrent claims of one key, over three connections, wins; only the winner completes or releases it', async () => {
    const db = await backend.open();
    try {
      await claimOnce([await db.connect(), await db.connect(), await db.connect()]);
    } finally {
      await db.dispose();
    }
  });
});
