/**
 * Scheduled sync (src/inbound/sync.ts): a stream's pages and cursor committed together into the
 * review queue, one run per interval across processes, failures left for the next interval,
 * and SIGKILL at any point of a run losing and doubling nothing, on SQLite and PostgreSQL.
 * The multi-process tests run test/helpers/sync-worker.mjs over lib/ (`npm run build:lib`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import type { IntegrationResult } from '../src/integration/types.ts';
import { runStream, streamCursorKey, type PageFetcher, type SyncTarget } from '../src/inbound/sync.ts';
import type { SqlStore } from '../src/state/sql-store.ts';
import { describeStores, type TestDb } from './helpers/stores.ts';
import { tier } from './helpers/tier.ts';

const LIB = fileURLToPath(new URL('../lib/', import.meta.url));
const WORKER = fileURLToPath(new URL('./helpers/sync-worker.mjs', import.meta.url));
const INTERVAL_MS = 60_000;
const BASE = 1_800_000_000_000 - (1_800_000_000_000 % INTERVAL_MS);
const target: SyncTarget = { tenant: 'acme', provider: 'fake', stream: { name: 'items', method_id: 'fake.items.import.v1', interval_seconds: 60, record_id: '/id' } };

beforeAll(() => {
  if (!existsSync(`${LIB}inbound/sync.js`)) throw new Error('lib/ is missing or stale: run `npm run build:lib` first');
});

const page = (records: unknown[], next: string | null): IntegrationResult => ({
  ok: true,
  data: { records },
  meta: { provider_request_id: null, latency_ms: 0, next_cursor: next, rate_limit_remaining: null, cost_units: null, provenance: { source_type: 'fake', source_ref: null } },
});

/** A fake provider of `records()` in pages of `size`; the cursor is the page's offset. */
function fakeProvider(records: () => { id: string; n: number }[], size: number, fail?: (offset: number) => boolean): PageFetcher & { calls: (string | null)[] } {
  const calls: (string | null)[] = [];
  const fetch = async (_t: SyncTarget, cursor: string | null): Promise<IntegrationResult> => {
    calls.push(cursor);
    const offset = cursor === null ? 0 : Number(cursor);
    if (fail?.(offset)) return { ok: false, error: { code: 'PROVIDER_UNAVAILABLE', message: 'the fake provider is down', provider_code: null, http_status: 503, retriable: true }, meta: page([], null).meta };
    const all = records();
    return page(all.slice(offset, offset + size), offset + size < all.length ? String(offset + size) : null);
  };
  return Object.assign(fetch, { calls });
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ id: `r${from + i}`, n: from + i }));

function runWorker(db: TestDb, now: number, options: { total: number; page: number; delayMs: number; killAfterMs?: number }): Promise<{ killed: boolean; outcome?: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER], {
      env: { PATH: process.env['PATH'] ?? '', SYNC_LIB: LIB, SYNC_STATE: db.url, SYNC_ROOT: process.cwd(), SYNC_NOW: String(now), SYNC_TOTAL: String(options.total), SYNC_PAGE: String(options.page), SYNC_DELAY_MS: String(options.delayMs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let killed = false;
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (options.killAfterMs !== undefined && out.startsWith('ready\n') && !killed) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (signal === 'SIGKILL') resolve({ killed: true });
      else if (code === 0 && line) resolve({ killed: false, outcome: JSON.parse(line) as Record<string, unknown> });
      else reject(new Error(`worker exited ${code}: ${err.slice(0, 500)}`));
    });
  });
}

describeStores('sync runs', (backend) => {
  let db: TestDb;
  let store: SqlStore;
  beforeEach(async () => {
    db = await backend.open();
    store = await db.connect();
  });
  afterEach(async () => {
    await db.dispose();
  });

  it('commits every page with its cursor, once per interval; the next interval reads only what is new', async () => {
    let records = range(0, 12);
    const provider = fakeProvider(() => records, 5);
    expect(await runStream(store, target, provider, { now: () => BASE })).toEqual({ status: 'ok', pages: 3, records: 12 });
    expect(await runStream(store, target, provider, { now: () => BASE + 1000 })).toEqual({ status: 'not_due' });
    expect(await store.getCursor('acme', streamCursorKey('fake', 'items'))).toBe('10');
    records = range(0, 17);
    expect(await runStream(store, target, provider, { now: () => BASE + INTERVAL_MS })).toEqual({ status: 'ok', pages: 2, records: 7 });
    const reviews = await store.listReviews({ tenant: 'acme' });
    expect(reviews.map((r) => r.record_key).sort()).toEqual(range(0, 17).map((r) => r.id).sort());
    expect(reviews.every((r) => r.status === 'pending' && r.method_id === 'fake.items.import.v1')).toBe(true);
    const audit = await store.listAudit({ tenant: 'acme', action: 'sync.completed' });
    expect(audit).toHaveLength(2);
  });

  it('a failure is audited, keeps the pages already committed, and waits for the next interval', async () => {
    let down = true;
    const provider = fakeProvider(() => range(0, 12), 5, (offset) => down && offset === 5);
    expect(await runStream(store, target, provider, { now: () => BASE })).toMatchObject({ status: 'failed', pages: 1, records: 5, code: 'PROVIDER_UNAVAILABLE' });
    expect(await store.getCursor('acme', streamCursorKey('fake', 'items'))).toBe('5');
    // No retry within the interval.
    expect(await runStream(store, target, provider, { now: () => BASE + 5000 })).toEqual({ status: 'not_due' });
    expect(provider.calls).toEqual([null, '5']);
    const failed = await store.listAudit({ tenant: 'acme', action: 'sync.failed' });
    expect(failed).toMatchObject([{ outcome: 'PROVIDER_UNAVAILABLE', integration: 'fake', method_id: 'fake.items.import.v1' }]);
    down = false;
    expect(await runStream(store, target, provider, { now: () => BASE + INTERVAL_MS })).toEqual({ status: 'ok', pages: 2, records: 7 });
    expect((await store.listReviews({ tenant: 'acme' })).length).toBe(12);
  });

  it('a run still in flight makes the next interval busy; a run older than one interval is taken as crashed', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: PageFetcher = async () => {
      await gate;
      return page([{ id: 'a', n: 0 }], null);
    };
    const first = runStream(store, target, slow, { now: () => BASE + INTERVAL_MS - 10 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const other = await db.connect();
    expect(await runStream(other, target, fakeProvider(() => range(0, 3), 5), { now: () => BASE + INTERVAL_MS + 10 })).toEqual({ status: 'busy' });
    expect(await runStream(other, target, fakeProvider(() => range(0, 3), 5), { now: () => BASE + 2 * INTERVAL_MS })).toMatchObject({ status: 'ok' });
    release();
    expect(await first).toMatchObject({ status: 'ok' });
  });

  // The race is the same with two processes as with four.
  it('worker processes started at once (2; 4 with BOTC_FULL=1): one runs the stream, the others stand by', async () => {
    const outcomes = await Promise.all(Array.from({ length: tier(2, 4) }, () => runWorker(db, BASE, { total: 20, page: 4, delayMs: 5 })));
    const statuses = outcomes.map((o) => o.outcome?.['status']);
    expect(statuses.filter((s) => s === 'ok')).toHaveLength(1);
    expect(statuses.every((s) => s === 'ok' || s === 'not_due')).toBe(true);
    expect((await store.listReviews({ tenant: 'acme' })).length).toBe(20);
    expect((await store.listAudit({ tenant: 'acme', action: 'sync.completed' })).length).toBe(1);
  }, 20_000);

  it('SIGKILL at any point of a run (waiting for the provider, between pages, inside a commit) skips nothing and doubles nothing', async () => {
    const total = 60;
    let slot = 0;
    let kills = 0;
    // Seven random kill points with BOTC_FULL=1; three in the fast tier.
    for (let i = 0; i < tier(3, 7); i++) {
      const result = await runWorker(db, BASE + slot++ * INTERVAL_MS, { total, page: 4, delayMs: 12, killAfterMs: Math.floor(Math.random() * 60) });
      if (result.killed) kills++;
    }
    // Restarted without interruption until a run ends: it goes on from the last committed page.
    let last: Record<string, unknown> | undefined;
    for (let i = 0; i < 5 && last?.['status'] !== 'ok'; i++) last = (await runWorker(db, BASE + slot++ * INTERVAL_MS, { total, page: 4, delayMs: 0 })).outcome;
    expect(last).toMatchObject({ status: 'ok' });
    expect(kills).toBeGreaterThan(0);
    const reviews = await store.listReviews({ tenant: 'acme' });
    const keys = reviews.map((r) => r.record_key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(range(0, total).map((r) => r.id).sort());
    for (const review of reviews) expect(JSON.parse(review.record_json)).toEqual({ id: review.record_key, n: Number(review.record_key.slice(1)) });
    expect(await store.verifyAudit('acme')).toMatchObject({ ok: true });
  }, 30_000);
});
