// One worker process of the load test (bench/load-core.mjs forks it).
//
// Opens its own connection to the shared store, loads the bundle, reports `ready`, waits for
// `go`, then runs its share of the calls with a few in flight at a time and reports `done`
// with every call's latency. Each call has a unique trace id and idempotency key.

import { pathToFileURL } from 'node:url';

const send = (message) => new Promise((resolve, reject) => process.send(message, (error) => (error ? reject(error) : resolve())));

const job = await new Promise((resolve) => process.once('message', resolve));
const lib = await import(pathToFileURL(job.lib).href);

let store;
if (job.store === 'postgres') {
  const { openPostgresStore } = await import(pathToFileURL(job.postgresModule).href);
  store = await openPostgresStore(job.pgUrl, { schema: job.schema, maxConnections: job.concurrency + 1 });
} else {
  store = await lib.openStore(job.sqliteFile, job.root);
}
const runtime = await lib.Runtime.load(job.bundle, { root: job.root, store });

await send({ type: 'ready' });
await new Promise((resolve) => process.once('message', resolve));

const latencies = new Array(job.count);
const failures = [];
let ok = 0;
let next = 0;
const started = performance.now();
const cpu0 = process.cpuUsage();

async function lane() {
  while (next < job.count) {
    const i = next++;
    const g = job.first + i;
    const t0 = performance.now();
    const result = await runtime.callTool({
      expert: 'worker',
      tool: 'counter',
      op: 'call',
      tenant: `t${g % job.tenants}`,
      trace_id: `${job.runId}-${g}`,
      args: { method_id: 'counter.value.get.v1', params: { n: g }, idempotency_key: `k-${g}` },
    });
    latencies[i] = performance.now() - t0;
    if (result.ok && result.data?.n === g && !result.meta.idempotent_replay) ok++;
    else if (failures.length < 20) failures.push({ call: g, result: result.ok ? { ok: true, data: result.data, meta: result.meta } : result.error });
  }
}

await Promise.all(Array.from({ length: job.concurrency }, lane));
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
await runtime.close();
await send({ type: 'done', worker: job.worker, ok, failed: job.count - ok, failures, latencies, ms, cpu_ms: (cpu.user + cpu.system) / 1000 });
process.exit(0);
