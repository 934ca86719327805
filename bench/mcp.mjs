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
import { parseArgs } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpHandler, fromJsonSchema, McpServer } from '@modelcontextprotocol/server';
import { Runtime } from '../lib/runtime/index.js';
// The in-memory store is internal to botc (not in the public API); the benchmark imports it by path.
import { MemoryStore } from '../lib/state/memory.js';
import { mcpHttpHandler } from '../lib/adapters/index.js';
import { listenMcpHttp } from '../lib/cli/serve.js';
import { batch, METHOD, mockWorkspace, percentile, positive } from './harness.mjs';

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

const TOOL = 'accounts__benchmock_accounts_score_v1';

const { root: ROOT, bundle, score } = await mockWorkspace('mcp', 'Measures MCP round trips.');
const runtime = await Runtime.load(bundle, { root: ROOT, store: new MemoryStore() });
const spec = bundle.methods[METHOD];

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

await batch(paths.botc, WARMUP);
await batch(paths.bare, WARMUP);

const latencies = { botc: new Float64Array(CALLS), bare: new Float64Array(CALLS) };
const totals = { botc: 0, bare: 0 };
let done = 0;
for (let round = 0; round < ROUNDS; round++) {
  const count = Math.floor(CALLS / ROUNDS) + (round < CALLS % ROUNDS ? 1 : 0);
  // Interleave, alternating which goes first, so drift (GC, JIT, other load) hits both.
  const order = round % 2 === 0 ? ['botc', 'bare'] : ['bare', 'botc'];
  for (const name of order) totals[name] += (await batch(paths[name], count, latencies[name], done)).ms;
  done += count;
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
