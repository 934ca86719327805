import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { build, type BuildResult } from '../src/build/build.ts';
import { CACHE_DIR } from '../src/build/cache/cache.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { tempDir, writeFiles } from './helpers/workspace.ts';
import { rng } from './helpers/random.ts';
import { tier } from './helpers/tier.ts';


const BOTS = ['alpha', 'beta', 'gamma'] as const;

const manifest = (bot: string) => `${JSON.stringify({
  bot, version: '1.0.0', description: `The ${bot} bot.`,
  tools: [{ name: 'things', description: 'Reads things.', methods: ['acme.things.list.v1', 'acme.things.get.v1'] }],
}, null, 2)}\n`;

const REGISTRY = `${JSON.stringify({ integrations: [{ provider: 'acme', module: 'acme/index.mjs', export: 'AcmeIntegration', classification: 'read_only', modes: ['request_response'], lifecycle: 'active' }] }, null, 2)}\n`;

const module = (input: unknown) => `const INPUT = ${JSON.stringify(input)};
const spec = (method_id, description) => ({
  method_id, provider: 'acme', description, input_schema: INPUT, output_schema: { type: 'object' },
  capabilities: ['read'], auth_scopes: [], rate_limit_hint: null, idempotency: 'safe_read',
  cost_hint: null, deprecated: false, replacement_method_id: null,
});
export class AcmeIntegration {
  describeMethods() { return [spec('acme.things.list.v1', 'Lists things.'), spec('acme.things.get.v1', 'Fetches one thing.')]; }
  async authStatus() { return { authenticated: false }; }
  async call() { return { ok: false, error: { code: 'PROVIDER_ERROR', message: 'no', provider_code: null, http_status: null, retriable: false } }; }
}
`;

const SCHEMAS: unknown[] = [
  { type: 'object', additionalProperties: false, properties: {} },
  { type: 'object', properties: { id: { type: 'string' } } }, // lint: open object
  { type: 'object', additionalProperties: false, properties: { id: { type: 'strin' } } }, // invalid
];

const EXPERTS = [
  '---\nfexp_description: Helps.\nfexp_allow_tools: [things]\n---\nYou help with {{bot.description}}.\n',
  '---\nfexp_description: Helps.\nfexp_allow_tools: [things]\n---\nYou help. Use the things tool with care.\n',
  '---\nfexp_description: Helps.\nfexp_allow_tools: [things]\n---\nYou help with {{bot.nope}}.\n',
  '---\nfexp_description: Helps.\n---\nNo tools: things is unreachable.\n',
  '---\nfexp_description: [unterminated\n---\nBroken front matter.\n',
  '---\nfexp_description: Helps.\nfexp_allow_tools: [things]\nfexp_block_tools: [nothing]\n---\nA warning: the blocked tool is not the bot\'s.\n',
];

const COMMONS = [
  '---\ndescription: Rules for things.\nwhen_tools_any: [things]\n---\nBe careful with things.\n',
  '---\ndescription: Rules for nothing.\nwhen_tools_any: [thingz]\n---\nNever shown.\n',
  '---\ndescription: Shared.\n---\nShared by everyone.\n',
];

function bundlesOf(dir: string): Record<string, string> {
  let names: string[] = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return {};
  }
  return Object.fromEntries(names.map((name) => [name, readFileSync(path.join(dir, name), 'utf8')]));
}

function entries(dir: string): number {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
}

function expectSame(cached: BuildResult, uncached: BuildResult, root: string): void {
  expect(cached.diagnostics).toEqual(uncached.diagnostics);
  expect(cached.ok).toBe(uncached.ok);
  expect(cached.bundles).toEqual(uncached.bundles.map((b) => ({ ...b, path: b.path.replace('out-uncached', 'out-cached') })));
  if (uncached.ok) expect(bundlesOf(path.join(root, 'out-cached'))).toEqual(bundlesOf(path.join(root, 'out-uncached')));
}

/** A workspace of the three bots, each with the first expert prompt and a tool prompt, over one module with `schema`. */
function threeBots(schema: unknown): string {
  const root = tempDir();
  for (const bot of BOTS) {
    writeFiles(root, {
      [`bots/${bot}/manifest.json`]: manifest(bot),
      [`bots/${bot}/prompts/expert_helper.md`]: EXPERTS[0]!,
      [`bots/${bot}/prompts/tool_things.md`]: '---\ndescription: How to use things.\n---\nList before you get.\n',
    });
  }
  writeFiles(root, { 'integrations/manifest.json': REGISTRY, 'integrations/acme/index.mjs': module(schema) });
  return root;
}

describe('per-bot reuse', () => {
  it('over a seeded series of edits to one bot, the common blocks, the schemas and the written bundles, reused bots give the build an uncached one gives', async () => {
    const random = rng(11);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const root = tempDir();
    const experts: Record<string, string> = { alpha: EXPERTS[0]!, beta: EXPERTS[1]!, gamma: EXPERTS[5]! };
    const state = { schema: SCHEMAS[0], common: COMMONS[0]!, bots: new Set<string>(BOTS) };
    const write = () => {
      for (const bot of BOTS) {
        if (!state.bots.has(bot)) {
          rmSync(path.join(root, 'bots', bot), { recursive: true, force: true });
          continue;
        }
        writeFiles(root, {
          [`bots/${bot}/manifest.json`]: manifest(bot),
          [`bots/${bot}/prompts/expert_helper.md`]: experts[bot]!,
          [`bots/${bot}/prompts/tool_things.md`]: '---\ndescription: How to use things.\n---\nList before you get.\n',
        });
      }
      writeFiles(root, {
        'prompts/10_things.md': state.common,
        'integrations/manifest.json': REGISTRY,
        'integrations/acme/index.mjs': module(state.schema),
      });
    };
    write();
    const seen = new Set<string>();
    let reusedSteps = 0;
    // Eight steps with BOTC_FULL=1; five in the fast tier (the seed still reaches errors, warnings and reuse).
    for (let step = 0; step < tier(5, 8); step++) {
      if (step > 0) {
        const edit = pick(['prompt', 'prompt', 'prompt', 'schema', 'common', 'tamper', 'remove-bundle', 'remove-bot', 'none'] as const);
        const bot = pick(BOTS);
        if (edit === 'prompt') experts[bot] = pick(EXPERTS);
        else if (edit === 'schema') state.schema = pick(SCHEMAS);
        else if (edit === 'common') state.common = pick(COMMONS);
        else if (edit === 'remove-bot') state.bots.has(bot) && state.bots.size > 1 ? state.bots.delete(bot) : state.bots.add(bot);
        const file = path.join(root, 'out-cached', `${bot}.bundle.json`);
        try {
          if (edit === 'tamper') writeFileSync(file, readFileSync(file, 'utf8').replace('things', 'thongs'));
          if (edit === 'remove-bundle') rmSync(file);
        } catch {
          // No bundle of that bot yet (a failed build writes nothing).
        }
      }
      write();
      rmSync(path.join(root, 'out-uncached'), { recursive: true, force: true });
      const uncached = await build({ root, out: 'out-uncached', cache: false, lock: 'ignore', keepBundles: false });
      const before = entries(path.join(root, CACHE_DIR, 'bot'));
      const cached = await build({ root, out: 'out-cached', lock: 'ignore', keepBundles: false });
      if (before > 0) reusedSteps++;
      for (const d of uncached.diagnostics) seen.add(`${d.severity} ${d.code}`);
      expectSame(cached, uncached, root);
      // `check` reuses too (nothing written, nothing to compare but the result).
      const checked = await build({ root, out: 'out-cached', lock: 'ignore', keepBundles: false, write: false });
      expect(checked.diagnostics).toEqual(uncached.diagnostics);
    }
    // Failing builds and warnings were both reached, and bots were stored for reuse.
    expect([...seen].some((s) => s.startsWith('error'))).toBe(true);
    expect([...seen].some((s) => s.startsWith('warning'))).toBe(true);
    expect(reusedSteps).toBeGreaterThan(0);
  }, 60_000);

  it('a prompt edit in one bot rewrites that bot\'s bundle only; the others stay in place untouched', async () => {
    const root = threeBots(SCHEMAS[1]);
    const first = await build({ root, lock: 'ignore', keepBundles: false });
    expect(first.ok).toBe(true);
    const inode = (bot: string) => statSync(path.join(root, 'dist', `${bot}.bundle.json`)).ino;
    const inodes = Object.fromEntries(BOTS.map((b) => [b, inode(b)]));
    writeFiles(root, { 'bots/beta/prompts/expert_helper.md': EXPERTS[1]! });
    const second = await build({ root, lock: 'ignore', keepBundles: false });
    const uncached = await build({ root, out: 'other', lock: 'ignore', keepBundles: false, cache: false });
    expect(second.diagnostics).toEqual(uncached.diagnostics);
    expect(bundlesOf(path.join(root, 'dist'))).toEqual(bundlesOf(path.join(root, 'other')));
    expect(inode('alpha')).toBe(inodes['alpha']);
    expect(inode('gamma')).toBe(inodes['gamma']);
    expect(inode('beta')).not.toBe(inodes['beta']);
  }, 30_000);
});

describe('per-bot reuse with automations', () => {
  it('checks automations against reused bots\' bundles read back from their files, as an uncached build does', async () => {
    const root = tempDir();
    // The example's TypeScript modules are kept precompiled under a user key: a scratch one here.
    const home = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = tempDir('botc-cache-home-');
    onTestFinished(() => {
      if (home === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = home;
    });
    for (const name of ['automations', 'bots', 'integrations', 'prompts', 'botc.config.json', 'botc.lock.json']) {
      cpSync(path.join(REPO_ROOT, name), path.join(root, name), { recursive: true });
    }
    mkdirSync(path.join(root, 'node_modules'));
    symlinkSync(REPO_ROOT, path.join(root, 'node_modules', 'botc'), 'dir');
    const first = await build({ root, keepBundles: false });
    expect(first.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const kept = statSync(path.join(root, 'dist', 'support_triage.bundle.json')).ino;
    const prompt = path.join(root, 'bots', 'sales_digest', 'prompts', readdirSync(path.join(root, 'bots', 'sales_digest', 'prompts')).find((n) => n.startsWith('expert_'))!);
    writeFileSync(prompt, `${readFileSync(prompt, 'utf8')}\nKeep answers short.\n`);
    const second = await build({ root, keepBundles: false });
    const uncached = await build({ root, out: 'other', keepBundles: false, cache: false });
    expect(second.ok).toBe(true);
    expect(second.diagnostics).toEqual(uncached.diagnostics);
    expect(bundlesOf(path.join(root, 'dist'))).toEqual(bundlesOf(path.join(root, 'other')));
    expect(statSync(path.join(root, 'dist', 'support_triage.bundle.json')).ino).toBe(kept);
  }, 30_000);
});

describe('the no-op check of written bundles', () => {
  it('a bundle edited in place with its size and mtime kept is still found changed and written again', async () => {
    const root = threeBots(SCHEMAS[0]);
    const first = await build({ root, lock: 'ignore', keepBundles: false });
    expect(first.ok).toBe(true);
    const file = path.join(root, 'dist', 'beta.bundle.json');
    const original = readFileSync(file, 'utf8');
    const before = statSync(file);
    // Same length, same mtime: only the ctime (which no tool can set back) tells.
    writeFileSync(file, original.replace('The beta bot.', 'The BETA bot.'));
    utimesSync(file, before.atime, before.mtime);
    expect(statSync(file).size).toBe(before.size);
    expect(readFileSync(file, 'utf8')).not.toBe(original);
    // Written again; the other two bots' files are left as they were.
    expect(await build({ root, lock: 'ignore', keepBundles: false })).toEqual({ ...first, unchanged: ['alpha', 'gamma'] });
    expect(readFileSync(file, 'utf8')).toBe(original);
  }, 20_000);
});
