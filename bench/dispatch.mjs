#!/usr/bin/env node
/**
 * Dispatch overhead of the runtime: calls/second through `runtime.callTool` for an in-process
 * mock method (no I/O) with input and output validation, against the floor measured in the
 * same run: the same schemas compiled with `createAjv()` and called directly around a direct
 * call of the method's handler. Target: runtime time per call ≤ 3× the floor.
 *
 *   npm run build:lib && node bench/dispatch.mjs [--calls 50000] [--rounds 10] [--warmup 5000] [--check]
 *
 * Generates its own tiny workspace in .bench/dispatch/ (rewritten on every run). `--check`
 * exits 1 when the ratio is over the target. Profile with `node --cpu-prof bench/dispatch.mjs`.
 */
import { parseArgs } from 'node:util';
import { Runtime } from '../lib/runtime/index.js';
// The in-memory store is internal to botc (not in the public API); the benchmark imports it by path.
import { MemoryStore } from '../lib/state/memory.js';
import { createAjv } from '../lib/schema/ajv.js';
import { batch, METHOD, mockWorkspace, percentile, positive } from './harness.mjs';

const TARGET_RATIO = 3;
const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5000' },
    check: { type: 'boolean', default: false },
  },
});
const CALLS = positive(values.calls, '--calls');
const ROUNDS = Math.min(positive(values.rounds, '--rounds'), CALLS);
const WARMUP = positive(values.warmup, '--warmup');

const { root: ROOT, bundle, score } = await mockWorkspace('dispatch', 'Measures dispatch overhead.');
/**
 * The dispatch path is measured apart from persistence: this store keeps nothing, so the figure
 * is the runtime's own work per call. Audit persistence is measured separately (the `memory`
 * row here, and `npm run load` for SQLite and PostgreSQL under concurrency).
 */
const discard = { kind: 'memory', appendAudit: async () => undefined, close: async () => undefined };
const runtime = await Runtime.load(bundle, { root: ROOT, store: discard });
const audited = await Runtime.load(bundle, { root: ROOT, store: new MemoryStore() });

// ---------------------------------------------------------------- the two paths

const params = {
  account_id: 'acc_1001',
  metrics: [
    { name: 'weekly_active_users', value: 420 },
    { name: 'api_calls', value: 9100 },
    { name: 'reports_exported', value: 37 },
    { name: 'support_tickets', value: 4 },
  ],
  weight: 1.5,
};
const call = { expert: 'runner', tool: 'accounts', op: 'call', args: { method_id: METHOD, params } };

const spec = bundle.methods[METHOD];
const ajv = createAjv();
const validateInput = ajv.compile(spec.input_schema);
const validateOutput = ajv.compile(spec.output_schema);
const ctx = { tenant: 'default', trace_id: 'bench', signal: new AbortController().signal, classification: 'read_only' };
const handlerInput = { spec, args: params, cursor: undefined, dry_run: false, idempotency_key: undefined, ctx };

async function viaRuntime() {
  const result = await runtime.callTool(call);
  if (!result.ok) throw new Error(`runtime call failed: ${JSON.stringify(result.error)}`);
  return result.data;
}

async function viaAuditedRuntime() {
  const result = await audited.callTool(call);
  if (!result.ok) throw new Error(`runtime call failed: ${JSON.stringify(result.error)}`);
  return result.data;
}

async function floor() {
  if (!validateInput(params)) throw new Error('input invalid');
  const out = await score(handlerInput);
  if (!validateOutput(out.data)) throw new Error('output invalid');
  return out.data;
}

const [a, b] = [await viaRuntime(), await floor()];
if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`the paths disagree: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);

// ---------------------------------------------------------------- measurement

/** CPU time (user + system, ms) each path used in the measured batches. */
const cpu = { runtime: 0, floor: 0, audited: 0 };

await batch(viaRuntime, WARMUP);
await batch(viaAuditedRuntime, WARMUP);
await batch(floor, WARMUP);

const latencies = { runtime: new Float64Array(CALLS), floor: new Float64Array(CALLS), audited: new Float64Array(CALLS) };
const totals = { runtime: 0, floor: 0, audited: 0 };
const paths = { runtime: viaRuntime, floor, audited: viaAuditedRuntime };
let done = 0;
for (let round = 0; round < ROUNDS; round++) {
  const count = Math.floor(CALLS / ROUNDS) + (round < CALLS % ROUNDS ? 1 : 0);
  // Interleave, and alternate which path goes first, so drift (GC, JIT, thermal) hits both.
  const order = round % 2 === 0 ? ['runtime', 'floor', 'audited'] : ['audited', 'floor', 'runtime'];
  for (const name of order) {
    const spent = await batch(paths[name], count, latencies[name], done);
    totals[name] += spent.ms;
    cpu[name] += spent.cpu;
  }
  done += count;
}

const rows = Object.entries(totals).map(([name, ms]) => {
  const sorted = Float64Array.from(latencies[name]).sort();
  return {
    path: name,
    calls_per_s: Math.round((CALLS / ms) * 1000),
    us_per_call: (ms * 1000) / CALLS,
    p50_us: percentile(sorted, 50) * 1000,
    p99_us: percentile(sorted, 99) * 1000,
    cpu_us: (cpu[name] * 1000) / CALLS,
  };
});
const ratio = totals.runtime / totals.floor;

const fmt = (n, digits = 2) => n.toFixed(digits);
console.log(`dispatch: ${CALLS} calls per path in ${ROUNDS} interleaved rounds (warm-up ${WARMUP}), node ${process.version}`);
console.log('path      calls/s     µs/call   p50 µs   p99 µs   CPU µs/call');
for (const r of rows) {
  console.log(`${r.path.padEnd(8)} ${String(r.calls_per_s).padStart(9)} ${fmt(r.us_per_call).padStart(10)} ${fmt(r.p50_us).padStart(8)} ${fmt(r.p99_us).padStart(8)} ${fmt(r.cpu_us).padStart(13)}`);
}
const verdict = ratio <= TARGET_RATIO ? 'ok' : 'OVER TARGET';
console.log(`ratio runtime/floor time per call: ${fmt(ratio)}× (target ≤ ${TARGET_RATIO}×: ${verdict})`);
console.log(`ratio audited/floor (hash-chained audit entry in a MemoryStore per call): ${fmt(totals.audited / totals.floor)}×`);
// CPU time is what this process itself spent: on a machine shared with other work it moves far
// less than wall time, which also counts the time the process waited for a core.
console.log(`ratio runtime/floor CPU time per call: ${fmt(cpu.runtime / cpu.floor)}×; p50 ratio ${fmt(rows[0].p50_us / rows[1].p50_us)}×`);
await runtime.close();
if (values.check && ratio > TARGET_RATIO) process.exit(1);
