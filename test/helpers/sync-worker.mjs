// One `botc sync` worker in a process of its own, for test/inbound-sync.test.ts. Plain ESM
// over lib/ (`npm run build:lib`). Runs one stream once against a fake provider and prints its
// outcome as one JSON line; the test may SIGKILL it at any moment.
//
// Environment: SYNC_LIB (lib/ folder), SYNC_STATE (store URL or SQLite file), SYNC_ROOT,
// SYNC_NOW (ms since the epoch), SYNC_TOTAL (records the provider holds), SYNC_PAGE (per page),
// SYNC_DELAY_MS (most the provider waits before each answer).
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const env = process.env;
const { openStore } = await import(pathToFileURL(path.join(env.SYNC_LIB, 'state/open.js')).href);
const { runStream } = await import(pathToFileURL(path.join(env.SYNC_LIB, 'inbound/sync.js')).href);
const total = Number(env.SYNC_TOTAL);
const size = Number(env.SYNC_PAGE);
const delay = Number(env.SYNC_DELAY_MS ?? '0');
const store = await openStore(env.SYNC_STATE, env.SYNC_ROOT);
const target = { tenant: 'acme', provider: 'fake', stream: { name: 'items', method_id: 'fake.items.import.v1', interval_seconds: 60, record_id: '/id' } };

/** The fake provider: records r0..r<total-1>, the cursor is the offset of the page. */
async function fetchPage(_target, cursor) {
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * delay)));
  const offset = cursor === null ? 0 : Number(cursor);
  const records = [];
  for (let i = offset; i < Math.min(total, offset + size); i++) records.push({ id: `r${i}`, n: i });
  const next = offset + size < total ? String(offset + size) : null;
  return { ok: true, data: { records }, meta: { provider_request_id: null, latency_ms: 0, next_cursor: next, rate_limit_remaining: null, cost_units: null, provenance: { source_type: 'fake', source_ref: null } } };
}

process.stdout.write("ready\n");
const outcome = await runStream(store, target, fetchPage, { now: () => Number(env.SYNC_NOW) });
process.stdout.write(`${JSON.stringify(outcome)}\n`);
await store.close();
