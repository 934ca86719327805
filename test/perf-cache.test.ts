import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { build, type BuildResult } from '../src/build/build.ts';
import { BuildCache, CACHE_DIR, cacheKey, PACKED_KINDS, type CacheKind } from '../src/build/cache/cache.ts';
import { PACK_DIR } from '../src/build/cache/pack.ts';
import { IntegrationStageCache } from '../src/build/cache/integration-cache.ts';
import { BotReuse } from '../src/build/cache/incremental.ts';
import { tempDir, writeFiles } from './helpers/workspace.ts';
import { rng } from './helpers/random.ts';
import { tier } from './helpers/tier.ts';


const MANIFEST = `${JSON.stringify({
  bot: 'demo', version: '1.0.0', description: 'A demo bot.',
  tools: [{ name: 'things', description: 'Reads things.', methods: ['acme.things.list.v1', 'acme.things.get.v1'] }],
}, null, 2)}\n`;

const REGISTRY = `${JSON.stringify({ integrations: [{ provider: 'acme', module: 'acme/index.mjs', export: 'AcmeIntegration', classification: 'read_only', modes: ['request_response'], lifecycle: 'active' }] }, null, 2)}\n`;

/** The module imports its schemas and descriptions from a helper file, which the edits change. */
const MODULE = `import { INPUT, DESCRIPTION } from './schemas.mjs';
const spec = (method_id, description) => ({
  method_id, provider: 'acme', description, input_schema: INPUT, output_schema: { type: 'object' },
  capabilities: ['read'], auth_scopes: [], rate_limit_hint: null, idempotency: 'safe_read',
  cost_hint: null, deprecated: false, replacement_method_id: null,
});
export class AcmeIntegration {
  describeMethods() {
    return [
      spec('acme.things.list.v1', DESCRIPTION),
      spec('acme.things.get.v1', 'Fetches one thing.'),
    ];
  }
  async authStatus() { return { authenticated: false }; }
  async call() { return { ok: false, error: { code: 'PROVIDER_ERROR', message: 'no', provider_code: null, http_status: null, retriable: false } }; }
}
`;

const helper = (input: unknown, description: string) => `export const INPUT = ${JSON.stringify(input)};\nexport const DESCRIPTION = ${JSON.stringify(description)};\n`;

const SCHEMAS: unknown[] = [
  { type: 'object', additionalProperties: false, properties: {} },
  { type: 'object', additionalProperties: false, properties: { id: { type: 'string', pattern: '^[a-z]+$' } } },
  { type: 'object', properties: { id: { type: 'string' } } }, // lint: open object
  { type: 'object', additionalProperties: false, properties: { id: { type: 'strin' } } }, // invalid
  { type: 'object', additionalProperties: false, properties: { q: { type: 'string', pattern: '^(a+)+$' } } }, // ReDoS
  { type: 'object', additionalProperties: false, required: ['n'], properties: { n: { type: 'integer', minimum: 1 } } },
];

const EXPERTS = [
  '---\nfexp_description: Helps with demos.\nfexp_allow_tools: [things]\n---\nYou help with {{bot.description}}.\n',
  '---\nfexp_description: Helps with demos.\nfexp_allow_tools: [things]\n---\nYou help. Use the things tool with care.\n',
  '---\nfexp_description: Helps with demos.\nfexp_allow_tools: [things]\n---\nYou help with {{bot.nope}}.\n', // unknown template variable
  '---\nfexp_description: Helps with demos.\n---\nNo tools: things is unreachable.\n',
  '---\nfexp_description: [unterminated\n---\nBroken front matter.\n',
];

const COMMONS = [
  '---\ndescription: Rules for things.\nwhen_tools_any: [things]\n---\nBe careful with things.\n',
  '---\ndescription: Rules for nothing.\nwhen_tools_any: [thingz]\n---\nNever shown.\n', // names no tool
  '---\ndescription: Shared.\n---\nShared by everyone.\n',
];

function bundlesOf(root: string, out: string): Record<string, string> {
  const dir = path.join(root, out);
  let names: string[] = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return {};
  }
  return Object.fromEntries(names.map((name) => [name, readFileSync(path.join(dir, name), 'utf8')]));
}

async function both(root: string): Promise<{ cached: BuildResult; uncached: BuildResult }> {
  // out-cached is kept between builds, so an unchanged workspace is answered whole from the cache.
  rmSync(path.join(root, 'out-uncached'), { recursive: true, force: true });
  const uncached = await build({ root, out: 'out-uncached', cache: false, lock: 'ignore', keepBundles: false });
  const cached = await build({ root, out: 'out-cached', lock: 'ignore', keepBundles: false });
  return { cached, uncached };
}

function expectSame({ cached, uncached }: { cached: BuildResult; uncached: BuildResult }, root: string): void {
  expect(cached.diagnostics).toEqual(uncached.diagnostics);
  expect(cached.ok).toBe(uncached.ok);
  expect(cached.bundles.map((b) => b.digest)).toEqual(uncached.bundles.map((b) => b.digest));
  // A failed build writes nothing (out-cached then keeps the last good bundles).
  if (uncached.ok) expect(bundlesOf(root, 'out-cached')).toEqual(bundlesOf(root, 'out-uncached'));
}


/** One bot with one tool over the `acme` integration, whose helper module exports `schema` as a method's input schema. */
function acmeWorkspace(schema: unknown): Record<string, string> {
  return {
    'bots/demo/manifest.json': MANIFEST,
    'bots/demo/prompts/expert_helper.md': EXPERTS[0]!,
    'bots/demo/prompts/tool_things.md': '---\ndescription: How to use things.\n---\nList before you get.\n',
    'integrations/manifest.json': REGISTRY,
    'integrations/acme/index.mjs': MODULE,
    'integrations/acme/schemas.mjs': helper(schema, 'Lists things.'),
  };
}

describe('build cache', () => {
  it('cached and uncached builds give byte-identical bundles and identical diagnostics over a seeded series of edits', async () => {
    const random = rng(14);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const root = tempDir();
    const state = { schema: SCHEMAS[0], description: 'Lists things.', expert: EXPERTS[0]!, common: COMMONS[0]! };
    const write = () =>
      writeFiles(root, {
        'bots/demo/manifest.json': MANIFEST,
        'bots/demo/prompts/expert_helper.md': state.expert,
        'bots/demo/prompts/tool_things.md': '---\ndescription: How to use things.\n---\nList before you get.\n',
        'prompts/10_things.md': state.common,
        'integrations/manifest.json': REGISTRY,
        'integrations/acme/index.mjs': MODULE,
        'integrations/acme/schemas.mjs': helper(state.schema, state.description),
      });
    write();
    const first = await both(root);
    expect(first.uncached.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(first.uncached.ok).toBe(true);
    expectSame(first, root);
    const seen = new Set<string>();
    // Nine steps with BOTC_FULL=1; five in the fast tier (the seed still reaches diagnostics and fills every cache kind).
    for (let step = 0; step < tier(5, 9); step++) {
      const edit = pick(['prompt', 'schema', 'helper', 'common', 'none'] as const);
      if (edit === 'prompt') state.expert = pick(EXPERTS);
      else if (edit === 'schema') state.schema = pick(SCHEMAS);
      else if (edit === 'helper') state.description = pick(['Lists things.', 'Lists every thing.', 'Lists things, newest first.']);
      else if (edit === 'common') state.common = pick(COMMONS);
      write();
      const run = await both(root);
      for (const d of run.uncached.diagnostics) seen.add(d.code);
      expectSame(run, root);
    }
    // The series reached failing builds too, so diagnostics were compared, not only bundles.
    expect(seen.size).toBeGreaterThan(0);
    // And the cache was used: the module's declarations and the schema reports are stored, in one pack.
    expect(readdirSync(path.join(root, CACHE_DIR, 'build')).length).toBeGreaterThan(0);
    expect(readdirSync(path.join(root, CACHE_DIR, PACK_DIR)).filter((n) => n.endsWith('.pack'))).toHaveLength(1);
    const cache = BuildCache.open(root)!;
    for (const kind of PACKED_KINDS) expect(cache.mayHold(kind)).toBe(true);
    for (const kind of PACKED_KINDS) expect(readdirSync(path.join(root, CACHE_DIR))).not.toContain(kind);
  }, 60_000);

  it('over a seeded series of prompt, manifest, common block, helper, outside-helper, rename and delete edits in a workspace of several bots, builds reusing bots and the integration stage equal uncached ones', async () => {
    const random = rng(1414);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    /** A value other than `current`: every edit of the series changes something. */
    const change = <T>(list: readonly T[], current: T | undefined): T => pick(list.filter((v) => v !== current));
    const root = tempDir();
    /** The module of this series imports a helper from outside the source folders too. */
    const module = MODULE.replace("import { INPUT, DESCRIPTION } from './schemas.mjs';", "import { INPUT } from './schemas.mjs';\nimport { DESCRIPTION } from '../../lib/shared.mjs';");
    const manifest = (bot: string, description: string) => MANIFEST.replace('"demo"', JSON.stringify(bot)).replace('A demo bot.', description);
    const files: Record<string, string> = {
      'integrations/manifest.json': REGISTRY,
      'integrations/acme/index.mjs': module,
      'integrations/acme/schemas.mjs': helper(SCHEMAS[0], 'unused'),
      'lib/shared.mjs': 'export const DESCRIPTION = "Lists things.";\n',
      'prompts/10_things.md': COMMONS[0]!,
      'prompts/20_shared.md': COMMONS[2]!,
    };
    for (const bot of ['alpha', 'beta', 'gamma']) {
      files[`bots/${bot}/manifest.json`] = manifest(bot, 'A demo bot.');
      files[`bots/${bot}/prompts/expert_helper.md`] = EXPERTS[0]!;
      files[`bots/${bot}/prompts/tool_things.md`] = '---\ndescription: How to use things.\n---\nList before you get.\n';
    }
    const sync = () => {
      for (const dir of ['bots', 'prompts', 'integrations', 'lib']) rmSync(path.join(root, dir), { recursive: true, force: true });
      writeFiles(root, files);
    };
    sync();
    const stage = vi.spyOn(IntegrationStageCache.prototype, 'lookup');
    const bots = vi.spyOn(BotReuse.prototype, 'lookup');
    try {
      const first = await both(root);
      expect(first.uncached.ok).toBe(true);
      expectSame(first, root);
      const seen = new Set<string>();
      const kinds = ['prompt', 'manifest', 'common', 'helper', 'outside', 'rename', 'delete', 'none'] as const;
      // After a failed build the next edit starts from the last workspace that built: most builds
      // then pass and store what the next one reuses, and failures are still compared.
      let lastGood = { ...files };
      let passes = 0;
      for (let step = 0; step < 12; step++) {
        // Every kind once, then at random.
        const edit = step < kinds.length ? kinds[step]! : pick(kinds);
        const bot = pick(['alpha', 'beta', 'gamma']);
        for (const file of Object.keys(files)) delete files[file];
        Object.assign(files, lastGood);
        if (edit === 'prompt') files[`bots/${bot}/prompts/expert_helper.md`] = change(EXPERTS, files[`bots/${bot}/prompts/expert_helper.md`]);
        else if (edit === 'manifest') files[`bots/${bot}/manifest.json`] = change(['A demo bot.', 'Another bot.', 'A bot that lists.'].map((d) => manifest(bot, d)), files[`bots/${bot}/manifest.json`]);
        else if (edit === 'common') files['prompts/10_things.md'] = change(COMMONS, files['prompts/10_things.md']);
        else if (edit === 'helper') files['integrations/acme/schemas.mjs'] = change(SCHEMAS.map((schema) => helper(schema, 'unused')), files['integrations/acme/schemas.mjs']);
        else if (edit === 'outside') files['lib/shared.mjs'] = change(['Lists things.', 'Lists every thing.', 'Lists things, newest first.'].map((d) => `export const DESCRIPTION = ${JSON.stringify(d)};\n`), files['lib/shared.mjs']);
        else if (edit === 'rename') {
          // A tool prompt renamed (misnamed, then back), or an expert renamed.
          const [from, to] = pick([
            ['tool_things.md', 'tool_thing.md'],
            ['tool_thing.md', 'tool_things.md'],
            ['expert_helper.md', 'expert_aide.md'],
            ['expert_aide.md', 'expert_helper.md'],
          ] as const);
          const text = files[`bots/${bot}/prompts/${from}`];
          if (text !== undefined) {
            delete files[`bots/${bot}/prompts/${from}`];
            files[`bots/${bot}/prompts/${to}`] = text;
          }
        } else if (edit === 'delete') {
          // A tool prompt deleted, or restored.
          const file = `bots/${bot}/prompts/tool_things.md`;
          if (files[file] === undefined) files[file] = '---\ndescription: How to use things.\n---\nList before you get.\n';
          else delete files[file];
        }
        sync();
        const run = await both(root);
        for (const d of run.uncached.diagnostics) seen.add(d.code);
        expectSame(run, root);
        if (run.uncached.ok) {
          lastGood = { ...files };
          passes++;
        }
      }
      // Both passing and failing builds were compared.
      expect(seen.size).toBeGreaterThan(0);
      expect(passes).toBeGreaterThan(3);
      // The reuse paths were taken: the integration stage and some bots came from the cache.
      expect(stage.mock.results.some((r) => r.value !== undefined)).toBe(true);
      expect(bots.mock.results.some((r) => r.value !== undefined)).toBe(true);
    } finally {
      stage.mockRestore();
      bots.mockRestore();
    }
  }, 90_000);

  it('a module helper outside the source folders is checked before an unchanged build is answered from the cache', async () => {
    const root = tempDir();
    writeFiles(root, {
      'bots/demo/manifest.json': MANIFEST,
      'bots/demo/prompts/expert_helper.md': EXPERTS[0]!,
      'bots/demo/prompts/tool_things.md': '---\ndescription: How to use things.\n---\nList before you get.\n',
      'integrations/manifest.json': REGISTRY,
      'integrations/acme/index.mjs': MODULE.replace("import { INPUT, DESCRIPTION } from './schemas.mjs';", "import { INPUT, DESCRIPTION } from '../../lib/schemas.mjs';"),
      'lib/schemas.mjs': helper(SCHEMAS[0], 'Lists things.'),
    });
    const described = () => readFileSync(path.join(root, 'dist', 'demo.bundle.json'), 'utf8').includes('Lists every thing.');
    expect((await build({ root, keepBundles: false, lock: 'ignore' })).ok).toBe(true);
    expect(described()).toBe(false);
    writeFiles(root, { 'lib/schemas.mjs': helper(SCHEMAS[0], 'Lists every thing.') });
    expect((await build({ root, keepBundles: false, lock: 'ignore' })).ok).toBe(true);
    expect(described()).toBe(true);
  }, 20_000);

  it('a changed helper imported by a module invalidates the module\'s cached declarations', async () => {
    const root = tempDir();
    const files = (description: string) => ({
      'bots/demo/manifest.json': MANIFEST,
      'bots/demo/prompts/expert_helper.md': EXPERTS[0]!,
      'bots/demo/prompts/tool_things.md': '---\ndescription: How to use things.\n---\nList before you get.\n',
      'integrations/manifest.json': REGISTRY,
      'integrations/acme/index.mjs': MODULE,
      'integrations/acme/schemas.mjs': helper(SCHEMAS[0], description),
    });
    writeFiles(root, files('Lists things.'));
    const before = await build({ root, write: false, keepBundles: true, lock: 'ignore' });
    writeFiles(root, files('Lists every thing there is.'));
    const after = await build({ root, write: false, keepBundles: true, lock: 'ignore' });
    expect(after.diagnostics).toEqual([]);
    const description = (r: BuildResult) => JSON.stringify(r.built[0]).includes('Lists every thing there is.');
    expect(description(before)).toBe(false);
    expect(description(after)).toBe(true);
  }, 20_000);

  it('an unchanged rebuild is answered whole from the cache only while its bundles are in place, byte for byte', async () => {
    const root = tempDir();
    writeFiles(root, acmeWorkspace(SCHEMAS[0]));
    const first = await build({ root, keepBundles: false, lock: 'ignore' });
    expect(first.ok).toBe(true);
    expect(first.ok && first.unchanged).toEqual([]);
    const file = path.join(root, 'dist', 'demo.bundle.json');
    const original = readFileSync(file, 'utf8');
    // The same result, but for the bundle files it left as they were (`unchanged`).
    const again = async (unchanged: string[]) => expect(await build({ root, keepBundles: false, lock: 'ignore' })).toEqual({ ...first, unchanged });
    await again(['demo']);
    // A bundle edited on disk is written again; a removed one too.
    writeFileSync(file, original.replace('A demo bot.', 'A tampered bot.'));
    await again([]);
    expect(readFileSync(file, 'utf8')).toBe(original);
    rmSync(file);
    await again([]);
    expect(readFileSync(file, 'utf8')).toBe(original);
  }, 30_000);

  it('corrupt, foreign and tampered entries are ignored: the build equals an uncached one', async () => {
    const root = tempDir();
    writeFiles(root, acmeWorkspace(SCHEMAS[5]));
    await build({ root, write: false, lock: 'ignore', keepBundles: false });
    const cacheDir = path.join(root, CACHE_DIR);
    let n = 0;
    // One file per entry (packs: the next test).
    for (const kind of readdirSync(cacheDir).filter((k) => !k.startsWith('.') && k !== PACK_DIR)) {
      for (const name of readdirSync(path.join(cacheDir, kind))) {
        const file = path.join(cacheDir, kind, name);
        const entry = JSON.parse(readFileSync(file, 'utf8')) as { version: string; payload: string };
        // Rotate through three kinds of damage.
        if (n % 3 === 0) writeFileSync(file, '{"format": "botc-cache/1", "torn');
        else if (n % 3 === 1) writeFileSync(file, JSON.stringify({ ...entry, version: 'botc-cache/1;botc@0.0.0-other' }));
        else writeFileSync(file, JSON.stringify({ ...entry, payload: entry.payload.replace(/"/, '"x') }));
        n++;
      }
    }
    expect(n).toBeGreaterThan(2);
    expectSame(await both(root), root);
    const cache = BuildCache.open(root)!;
    const key = cacheKey('probe');
    cache.put('build', key, { lints: [] });
    cache.flush();
    expect(cache.get('build', key)).toEqual({ lints: [] });
    const file = path.join(cacheDir, 'build', `${key}.json`);
    const entry = JSON.parse(readFileSync(file, 'utf8')) as { version: string };
    writeFileSync(file, JSON.stringify({ ...entry, version: 'botc-cache/1;botc@9.9.9' }));
    expect(cache.get('build', key)).toBeUndefined();
    expect(cache.stats.rejected).toBe(1);
  }, 30_000);

  it('keeps the bulk kinds in one pack file; a torn, edited, foreign, planted or linked pack is ignored and replaced: the build equals an uncached one', async () => {
    const root = tempDir();
    writeFiles(root, acmeWorkspace(SCHEMAS[2]));
    const cacheDir = path.join(root, CACHE_DIR);
    const packDir = path.join(cacheDir, PACK_DIR);
    const packs = () => readdirSync(packDir).sort();
    expectSame(await both(root), root);
    // One pack, named by the sha256 of its bytes, 0600, and no temporary file left.
    expect(packs()).toHaveLength(1);
    const [name] = packs();
    const original = readFileSync(path.join(packDir, name!));
    expect(name).toBe(`${createHash('sha256').update(original).digest('hex')}.pack`);
    expect(statSync(path.join(packDir, name!)).mode & 0o777).toBe(0o600);
    const pack = JSON.parse(original.toString('utf8')) as { format: string; version: string; entries: [string, string, string, string][] };
    expect(new Set(pack.entries.map((e) => e[0]))).toEqual(new Set(PACKED_KINDS));
    // An edit that changes a schema writes one new pack in place of the old one.
    writeFiles(root, { 'integrations/acme/schemas.mjs': helper(SCHEMAS[5], 'Lists things.') });
    expectSame(await both(root), root);
    expect(packs()).toHaveLength(1);
    expect(packs()).not.toEqual([name]);
    writeFiles(root, { 'integrations/acme/schemas.mjs': helper(SCHEMAS[2], 'Lists things.') });

    /** Replaces every pack with `text`, named by its sha256 unless `as` is given. */
    const plant = (text: string | Buffer, as?: string) => {
      for (const old of packs()) rmSync(path.join(packDir, old), { force: true });
      writeFileSync(path.join(packDir, as ?? `${createHash('sha256').update(text).digest('hex')}.pack`), text);
    };
    const damaged: [string, () => void][] = [
      ['truncated', () => plant(original.subarray(0, original.length >> 1), name)],
      ['edited in place', () => plant(Buffer.from(original.toString('utf8').replace(/lints/, 'lintz')), name)],
      ['not JSON, correctly named', () => plant('{"format": "botc-cache-pack/1", "torn')],
      ['another version, correctly named', () => plant(JSON.stringify({ ...pack, version: 'botc-cache/2;botc@0.0.0-other' }))],
      ['another format, correctly named', () => plant(JSON.stringify({ ...pack, format: 'botc-cache-pack/0' }))],
      ['every payload tampered, correctly named', () => plant(JSON.stringify({ ...pack, entries: pack.entries.map(([k, key, sha, payload]) => [k, key, sha, payload.replace(/\[/, '[{"message":"planted","pointer":""},')]) }))],
      ['a link to a valid pack', () => {
        const elsewhere = path.join(tempDir(), name!);
        writeFileSync(elsewhere, original);
        for (const old of packs()) rmSync(path.join(packDir, old), { force: true });
        symlinkSync(elsewhere, path.join(packDir, name!));
      }],
    ];
    // Every kind of damage with BOTC_FULL=1; in the fast tier a torn, an edited and a linked pack
    // (each case is two builds; the other kinds fail the same checks: format, version, entry hashes).
    const fastTier = new Set(['truncated', 'edited in place', 'a link to a valid pack']);
    for (const [what, damage] of damaged.filter(([what]) => tier(fastTier.has(what), true))) {
      damage();
      // Without the whole-build, per-bot and integration-stage entries, the build looks into the pack.
      for (const kind of ['build', 'bot', 'integrations']) rmSync(path.join(cacheDir, kind), { recursive: true, force: true });
      const probe = BuildCache.open(root)!;
      for (const [kind, key] of pack.entries.map(([k, key]) => [k, key] as const)) expect(probe.get(kind as CacheKind, key), what).toBeUndefined();
      expectSame(await both(root), root);
      // The damaged pack was replaced by a valid one, read back whole.
      expect(packs(), what).toHaveLength(1);
      expect(lstatSync(path.join(packDir, packs()[0]!)).isFile(), what).toBe(true);
      const reread = BuildCache.open(root)!;
      for (const [kind, key] of pack.entries.map(([k, key]) => [k, key] as const)) expect(reread.get(kind as CacheKind, key), what).toBeDefined();
      expect(reread.stats.rejected, what).toBe(0);
    }
    // A payload that does not hash to its recorded sha256 is rejected on use, entry by entry.
    const [first, ...rest] = pack.entries;
    plant(JSON.stringify({ ...pack, entries: [[first![0], first![1], first![2], `${first![3]} `], ...rest] }));
    const probe = BuildCache.open(root)!;
    expect(probe.get(first![0] as CacheKind, first![1])).toBeUndefined();
    expect(probe.stats.rejected).toBe(1);
    expect(probe.get(rest[0]![0] as CacheKind, rest[0]![1])).toBeDefined();
  }, 60_000);

  it('reads every pack two builds left, and the next pack replaces them and the one-file-per-entry folders of the older layout', () => {
    const root = tempDir();
    const cacheDir = path.join(root, CACHE_DIR);
    const [a, b, c] = [cacheKey('a'), cacheKey('b'), cacheKey('c')];
    // Two builds storing at once: each read no pack, each writes its own.
    const first = BuildCache.open(root)!;
    const second = BuildCache.open(root)!;
    first.get('schema', a);
    second.get('schema', b);
    first.put('schema', a, { lints: [] });
    second.put('declarations', b, { specs: [], handlers: null });
    first.flush();
    second.flush();
    expect(readdirSync(path.join(cacheDir, PACK_DIR))).toHaveLength(2);
    // An older layout's folder of a packed kind.
    mkdirSync(path.join(cacheDir, 'schema'));
    writeFileSync(path.join(cacheDir, 'schema', `${c}.json`), '{}');
    const third = BuildCache.open(root)!;
    expect(third.mayHold('schema')).toBe(true);
    expect(third.mayHold('module-inputs')).toBe(false);
    expect(third.get('schema', a)).toEqual({ lints: [] });
    expect(third.get('declarations', b)).toEqual({ specs: [], handlers: null });
    third.put('module-inputs', c, { inputs: [] });
    third.flush();
    expect(readdirSync(path.join(cacheDir, PACK_DIR))).toHaveLength(1);
    expect(readdirSync(cacheDir)).not.toContain('schema');
    const fourth = BuildCache.open(root)!;
    expect([fourth.get('schema', a), fourth.get('declarations', b), fourth.get('module-inputs', c)]).toEqual([{ lints: [] }, { specs: [], handlers: null }, { inputs: [] }]);
  });

  it('stores each written bundle under the sha256 of the bytes the writer wrote, the digest of the file as it is', async () => {
    const root = tempDir();
    writeFiles(root, acmeWorkspace(SCHEMAS[1]));
    expect((await build({ root, out: 'out', lock: 'ignore', keepBundles: false })).ok).toBe(true);
    const [entry] = readdirSync(path.join(root, CACHE_DIR, 'build'));
    const stored = JSON.parse((JSON.parse(readFileSync(path.join(root, CACHE_DIR, 'build', entry!), 'utf8')) as { payload: string }).payload) as { outputs: Record<string, string> };
    const files = readdirSync(path.join(root, 'out')).filter((n) => n.endsWith('.bundle.json'));
    expect(Object.keys(stored.outputs).sort()).toEqual(files.sort());
    for (const name of files) expect(stored.outputs[name]).toBe(createHash('sha256').update(readFileSync(path.join(root, 'out', name))).digest('hex'));
  }, 30_000);

  it('is created owner-only and git-ignored, not by a failed build, never used through a symbolic link, and bypassed by cache: false', async () => {
    const root = tempDir();
    writeFiles(root, { 'bots/demo/manifest.json': MANIFEST.replace(/"tools": \[[\s\S]*\]\n/, '"tools": []\n'), 'bots/demo/prompts/expert_helper.md': '---\nfexp_description: Helps.\n---\nHi.\n', 'integrations/manifest.json': REGISTRY, 'integrations/acme/index.mjs': MODULE, 'integrations/acme/schemas.mjs': helper(SCHEMAS[1], 'x') });
    await build({ root, write: false, cache: false, lock: 'ignore' });
    expect(() => readdirSync(path.join(root, '.botc'))).toThrow();
    await build({ root, write: false, lock: 'ignore' });
    expect(statSync(path.join(root, CACHE_DIR)).mode & 0o777).toBe(0o700);
    expect(readFileSync(path.join(root, CACHE_DIR, '.gitignore'), 'utf8')).toContain('*');
    // A failed build writes nothing, the cache included.
    const failing = tempDir();
    writeFiles(failing, { 'bots/demo/manifest.json': '{', 'bots/demo/prompts/expert_helper.md': EXPERTS[0]! });
    expect((await build({ root: failing, write: false, lock: 'ignore' })).ok).toBe(false);
    expect(readdirSync(failing).sort()).toEqual(['bots']);
    // A link in place of .botc: the cache writes nothing through it.
    const linked = tempDir();
    writeFiles(linked, { 'bots/demo/prompts/expert_helper.md': EXPERTS[0]!, 'bots/demo/manifest.json': MANIFEST.replace(/"tools": \[[\s\S]*\]\n/, '"tools": []\n') });
    const elsewhere = tempDir();
    symlinkSync(elsewhere, path.join(linked, '.botc'));
    const cache = BuildCache.open(linked)!;
    cache.put('schema', cacheKey('x'), { lints: [] });
    cache.flush();
    expect(readdirSync(elsewhere)).toEqual([]);
    mkdirSync(path.join(elsewhere, 'cache'));
    expect(cache.get('schema', cacheKey('x'))).toBeUndefined();
  }, 30_000);
});
