#!/usr/bin/env node
/**
 * MCP round trip: `tools/call` over Streamable HTTP (stateless, loopback) with the official
 * client SDK, to a mock method with input and output validation, through two servers measured in
 * the same run:
 *
 * - botc: `mcpHttpHandler` (Host/Origin checks, the runtime's dispatch: expert → tool → method,
 *   params validated against the method's input schema, output against its output schema, an
 *   audit entry in a MemoryStore, the result filtered for the model);
 * - bare: a `@modelcontextprotocol/server` server whose tool handler calls the same handler
 *   function directly, the SDK validating input and output against the same schemas.
 *
 * Both are served by the same node:http glue (`listenMcpHttp`) and called by one client each.
 * Target: botc time per call ≤ 1.2× bare.
 *
 *   npm run build:lib && node bench/mcp.mjs [--calls 2000] [--rounds 10] [--warmup 200] [--check]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpHandler, fromJsonSchema, McpServer } from '@modelcontextprotocol/server';
import { build } from '../lib/index.js';
import { Runtime } from '../lib/runtime/index.js';
// The in-memory store is internal to botc (not in the public API); the benchmark imports it by path.
import { MemoryStore } from '../lib/state/memory.js';
import { mcpHttpHandler } from '../lib/adapters/index.js';
import { listenMcpHttp } from '../lib/cli/serve.js';

const TARGET_RATIO = 1.2;
const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '200' },
    check: { type: 'boolean', default: false },
  },
});
const CALLS = positive(values.calls, '--calls');
const ROUNDS = Math.min(positive(values.rounds, '--rounds'), CALLS);
const WARMUP = positive(values.warmup, '--warmup');

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.join(REPO, '.bench', 'mcp');
const METHOD = 'benchmock.accounts.score.v1';
const TOOL = 'accounts__benchmock_accounts_score_v1';

// ---------------------------------------------------------------- the workspace (as bench/dispatch.mjs)

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
    description: 'Measures MCP round trips.',
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
const runtime = await Runtime.load(bundle, { root: ROOT, store: new MemoryStore() });
const spec = bundle.methods[METHOD];
const { score } = await import(pathToFileURL(path.join(ROOT, 'integrations/benchmock/index.mjs')).href);

// ---------------------------------------------------------------- the two servers

const botcServer = await listenMcpHttp(mcpHttpHandler(runtime, { expert: 'runner', style: 'methods' }), '127.0.0.1', 0);

const inputSchema = fromJsonSchema(spec.input_schema);
const outputSchema = fromJsonSchema(spec.output_schema);
const ctx = { tenant: 'default', trace_id: 'bench', signal: new AbortController().signal, classification: 'read_only' };
const bare = createMcpHandler(() => {
  const server = new McpServer({ name: 'bare', version: '1.0.0' });
  server.registerTool(TOOL, { description: spec.description, inputSchema, outputSchema }, async (args) => {
    const out = await score({ spec, args, cursor: undefined, dry_run: false, idempotency_key: undefined, ctx });
    return { structuredContent: out.data, content: [{ type: 'text', text: JSON.stringify(out.data) }] };
  });
  return server;
});
const bareServer = await listenMcpHttp((request) => bare.fetch(request), '127.0.0.1', 0);

async function client(server) {
  const c = new Client({ name: 'bench', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.address().port}/mcp`)));
  return c;
}
const clients = { botc: await client(botcServer), bare: await client(bareServer) };

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

const paths = {
  botc: async () => check(await clients.botc.callTool({ name: TOOL, arguments: params })),
  bare: async () => check(await clients.bare.callTool({ name: TOOL, arguments: params })),
};
function check(result) {
  if (result.isError) throw new Error(`call failed: ${JSON.stringify(result.content)}`);
  return result.structuredContent;
}
const [a, b] = [await paths.botc(), await paths.bare()];
if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`the servers disagree: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);

// ---------------------------------------------------------------- measurement

async function batch(fn, count, into, offset) {
  const started = performance.now();
  let last = started;
  for (let i = 0; i < count; i++) {
    await fn();
    const now = performance.now();
    if (into) into[offset + i] = now - last;
    last = now;
  }
  return performance.now() - started;
}

await batch(paths.botc, WARMUP);
await batch(paths.bare, WARMUP);

const latencies = { botc: new Float64Array(CALLS), bare: new Float64Array(CALLS) };
const totals = { botc: 0, bare: 0 };
let done = 0;
for (let round = 0; round < ROUNDS; round++) {
  const count = Math.floor(CALLS / ROUNDS) + (round < CALLS % ROUNDS ? 1 : 0);
  // Interleave, alternating which goes first, so drift (GC, JIT, other load) hits both.
  const order = round % 2 === 0 ? ['botc', 'bare'] : ['bare', 'botc'];
  for (const name of order) totals[name] += await batch(paths[name], count, latencies[name], done);
  done += count;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const fmt = (n, digits = 3) => n.toFixed(digits);
console.log(`mcp: ${CALLS} tools/call round trips per server over Streamable HTTP in ${ROUNDS} interleaved rounds (warm-up ${WARMUP}), node ${process.version}`);
console.log('server   ms/call   p50 ms   p99 ms');
for (const name of ['botc', 'bare']) {
  const sorted = Float64Array.from(latencies[name]).sort();
  console.log(`${name.padEnd(6)} ${fmt(totals[name] / CALLS).padStart(9)} ${fmt(percentile(sorted, 50)).padStart(8)} ${fmt(percentile(sorted, 99)).padStart(8)}`);
}
const ratio = totals.botc / totals.bare;
console.log(`ratio botc/bare time per call: ${fmt(ratio, 2)}× (target ≤ ${TARGET_RATIO}×: ${ratio <= TARGET_RATIO ? 'ok' : 'OVER TARGET'})`);

await Promise.all(Object.values(clients).map((c) => c.close()));
await Promise.all([botcServer, bareServer].map((s) => new Promise((resolve) => s.close(resolve))));
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
