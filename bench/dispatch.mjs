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
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from '../lib/index.js';
import { Runtime } from '../lib/runtime/index.js';
// The in-memory store is internal to botc (not in the public API); the benchmark imports it by path.
import { MemoryStore } from '../lib/state/memory.js';
import { createAjv } from '../lib/schema/ajv.js';

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

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.join(REPO, '.bench', 'dispatch');
const METHOD = 'benchmock.accounts.score.v1';

// ---------------------------------------------------------------- the workspace

const MODULE = `/** Bench mock (read_only): scores an account from its metrics, in process, no I/O. */
import { BaseIntegration, defineMethod } from 'botc/integration';

export const SCORE = defineMethod({
  method_id: '${METHOD}',
  description: 'Score an account from its usage metrics.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['account_id', 'metrics'],
    properties: {
      account_id: { type: 'string', pattern: '^acc_[0-9]{4}$', description: 'Account id.' },
      metrics: {
        type: 'array',
        maxItems: 10,
        description: 'Metric values.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'value'],
          properties: {
            name: { type: 'string', enum: ['weekly_active_users', 'api_calls', 'reports_exported', 'support_tickets'] },
            value: { type: 'integer', minimum: 0 },
          },
        },
      },
      weight: { type: 'number', minimum: 0, maximum: 10, description: 'Weight of the score.' },
    },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['account_id', 'score', 'grade'],
    properties: {
      account_id: { type: 'string' },
      score: { type: 'number', minimum: 0 },
      grade: { type: 'string', enum: ['a', 'b', 'c'] },
    },
  },
  capabilities: ['read'],
  idempotency: 'safe_read',
});

/** The handler, exported so that the benchmark can call it directly for the floor. */
export async function score({ args }) {
  let total = 0;
  for (const metric of args.metrics) total += metric.name === 'support_tickets' ? -metric.value : metric.value;
  const value = Math.max(0, total * (args.weight ?? 1));
  return { data: { account_id: args.account_id, score: value, grade: value > 1000 ? 'a' : value > 100 ? 'b' : 'c' } };
}

export class BenchMockIntegration extends BaseIntegration {
  describeMethods() {
    return [SCORE];
  }
  handlers() {
    return { [SCORE.method_id]: score };
  }
}
`;

const FILES = {
  'bots/benchbot/manifest.json': `${JSON.stringify({
    bot: 'benchbot',
    version: '1.0.0',
    description: 'Measures dispatch overhead.',
    tools: [{ name: 'accounts', description: 'Score accounts.', methods: [METHOD] }],
  }, null, 2)}\n`,
  'bots/benchbot/prompts/expert_runner.md': '---\nfexp_description: Runs the benchmark.\nfexp_allow_tools: [accounts]\n---\nYou run it.\n',
  'bots/benchbot/prompts/tool_accounts.md': 'Use `accounts`.\n',
  'integrations/manifest.json': `${JSON.stringify({
    integrations: [{ provider: 'benchmock', module: 'benchmock/index.mjs', export: 'BenchMockIntegration', classification: 'read_only', modes: ['request_response'], lifecycle: 'active' }],
  }, null, 2)}\n`,
  'integrations/benchmock/index.mjs': MODULE,
};

for (const [rel, text] of Object.entries(FILES)) {
  const file = path.join(ROOT, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

const built = await build({ root: ROOT, write: false });
if (!built.ok) {
  console.error(JSON.stringify(built.diagnostics, null, 2));
  process.exit(2);
}
const bundle = built.built[0];
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
const { score } = await import(pathToFileURL(path.join(ROOT, 'integrations/benchmock/index.mjs')).href);
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

/** Runs `count` sequential calls, writing each latency (ms) into `into` from `offset`; returns total ms. */
async function batch(fn, count, into, offset, name) {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let last = started;
  for (let i = 0; i < count; i++) {
    await fn();
    const now = performance.now();
    if (into) into[offset + i] = now - last;
    last = now;
  }
  const total = performance.now() - started;
  if (name) {
    const used = process.cpuUsage(cpuBefore);
    cpu[name] += (used.user + used.system) / 1000;
  }
  return total;
}

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
  for (const name of order) totals[name] += await batch(paths[name], count, latencies[name], done, name);
  done += count;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
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

function positive(text, flag) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${flag} must be a positive integer`);
    process.exit(2);
  }
  return n;
}
