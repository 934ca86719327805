// The load test of issue 4, shared by bench/load.mjs and test/concurrency.test.ts.
//
// Builds the bundle of test/fixtures-load/ (one bot, one expert, one cheap in-process read),
// forks N worker processes (bench/load-worker.mjs), each with its own connection to one fresh
// store — a new SQLite file, or a new schema of a PostgreSQL database — and runs `calls` calls
// in total over a few tenants, so every tenant's audit chain is contended across processes.
// Then it checks, through the store: the audit chains verify; there is exactly one `call`
// entry per call (no trace id missing, none twice); there is one idempotency record per call,
// holding that call's result; every worker saw every call succeed.
//
// Needs lib/ (`npm run build:lib`).

import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..');
const LIB = path.join(REPO, 'lib', 'index.js');
/** `botc/runtime` (openStore, Runtime), which the workers load. */
const RUNTIME_LIB = path.join(REPO, 'lib', 'runtime', 'index.js');
const POSTGRES_MODULE = path.join(REPO, 'lib', 'state', 'postgres.js');
const WORKER = path.join(HERE, 'load-worker.mjs');
export const FIXTURE = path.join(REPO, 'test', 'fixtures-load');
const METHOD = 'counter.value.get.v1';
/** listAudit returns at most this many entries per query. */
const LIST_LIMIT = 100_000;

export const DEFAULTS = { calls: 10_000, workers: 8, concurrency: 4, tenants: 4 };

/**
 * Runs the load test against one store and returns its report; never throws for a failed
 * check (see `report.ok` and `report.problems`), only for a broken set-up.
 *
 * @param {{ store: 'sqlite' | 'postgres', pgUrl?: string, calls?: number, workers?: number,
 *   concurrency?: number, tenants?: number, keep?: boolean, timeoutMs?: number,
 *   log?: (line: string) => void }} options
 */
export async function runLoad(options) {
  const { store } = options;
  const calls = options.calls ?? DEFAULTS.calls;
  const workers = options.workers ?? DEFAULTS.workers;
  const concurrency = options.concurrency ?? DEFAULTS.concurrency;
  const tenants = options.tenants ?? DEFAULTS.tenants;
  const log = options.log ?? (() => {});
  if (store === 'postgres' && !options.pgUrl) throw new Error('the PostgreSQL load test needs a URL (--pg or BOTC_TEST_PG_URL)');
  if (Math.ceil(calls / tenants) > LIST_LIMIT) throw new Error(`at most ${LIST_LIMIT} calls per tenant`);

  if (!existsSync(LIB)) throw new Error('lib/ is missing: run `npm run build:lib` first');
  const lib = await import(pathToFileURL(LIB).href);
  const runtimeLib = await import(pathToFileURL(RUNTIME_LIB).href);
  const runId = `load${process.pid}${Date.now().toString(36)}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'botc-load-'));
  const sqliteFile = path.join(dir, 'state.db');
  const schema = store === 'postgres' ? runId.toLowerCase() : undefined;
  const open = async () => {
    if (store === 'sqlite') return runtimeLib.openStore(sqliteFile, FIXTURE);
    const { openPostgresStore } = await import(pathToFileURL(POSTGRES_MODULE).href);
    return openPostgresStore(options.pgUrl, { schema, maxConnections: 8 });
  };

  try {
    const built = await lib.build({ root: FIXTURE, out: dir, write: true });
    if (!built.ok) throw new Error(`test/fixtures-load does not build: ${built.diagnostics.map((d) => d.message).join('; ')}`);
    const bundle = path.resolve(FIXTURE, built.bundles[0].path);
    // Create the tables once, so the workers only open them.
    await (await open()).close();
    log(`${store}: ${workers} workers x ${concurrency} in flight, ${calls} calls over ${tenants} tenants`);

    const shares = Array.from({ length: workers }, (_, w) => Math.floor(calls / workers) + (w < calls % workers ? 1 : 0));
    const firsts = shares.map((_, w) => shares.slice(0, w).reduce((a, b) => a + b, 0));
    const job = { lib: RUNTIME_LIB, postgresModule: POSTGRES_MODULE, root: FIXTURE, bundle, store, sqliteFile, pgUrl: options.pgUrl, schema, runId, concurrency, tenants };
    const outcome = await runWorkers(workers, (w) => ({ ...job, worker: w, first: firsts[w], count: shares[w] }), options.timeoutMs ?? 600_000);

    const check = await open();
    try {
      const report = await inspect(check, { store, calls, workers, concurrency, tenants, runId, outcome });
      report.idempotency_rows = await countIdempotencyRows(store, sqliteFile, options.pgUrl, schema);
      if (report.idempotency_rows !== calls) report.problems.push(`the store holds ${report.idempotency_rows} idempotency records, not ${calls}`);
      report.ok = report.problems.length === 0;
      return report;
    } finally {
      await check.close();
    }
  } finally {
    if (!options.keep) {
      rmSync(dir, { recursive: true, force: true });
      if (store === 'postgres') await dropSchema(options.pgUrl, schema).catch(() => undefined);
    } else {
      log(`kept ${store === 'sqlite' ? sqliteFile : `schema ${schema}`}`);
    }
  }
}

/** Forks the workers, starts them together once all are ready, and gathers their reports. */
function runWorkers(count, jobOf, timeoutMs) {
  return new Promise((resolve, reject) => {
    const children = [];
    const done = [];
    let ready = 0;
    let started = 0;
    let settled = false;
    const finish = (error, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill();
      if (error) reject(error);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new Error(`the workers did not finish within ${timeoutMs} ms`)), timeoutMs);
    for (let w = 0; w < count; w++) {
      const child = fork(WORKER, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
      children.push(child);
      child.on('message', (message) => {
        if (message.type === 'ready' && ++ready === count) {
          started = performance.now();
          for (const c of children) c.send({ type: 'go' });
        } else if (message.type === 'done') {
          done.push(message);
          if (done.length === count) {
            const wallMs = performance.now() - started;
            done.sort((a, b) => a.worker - b.worker);
            finish(null, { wallMs, workers: done });
          }
        }
      });
      child.on('exit', (code, signal) => {
        if (!done.some((d) => d.worker === w)) finish(new Error(`worker ${w} exited (${signal ?? `status ${code}`}) before it reported`));
      });
      child.on('error', (error) => finish(error));
      child.send(jobOf(w));
    }
  });
}

/** Everything that must hold after the run, read back through the StateStore API. */
async function inspect(store, { calls, workers, concurrency, tenants, runId, outcome, ...rest }) {
  const problems = [];
  const latencies = outcome.workers.flatMap((w) => w.latencies).sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))] ?? NaN;
  const workerOk = outcome.workers.reduce((n, w) => n + w.ok, 0);
  for (const w of outcome.workers) {
    if (w.failed > 0) problems.push(`worker ${w.worker}: ${w.failed} call(s) failed${w.failures.length ? `, e.g. ${JSON.stringify(w.failures[0]).slice(0, 400)}` : ''}`);
  }

  const verify = await store.verifyAudit();
  if (!verify.ok) problems.push(`the audit chain does not verify: tenant ${verify.tenant} entry ${verify.seq}: ${verify.reason}`);

  // Every call entry, all tenants; each trace id must appear exactly once, in its own tenant.
  const seen = new Map();
  let callEntries = 0;
  let auditEntries = 0;
  let wrong = 0;
  for (let t = 0; t < tenants; t++) {
    const entries = await store.listAudit({ tenant: `t${t}`, limit: LIST_LIMIT });
    auditEntries += entries.length;
    for (const entry of entries) {
      if (entry.action !== 'call') continue;
      callEntries++;
      seen.set(entry.trace_id, (seen.get(entry.trace_id) ?? 0) + 1);
      const g = Number(String(entry.trace_id).slice(runId.length + 1));
      if (entry.outcome !== 'ok' || entry.method_id !== METHOD || `t${g % tenants}` !== entry.tenant) wrong++;
    }
  }
  let missing = 0;
  for (let g = 0; g < calls; g++) if (!seen.has(`${runId}-${g}`)) missing++;
  const doubled = [...seen.values()].filter((n) => n > 1).length;
  const foreign = [...seen.keys()].filter((id) => {
    const g = String(id).startsWith(`${runId}-`) ? Number(String(id).slice(runId.length + 1)) : NaN;
    return !(Number.isInteger(g) && g >= 0 && g < calls);
  }).length;
  if (callEntries !== calls) problems.push(`${callEntries} call entries in the audit log, not ${calls}`);
  if (missing) problems.push(`${missing} call(s) have no audit entry`);
  if (doubled) problems.push(`${doubled} trace id(s) appear more than once`);
  if (foreign) problems.push(`${foreign} audit entries of unknown trace ids`);
  if (wrong) problems.push(`${wrong} audit entries with the wrong outcome, method or tenant`);
  if (verify.ok && verify.entries !== auditEntries) problems.push(`verify counted ${verify.entries} entries, listAudit ${auditEntries}`);

  // One idempotency record per call, holding that call's result.
  let idempotencyRecords = 0;
  let badRecords = 0;
  const keys = Array.from({ length: calls }, (_, g) => g);
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let g = keys.pop(); g !== undefined; g = keys.pop()) {
        const record = await store.getIdempotency(`t${g % tenants}`, METHOD, `k-${g}`);
        if (!record) continue;
        idempotencyRecords++;
        if (!record.result.ok || record.result.data?.n !== g) badRecords++;
      }
    }),
  );
  if (idempotencyRecords !== calls) problems.push(`${idempotencyRecords} of ${calls} calls have an idempotency record`);
  if (badRecords) problems.push(`${badRecords} idempotency records hold another call's result`);

  const wallS = outcome.wallMs / 1000;
  return {
    ...rest,
    ok: false,
    workers,
    concurrency,
    tenants,
    calls,
    wall_s: round(wallS, 2),
    calls_per_s: Math.round(calls / wallS),
    p50_ms: round(pct(50), 2),
    p99_ms: round(pct(99), 2),
    max_ms: round(latencies.at(-1) ?? NaN, 2),
    /** CPU time of the worker processes (runtime + driver), per call; the database's is not included. */
    worker_cpu_ms_per_call: round(outcome.workers.reduce((n, w) => n + w.cpu_ms, 0) / calls, 3),
    worker_ok: workerOk,
    verify: verify.ok ? { ok: true, tenants: verify.tenants, entries: verify.entries } : verify,
    audit_entries: auditEntries,
    call_entries: callEntries,
    distinct_traces: seen.size,
    missing_traces: missing,
    doubled_traces: doubled,
    idempotency_records: idempotencyRecords,
    problems,
  };
}

/** The raw row count of botc_idempotency, to catch records no call asked for. */
async function countIdempotencyRows(store, sqliteFile, pgUrl, schema) {
  if (store === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(sqliteFile, { readonly: true });
    try {
      return Number(db.prepare('SELECT COUNT(*) AS n FROM botc_idempotency').get().n);
    } finally {
      db.close();
    }
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    return Number((await client.query(`SELECT COUNT(*) AS n FROM "${schema}".botc_idempotency`)).rows[0].n);
  } finally {
    await client.end();
  }
}

async function dropSchema(pgUrl, schema) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

function round(value, digits) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The summary table of one or more reports. */
export function formatTable(reports) {
  const head = ['store', 'workers', 'calls', 'wall s', 'calls/s', 'p50 ms', 'p99 ms', 'worker CPU ms/call', 'audit entries', 'call entries', 'idem records', 'verify'];
  const rows = reports.map((r) => [
    r.store, r.workers, r.calls, r.wall_s.toFixed(2), r.calls_per_s, r.p50_ms.toFixed(2), r.p99_ms.toFixed(2), r.worker_cpu_ms_per_call.toFixed(2),
    r.audit_entries, r.call_entries, r.idempotency_records, r.verify.ok ? 'ok' : 'FAILED',
  ].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (i === 0 || i === widths.length - 1 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`, ...rows.map(line)].join('\n');
}
