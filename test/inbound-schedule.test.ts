/**
 * Long-running sync workers (src/inbound/scheduler.ts, src/inbound/pg-scheduler.ts): the
 * in-process scheduler on SQLite, the shared pg-boss job queue on PostgreSQL with several worker
 * processes against a loopback fake provider, a clean stop on SIGTERM, and `botc sync run` as a
 * worker. The load test (8 workers, 20 tenants × 3 streams) runs with BOTC_LOAD_TEST=1.
 * The worker processes run test/helpers/schedule-worker.mjs over lib/ (`npm run build:lib`).
 */
import { FULL } from './helpers/tier.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { runLocalScheduler } from '../src/inbound/scheduler.ts';
import { openStreamLocks } from '../src/inbound/stream-lock.ts';
import type { PageFetcher, SyncOutcome, SyncTarget } from '../src/inbound/sync.ts';
import { main } from '../src/cli/main.ts';
import { PG_URL, postgresBackend, sqliteBackend, type TestDb } from './helpers/stores.ts';
import { tempDir } from './helpers/workspace.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIB = fileURLToPath(new URL('../lib/', import.meta.url));
const WORKER = fileURLToPath(new URL('./helpers/schedule-worker.mjs', import.meta.url));
const BOTC = path.join(REPO_ROOT, 'bin', 'botc.js');

beforeAll(() => {
  if (!existsSync(`${LIB}inbound/pg-scheduler.js`)) throw new Error('lib/ is missing or stale: run `npm run build:lib` first');
});

const meta = { provider_request_id: null, latency_ms: 0, next_cursor: null, rate_limit_remaining: null, cost_units: null, provenance: { source_type: 'fake', source_ref: null } };
const stream = (name: string, seconds: number) => ({ name, method_id: `fake.${name}.import.v1`, interval_seconds: seconds, record_id: '/id' });

/** One request the fake provider answered: which stream, when it came, when it was answered. */
interface Hit {
  tenant: string;
  stream: string;
  worker: string;
  trace: string;
  start: number;
  end: number;
}

/** The loopback fake provider: one page per run, answered after 20-150 ms, every request recorded. */
async function fakeProvider(): Promise<{ url: string; hits: Hit[]; server: Server }> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const start = Date.now();
    setTimeout(() => {
      const tenant = url.searchParams.get('tenant')!;
      const name = url.searchParams.get('stream')!;
      hits.push({ tenant, stream: name, worker: url.searchParams.get('worker')!, trace: url.searchParams.get('trace')!, start, end: Date.now() });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ records: [{ id: `${name}-${start}` }] }));
    }, 20 + Math.floor(Math.random() * 130));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

function startWorker(db: TestDb, targets: SyncTarget[], providerUrl: string): { child: ChildProcess; ready: Promise<void>; exited: Promise<{ code: number | null; out: string; err: string }> } {
  const child = spawn(process.execPath, [WORKER], {
    env: { PATH: process.env['PATH'] ?? '', SCHED_LIB: LIB, SCHED_STATE: db.url, SCHED_ROOT: REPO_ROOT, SCHED_TARGETS: JSON.stringify(targets), SCHED_PROVIDER: providerUrl, SCHED_POLL: '0.5', SCHED_RESEED_MS: '5000', ...(process.env['SCHED_PROFILE'] ? { SCHED_PROFILE: '1' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    child.once('exit', () => reject(new Error(`worker exited early: ${err.slice(0, 500)}`)));
  });
  const exited = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
  return { child, ready, exited };
}

/** What a load run measured (printed as one line). */
interface LoadFigures {
  workers: number;
  streams: number;
  interval_s: number;
  seconds: number;
  runs: number;
  intervals: number;
  missed_inside: number;
  max_lag_ms: number;
  mean_lag_ms: number;
  workers_that_ran: number;
  outcomes: Record<string, number>;
}

/**
 * Runs `workers` worker processes on PostgreSQL for `durationMs` over `tenants` × `perTenant`
 * streams every `seconds`, stops them with SIGTERM, and checks the schedule: every stream ran
 * once in every interval of the window (one fewer or more at its two edges), no two runs of a
 * stream overlapped, every run claimed a slot of its own, every worker stopped cleanly, and
 * every tenant's audit chain verifies.
 */
async function loadRun(options: { workers: number; tenants: number; perTenant: number; seconds: number; durationMs: number; killAfterMs?: number; warmupSlots?: number }): Promise<LoadFigures> {
  const db = await postgresBackend.open();
  const provider = await fakeProvider();
  const store = await db.connect();
  const [{ schema }] = await db.raw.all<{ schema: string }>('SELECT current_schema() AS schema');
  const targets: SyncTarget[] = [];
  for (let t = 0; t < options.tenants; t++) for (let s = 0; s < options.perTenant; s++) targets.push({ tenant: `t${t}`, provider: 'fake', stream: stream(`s${s}`, options.seconds) });
  const workers = Array.from({ length: options.workers }, () => startWorker(db, targets, provider.url));
  try {
    await Promise.all(workers.map((w) => w.ready));
    const from = Date.now();
    let killedAt: number | undefined;
    let killed = -1;
    if (options.killAfterMs !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, options.killAfterMs));
      killedAt = Date.now();
      // The worker that ran the latest run: it holds jobs and perhaps a run right now.
      const latest = provider.hits.reduce<Hit | undefined>((a, h) => (!a || h.start > a.start ? h : a), undefined);
      killed = Math.max(0, workers.findIndex((w) => String(w.child.pid) === latest?.worker));
      workers[killed]!.child.kill('SIGKILL');
    }
    await new Promise((resolve) => setTimeout(resolve, options.durationMs - (options.killAfterMs ?? 0)));
    const to = Date.now();
    for (const w of workers) w.child.kill('SIGTERM');
    const exits = await Promise.all(workers.map((w) => w.exited));
    if (process.env['SCHED_PROFILE']) for (const exit of exits) console.log(exit.err);
    // What the workers' runs found: `ok` ran, `not_due` the interval was run already, `busy` the previous run was still going.
    const outcomes: Record<string, number> = {};
    for (const exit of exits) {
      for (const l of exit.out.split('\n').filter((x) => x.startsWith('{'))) {
        const status = (JSON.parse(l) as { status: string }).status;
        outcomes[status] = (outcomes[status] ?? 0) + 1;
      }
    }
    for (const exit of exits.filter((_e, i) => i !== killed)) {
      expect(exit.code, exit.err).toBe(0);
      expect(exit.out.trim().endsWith('stopped')).toBe(true);
    }
    const intervalMs = options.seconds * 1000;
    const firstSlot = Math.floor(from / intervalMs);
    const lastSlot = Math.floor(to / intervalMs);
    // Every run the provider saw is one audited completed run that claimed a slot of its own.
    const slotOf = new Map<string, number>();
    for (let t = 0; t < options.tenants; t++) {
      const audit = await store.listAudit({ tenant: `t${t}`, action: 'sync.completed' });
      // (A run killed mid-request is in neither: the provider may still answer the dead socket.)
      if (killedAt === undefined) expect(audit.length).toBe(provider.hits.filter((h) => h.tenant === `t${t}`).length);
      const slots = audit.map((a) => `${(a.detail as { stream: string }).stream}:${(a.detail as { slot: number }).slot}`);
      expect(new Set(slots).size).toBe(slots.length);
      for (const a of audit) slotOf.set(a.trace_id!, (a.detail as { slot: number }).slot);
      expect(await store.verifyAudit(`t${t}`)).toMatchObject({ ok: true });
    }
    let maxLag = 0;
    let lagSum = 0;
    let lagged = 0;
    let runs = 0;
    const missed: string[] = [];
    for (const target of targets) {
      const hits = provider.hits.filter((h) => h.tenant === target.tenant && h.stream === target.stream.name && slotOf.has(h.trace)).sort((a, b) => a.start - b.start);
      // Never two runs of one stream at once.
      for (let i = 1; i < hits.length; i++) expect(hits[i]!.start).toBeGreaterThanOrEqual(hits[i - 1]!.end);
      const ran = new Set<number>();
      for (const h of hits) {
        const slot = slotOf.get(h.trace)!;
        ran.add(slot);
        if (slot < firstSlot || slot > lastSlot) continue;
        runs++;
        // How late a run began after its interval did (the first interval's run starts with the workers).
        if (slot === firstSlot) continue;
        const lag = h.start - slot * intervalMs;
        maxLag = Math.max(maxLag, lag);
        lagSum += lag;
        lagged++;
      }
      // Every interval of the window ran; the first (the workers start in it) and the last (cut
      // off by the stop) are its edges.
      // A killed worker's streams are taken over within the queue's reseed period (5 s here).
      const killedSlot = killedAt === undefined ? Infinity : Math.floor(killedAt / intervalMs);
      const excused = (slot: number) => slot >= killedSlot && slot <= killedSlot + Math.ceil(5_000 / intervalMs) + 1;
      // `warmupSlots` more after the first are not required either: the workers' first runs, all due at once as they start, may still be going.
      for (let slot = firstSlot + 1 + (options.warmupSlots ?? 0); slot < lastSlot; slot++) if (!ran.has(slot) && !excused(slot)) missed.push(`${target.tenant}/${target.stream.name}@${slot - firstSlot}`);
    }
    const figures = {
      workers: options.workers,
      streams: targets.length,
      interval_s: options.seconds,
      seconds: Math.round((to - from) / 1000),
      runs,
      intervals: (lastSlot - firstSlot + 1) * targets.length,
      missed_inside: missed.length,
      max_lag_ms: maxLag,
      mean_lag_ms: Math.round(lagSum / Math.max(1, lagged)),
      workers_that_ran: new Set(provider.hits.map((h) => h.worker)).size,
      outcomes,
    };
    console.log(`sync schedule: ${JSON.stringify(figures)}`);
    expect(missed).toEqual([]);
    return figures;
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    provider.server.close();
    await db.dispose();
    await dropQueueSchema(schema);
  }
}

/** Drops the job queue's schema of a test store (its own schema is dropped by `dispose`). */
async function dropQueueSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema}_jobs CASCADE`).catch(() => undefined);
  await client.end();
}

describe('the in-process scheduler (SQLite)', () => {
  it('runs each stream at once and then at the start of every interval, one run at a time, and stops when told', async () => {
    const db = await sqliteBackend.open();
    try {
      const store = await db.connect();
      const starts = new Map<string, number[]>();
      let running = 0;
      let overlap = false;
      const fetchPage: PageFetcher = async (t) => {
        if (running++ > 1) overlap = true;
        starts.set(t.stream.name, [...(starts.get(t.stream.name) ?? []), Date.now()]);
        await new Promise((resolve) => setTimeout(resolve, 30));
        running--;
        return { ok: true, data: { records: [{ id: `${t.stream.name}-${Date.now()}` }] }, meta };
      };
      const targets: SyncTarget[] = [{ tenant: 'acme', provider: 'fake', stream: stream('a', 1) }, { tenant: 'acme', provider: 'fake', stream: stream('b', 1) }];
      const controller = new AbortController();
      const outcomes: SyncOutcome[] = [];
      const started = Date.now();
      const done = runLocalScheduler({ store, targets, fetchPage, signal: controller.signal, onOutcome: (_t, o) => outcomes.push(o) });
      await new Promise((resolve) => setTimeout(resolve, 2_600));
      controller.abort();
      await done;
      const stoppedIn = Date.now() - started - 2_600;
      expect(stoppedIn).toBeLessThan(1_000);
      expect(overlap).toBe(false);
      for (const name of ['a', 'b']) {
        const list = starts.get(name)!;
        // At start, then at the start of each of the next seconds (timers on a busy machine may
        // be late, never early, and never run an interval twice).
        const intervals = Math.floor((started + 2_600) / 1000) - Math.floor(started / 1000) + 1;
        expect(list.length).toBeGreaterThanOrEqual(intervals - 1);
        expect(list.length).toBeLessThanOrEqual(intervals);
        for (const at of list.slice(1)) expect(at % 1000).toBeLessThan(500);
      }
      expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
      expect(await store.verifyAudit('acme')).toMatchObject({ ok: true });
    } finally {
      await db.dispose();
    }
  });
});

describe.runIf(PG_URL)('the shared job queue (PostgreSQL)', () => {
  it.runIf(FULL)('two worker processes share 2 tenants × 2 streams every 2 s: one run per stream and interval, none overlapping', async () => {
    const figures = await loadRun({ workers: 2, tenants: 2, perTenant: 2, seconds: 2, durationMs: 8_000 });
    expect(figures.runs).toBeGreaterThanOrEqual(figures.intervals - figures.streams);
  }, 40_000);

  it.runIf(FULL)('a worker killed (SIGKILL) mid-schedule: the other worker goes on with its streams, none ever runs twice at once', async () => {
    // A 2 s interval: a run that starts over one interval late claims the next slot and leaves
    // its own unrun, and on a loaded 2-core CI machine 1 s intervals missed a slot now and then.
    const figures = await loadRun({ workers: 2, tenants: 1, perTenant: 3, seconds: 2, durationMs: 20_000, killAfterMs: 4_000 });
    expect(figures.workers_that_ran).toBe(2);
  }, 60_000);

  it('the lock of a stream keeps a second process off it while a run lasts, and is free again when the run ends or its connection dies', async () => {
    const db = await postgresBackend.open();
    try {
      const first = await openStreamLocks(db.url);
      const second = await openStreamLocks(db.url);
      const target: SyncTarget = { tenant: 'acme', provider: 'fake', stream: stream('a', 60) };
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const long = first.exclusive(target, async () => {
        await gate;
        return 'first';
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await second.exclusive(target, async () => 'second')).toBeUndefined();
      // Another stream, or the same stream in another tenant, is not held.
      expect(await second.exclusive({ ...target, tenant: 'beta' }, async () => 'beta')).toBe('beta');
      // In the same process the lock is not re-entrant either.
      expect(await first.exclusive(target, async () => 'again')).toBeUndefined();
      release();
      expect(await long).toBe('first');
      expect(await second.exclusive(target, async () => 'second')).toBe('second');
      // A worker that dies mid-run (its connection ends) frees the stream.
      const stuck = first.exclusive(target, () => new Promise<string>(() => undefined));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await first.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await second.exclusive(target, async () => 'taken over')).toBe('taken over');
      void stuck;
      await second.close();
    } finally {
      await db.dispose();
    }
  });

  // Every interval is BOTC_LOAD_INTERVAL seconds (default 6: on a 2-core machine, 60 streams
  // every 2 s need more runs per second than the store commits, and at 5 s a CI run on a slow
  // day saw a run start 4.7 s late and the next interval find it still running; see
  // docs/inbound.md); the figures of a run are printed as one line.
  const loadInterval = Number(process.env['BOTC_LOAD_INTERVAL'] ?? '6');
  it.runIf(process.env['BOTC_LOAD_TEST'])(`load: 8 workers (4 × 2 machines) share 20 tenants × 3 streams every ${loadInterval} s for 30 s`, async () => {
    // 60 runs are due at once as the 8 workers start; on a slow day they were still going in the
    // next interval (CI saw 'busy' there), so the second interval is warm-up too.
    const figures = await loadRun({ workers: 8, tenants: 20, perTenant: 3, seconds: loadInterval, durationMs: 30_000, warmupSlots: 1 });
    expect(figures.workers_that_ran).toBeGreaterThan(1);
  }, 120_000);
});

describe('botc sync run as a worker', () => {
  let out: string;
  beforeAll(async () => {
    out = path.join(tempDir('botc-schedule-'), 'dist');
    const io = { stdout: () => undefined, stderr: () => undefined, stdin: async () => '', cwd: REPO_ROOT, env: { USER: 'tester' } };
    expect(await main(['build', '--out', out], io)).toBe(0);
  }, 30_000);

  async function worker(state: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [BOTC, 'sync', 'run', '--tenant', 'acme', '--tenant', 'beta', '--bundles', out, '--root', REPO_ROOT, '--state', state], {
      env: { PATH: process.env['PATH'] ?? '', BOTC_SECRET_KEY: randomBytes(32).toString('hex') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    await new Promise<void>((resolve) => child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.split('\n').filter(Boolean).length >= 2) resolve();
    }));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, stdout, stderr };
  }

  const expectRuns = (stdout: string) => {
    // No HubSpot credential: each tenant's run fails before anything leaves, and is reported.
    const runs = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(runs.map((r) => r['tenant']).sort()).toEqual(['acme', 'beta']);
    expect(runs.every((r) => r['stream'] === 'deals' && r['status'] === 'failed' && r['code'] === 'AUTH_REQUIRED')).toBe(true);
  };

  it('on SQLite: the in-process scheduler runs the HubSpot stream of each tenant at once, and SIGTERM stops it cleanly (exit 0)', async () => {
    const result = await worker(path.join(tempDir('botc-schedule-'), 'state.db'));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('in-process scheduler');
    expectRuns(result.stdout);
  }, 20_000);

  it.runIf(PG_URL)('on PostgreSQL: the shared job queue runs the HubSpot stream of each tenant at once, and SIGTERM stops it cleanly (exit 0)', async () => {
    const db = await postgresBackend.open();
    const [{ schema }] = await db.raw.all<{ schema: string }>('SELECT current_schema() AS schema');
    try {
      const result = await worker(db.url);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain('shared PostgreSQL job queue');
      expectRuns(result.stdout);
    } finally {
      await db.dispose();
      await dropQueueSchema(schema);
    }
  }, 20_000);
});
