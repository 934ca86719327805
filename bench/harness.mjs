/**
 * What the dispatch and MCP benchmarks share: the tiny mock workspace they build and call
 * (one read-only method with input and output schemas, served by an in-process handler), the
 * timed batch of sequential calls, percentiles and the command-line number check.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from '../lib/index.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const METHOD = 'benchmock.accounts.score.v1';

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

/**
 * Writes the mock workspace to `.bench/<name>/` (rewritten on every run), builds it, and returns
 * its root, its bundle and the method's handler (`score`, for calling it directly). Exits 2
 * when the build fails.
 */
export async function mockWorkspace(name, description) {
  const root = path.join(REPO, '.bench', name);
  const files = {
    'bots/benchbot/manifest.json': `${JSON.stringify({
      bot: 'benchbot',
      version: '1.0.0',
      description,
      tools: [{ name: 'accounts', description: 'Score accounts.', methods: [METHOD] }],
    }, null, 2)}\n`,
    'bots/benchbot/prompts/expert_runner.md': '---\nfexp_description: Runs the benchmark.\nfexp_allow_tools: [accounts]\n---\nYou run it.\n',
    'bots/benchbot/prompts/tool_accounts.md': 'Use `accounts`.\n',
    'integrations/manifest.json': `${JSON.stringify({
      integrations: [{ provider: 'benchmock', module: 'benchmock/index.mjs', export: 'BenchMockIntegration', classification: 'read_only', modes: ['request_response'], lifecycle: 'active' }],
    }, null, 2)}\n`,
    'integrations/benchmock/index.mjs': MODULE,
  };
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  const built = await build({ root, write: false });
  if (!built.ok) {
    console.error(JSON.stringify(built.diagnostics, null, 2));
    process.exit(2);
  }
  const { score } = await import(pathToFileURL(path.join(root, 'integrations/benchmock/index.mjs')).href);
  return { root, bundle: built.built[0], score };
}

/**
 * Runs `count` sequential calls of `fn`, writing each latency (ms) into `into` from `offset`
 * when given; returns the total ms and the CPU time (user + system, ms) the process used.
 */
export async function batch(fn, count, into, offset) {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let last = started;
  for (let i = 0; i < count; i++) {
    await fn();
    const now = performance.now();
    if (into) into[offset + i] = now - last;
    last = now;
  }
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpuBefore);
  return { ms, cpu: (used.user + used.system) / 1000 };
}

/** The `p`th percentile (0–100) of ascending `sorted` values, nearest rank. */
export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** `text` as a positive integer, or a message naming `flag` and exit 2. */
export function positive(text, flag) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${flag} must be a positive integer`);
    process.exit(2);
  }
  return n;
}
