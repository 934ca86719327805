// One long-running sync worker in a process of its own, for test/inbound-schedule.test.ts and
// the load test. Plain ESM over lib/ (`npm run build:lib`). Serves the streams of SCHED_TARGETS
// through the PostgreSQL job queue (or the in-process scheduler for a SQLite file) against the
// loopback fake provider at SCHED_PROVIDER, until SIGTERM; prints `ready`, then one JSON line
// per run, and exits 0 after a clean stop.
//
// Environment: SCHED_LIB (lib/ folder), SCHED_STATE (store URL or SQLite file), SCHED_ROOT,
// SCHED_TARGETS (JSON list of {tenant, provider, stream: StreamDeclaration}), SCHED_PROVIDER
// (base URL of the fake provider), SCHED_POLL (queue polling seconds), SCHED_RESEED_MS.
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const env = process.env;
const lib = (file) => import(pathToFileURL(path.join(env.SCHED_LIB, file)).href);
const { openStore } = await lib('state/open.js');
const { runLocalScheduler } = await lib('inbound/scheduler.js');
const { runPgScheduler } = await lib('inbound/pg-scheduler.js');
const targets = JSON.parse(env.SCHED_TARGETS);
const store = await openStore(env.SCHED_STATE, env.SCHED_ROOT);
const profile = {};
if (env.SCHED_PROFILE) {
  for (const name of ['readIdempotency', 'claimIdempotency', 'getCursor', 'enqueueImport', 'completeIdempotency', 'appendAudit']) {
    const original = store[name].bind(store);
    store[name] = async (...args) => {
      const t = performance.now();
      try { return await original(...args); } finally { const p = (profile[name] ??= { n: 0, ms: 0, max: 0 }); const d = performance.now() - t; p.n++; p.ms += d; p.max = Math.max(p.max, d); }
    };
  }
}
const meta = (next) => ({ provider_request_id: null, latency_ms: 0, next_cursor: next, rate_limit_remaining: null, cost_units: null, provenance: { source_type: 'fake', source_ref: null } });

/** One page from the fake provider: it records when the request came and when it answered. */
async function fetchPage(target, cursor, traceId) {
  const url = `${env.SCHED_PROVIDER}/page?tenant=${target.tenant}&stream=${target.stream.name}&trace=${traceId}&worker=${process.pid}`;
  try {
    const response = await fetch(url);
    const body = await response.json();
    return { ok: true, data: { records: body.records }, meta: meta(null) };
  } catch (error) {
    return { ok: false, error: { code: 'PROVIDER_UNAVAILABLE', message: String(error).slice(0, 100), provider_code: null, http_status: null, retriable: true }, meta: meta(null) };
  }
}

const controller = new AbortController();
process.once('SIGTERM', () => controller.abort());
process.once('SIGINT', () => controller.abort());
const options = {
  store,
  targets,
  fetchPage,
  signal: controller.signal,
  onOutcome: (t, outcome) => process.stdout.write(`${JSON.stringify({ tenant: t.tenant, stream: t.stream.name, ...outcome })}\n`),
  onError: (error) => process.stderr.write(`worker error: ${error.message}\n`),
};
process.stdout.write('ready\n');
if (/^postgres/.test(env.SCHED_STATE)) {
  await runPgScheduler({ ...options, connectionString: env.SCHED_STATE, pollingSeconds: Number(env.SCHED_POLL ?? '0.5'), reseedMs: Number(env.SCHED_RESEED_MS ?? '5000') });
} else {
  await runLocalScheduler(options);
}
await store.close();
if (env.SCHED_PROFILE) process.stderr.write(`${JSON.stringify(Object.fromEntries(Object.entries(profile).map(([k, v]) => [k, { n: v.n, avg: Math.round(v.ms / v.n), max: Math.round(v.max) }])))}\n`);
process.stdout.write('stopped\n');
