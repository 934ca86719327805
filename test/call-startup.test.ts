/**
 * `botc call` start-up (issue 14): on a warm cache, a call does not load the libraries it needs
 * only to check a bundle or config it checked before (zod), nor the JSON-with-locations parser,
 * the webhook signature libraries, a TypeScript loader or esbuild. The verdicts that let it
 * skip those checks are authenticated under the user's key: a planted one is ignored.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import { bundleDigest } from '../src/bundle/digest.ts';
import { ConfigError, readConfig } from '../src/config.ts';
import { sha256Hex } from '../src/load/cache-entry.ts';
import { BundleLoadError } from '../src/runtime/bundle.ts';
import { loadBundle } from '../src/runtime/bundle-load.ts';
import { readValidator, storeValidator, VALIDATOR_KIND } from '../src/runtime/validator-cache.ts';
import { usePrecompiledValidators, Validators } from '../src/runtime/validators.ts';
import { readVerdict, storeVerdict, VERDICT_KIND } from '../src/runtime/verdicts.ts';
import { loadWorkspaceConfig } from '../src/runtime/workspace-config.ts';
import { spawnCliSync } from './helpers/cli.ts';
import { copyWorkspace } from './helpers/contract.ts';
import { loadedModules, moduleLogger } from './helpers/modules.ts';
import { tempDir } from './helpers/workspace.ts';

const CONFIG = `${JSON.stringify({ providers: { demo: { region: 'eu' } }, runtime: { timeout_ms: 5000 } }, null, 2)}\n`;

let home: string;

beforeAll(() => {
  // The user's module key goes to a scratch folder, not the real ~/.cache.
  home = tempDir('botc-cache-home-');
  mkdirSync(path.join(home, 'botc'), { recursive: true, mode: 0o700 });
  process.env.XDG_CACHE_HOME = home;
});

/** The demo workspace without any cache folder (another test's build may have left one in the fixture). */
function workspace(files: Record<string, string> = {}): string {
  const root = copyWorkspace(files);
  rmSync(path.join(root, '.botc'), { recursive: true, force: true });
  return root;
}

/** The demo workspace with a config, built with its cache (so the user key and `.botc/cache` exist). */
async function builtWorkspace(files: Record<string, string> = {}) {
  const root = workspace({ 'botc.config.json': CONFIG, ...files });
  const result = await build({ root, lock: 'ignore' });
  expect(result.ok).toBe(true);
  return { root, bundlePath: path.join(root, 'dist', 'helper.bundle.json') };
}

/** Libraries a read on a warm cache must not load, each with the reason it used to. */
const HEAVY = [
  /node_modules\/zod\//, // the bundle's and the config's schema checks
  /node_modules\/jsonc-parser\//, // JSON with locations, for the config's error messages
  /node_modules\/standardwebhooks\//, // webhook declarations, imported with the bundle schema
  /node_modules\/@octokit\//,
  /node_modules\/ajv\/dist\/(core|2020|compile|vocabularies)\//, // ajv: the validators are precompiled
  /node_modules\/ajv-formats\/dist\/index/,
  /node_modules\/re2js\//, // linear-time patterns: loaded on the first pattern compiled
  /node_modules\/tsx\//, // a TypeScript loader: the module is precompiled
  /node_modules\/esbuild\//,
];

describe('botc call on a warm cache', () => {
  it('imports no schema library for a bundle and config checked before, nor tsx or esbuild, and answers as the first call did', async () => {
    const { root, bundlePath } = await builtWorkspace();
    const scratch = tempDir('botc-call-startup-');
    const runs = [1, 2].map((n) => {
      const log = path.join(scratch, `modules-${n}.txt`);
      writeFileSync(log, '');
      const run = spawnCliSync(['call', bundlePath, '--root', root, '--expert', 'main', '--tool', 'things', '--op', 'call', '--args', JSON.stringify({ method_id: 'demo.things.list.v1', params: {} })], {
        env: { XDG_CACHE_HOME: home, BOTC_STATE_URL: path.join(scratch, 'state.db'), NODE_OPTIONS: `--import ${moduleLogger(scratch, log)}` },
      });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      // The CLI is bundled: a chunk counts as every module esbuild put in it.
      return { result: JSON.parse(run.stdout) as { ok: boolean; data: unknown }, modules: loadedModules(log) };
    });
    // The first call checked both files with the schema library, compiled its schemas with ajv
    // and stored the verdicts and validators.
    expect(runs[0]!.modules.some((m) => HEAVY[0]!.test(m))).toBe(true);
    expect(runs[0]!.modules.some((m) => HEAVY[3]!.test(m))).toBe(true);
    expect(readdirSync(path.join(root, '.botc', 'cache', VERDICT_KIND))).toHaveLength(2);
    expect(readdirSync(path.join(root, '.botc', 'cache', VALIDATOR_KIND)).length).toBeGreaterThan(0);
    // The second imports none of the heavy libraries, and the integration module came precompiled.
    expect(runs[1]!.modules.filter((m) => HEAVY.some((re) => re.test(m)))).toEqual([]);
    expect(runs[1]!.modules.some((m) => m.startsWith('data:text/javascript'))).toBe(true);
    expect(runs[1]!.result.ok).toBe(true);
    expect(runs[1]!.result.data).toEqual(runs[0]!.result.data);
    // Each call is audited as before.
    const db = new Database(path.join(scratch, 'state.db'), { readonly: true });
    try {
      expect(db.prepare("SELECT action, method_id, outcome FROM botc_audit ORDER BY seq").all()).toEqual([
        { action: 'call', method_id: 'demo.things.list.v1', outcome: 'ok' },
        { action: 'call', method_id: 'demo.things.list.v1', outcome: 'ok' },
      ]);
    } finally {
      db.close();
    }
  }, 30_000);
});

describe('verdicts of checked bundles and configs', () => {
  /** A bundle that breaks the schema (an unknown key) with a digest recomputed to match: only the schema check refuses it. */
  function forgedBundle(bundlePath: string): { file: string; text: string } {
    const bundle = JSON.parse(readFileSync(bundlePath, 'utf8')) as Record<string, unknown>;
    bundle['extra'] = 1;
    bundle['digest'] = bundleDigest(bundle);
    const text = `${JSON.stringify(bundle, null, 2)}\n`;
    const file = path.join(path.dirname(bundlePath), 'forged.bundle.json');
    writeFileSync(file, text);
    return { file, text };
  }

  /** Rewrites a stored verdict entry with another MAC, as someone without the user's key would plant one. */
  function plantWithWrongMac(root: string): void {
    const dir = path.join(root, '.botc', 'cache', VERDICT_KIND);
    for (const name of readdirSync(dir)) {
      const entry = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as { payload: string; sha256: string };
      const payload = JSON.parse(entry.payload) as { mac: string };
      payload.mac = '00'.repeat(32);
      entry.payload = JSON.stringify(payload);
      entry.sha256 = sha256Hex(entry.payload);
      writeFileSync(path.join(dir, name), JSON.stringify(entry));
    }
  }

  it('a bundle that breaks the schema is refused with its JSON path, even with a verdict planted without the user key', async () => {
    const { root, bundlePath } = await builtWorkspace();
    const { file, text } = forgedBundle(bundlePath);
    storeVerdict(root, 'bundle', sha256Hex(text), true);
    // Under the user's key the verdict is taken (only the user can store one)...
    await expect(loadBundle(file, root)).resolves.toMatchObject({ extra: 1 });
    // ...planted without it, it is not: the schema check runs and refuses the bundle.
    plantWithWrongMac(root);
    expect(readVerdict(root, 'bundle', sha256Hex(text))).toBeUndefined();
    await expect(loadBundle(file, root)).rejects.toThrow(BundleLoadError);
    await expect(loadBundle(file, root)).rejects.toThrow(/does not match the botc\.bundle\/1 format: \(top level\): unknown key "extra"/);
  });

  it('a bundle checked once is taken on its verdict only for the exact same text; a changed text is checked again', async () => {
    const { root, bundlePath } = await builtWorkspace();
    const text = readFileSync(bundlePath, 'utf8');
    expect(readVerdict(root, 'bundle', sha256Hex(text))).toBeUndefined();
    const first = await loadBundle(bundlePath, root);
    expect(readVerdict(root, 'bundle', sha256Hex(text))).toEqual({ result: true });
    expect(await loadBundle(bundlePath, root)).toEqual(first);
    // One byte of content changed after the build: not the verified text, so the digest check runs.
    writeFileSync(bundlePath, text.replace('"Helps with demo things."', '"Helps with demo thingz."'));
    await expect(loadBundle(bundlePath, root)).rejects.toThrow(/the bundle digest does not match its content/);
  });

  it('an object checked once and changed since is checked again', async () => {
    const { root, bundlePath } = await builtWorkspace();
    const bundle = (await loadBundle(bundlePath, root)) as unknown as Record<string, unknown>;
    expect(await loadBundle(bundle)).toBe(bundle);
    bundle['extra'] = 1;
    bundle['digest'] = bundleDigest(bundle);
    await expect(loadBundle(bundle)).rejects.toThrow(/unknown key "extra"/);
  });

  it('a config is read from its verdict only when the MAC verifies; a planted result is ignored', async () => {
    const { root } = await builtWorkspace();
    const sha = sha256Hex(readFileSync(path.join(root, 'botc.config.json'), 'utf8'));
    expect(await loadWorkspaceConfig(root)).toEqual(readConfig(root));
    expect(readVerdict(root, 'config', sha)).toEqual({ result: readConfig(root) });
    // Another workspace with the same text (this process remembers the first one's config):
    // a verdict stored under the user's key is what it reads...
    const other = async () => {
      const copy = workspace({ 'botc.config.json': CONFIG });
      cpSync(path.join(root, '.botc'), path.join(copy, '.botc'), { recursive: true });
      return copy;
    };
    storeVerdict(root, 'config', sha, { runtime: { timeout_ms: 1 } });
    expect(await loadWorkspaceConfig(await other())).toEqual({ runtime: { timeout_ms: 1 } });
    // ...and the same verdict planted without the key is ignored: the file is checked again.
    plantWithWrongMac(root);
    const planted = await other();
    expect(await loadWorkspaceConfig(planted)).toEqual(readConfig(planted));
  });

  it('a broken config is the same ConfigError as readConfig gives, and no verdict is stored for it', async () => {
    const root = workspace({ 'botc.config.json': '{"runtime": {"timeout_ms": "soon"}}\n' });
    mkdirSync(path.join(root, '.botc', 'cache'), { recursive: true });
    const expected = (() => {
      try {
        readConfig(root);
      } catch (error) {
        return error as ConfigError;
      }
      throw new Error('readConfig accepted a broken config');
    })();
    await expect(loadWorkspaceConfig(root)).rejects.toThrow(ConfigError);
    await expect(loadWorkspaceConfig(root)).rejects.toThrow(expected.message);
    expect(readdirSync(path.join(root, '.botc', 'cache'))).not.toContain(VERDICT_KIND);
  });

  it('nothing is stored in a workspace without a cache folder', async () => {
    const root = workspace({ 'botc.config.json': CONFIG });
    await loadWorkspaceConfig(root);
    expect(readdirSync(root)).not.toContain('.botc');
  });
});

describe('runtime validators without the meta-schema', () => {
  it('still refuse a schema with an unknown keyword or a keyword value of the wrong type', () => {
    expect(() => new Validators().get({ type: 'object', maxLenght: 3 })).toThrow(/unknown keyword/);
    expect(() => new Validators().get({ type: 'string', minLength: 'three' })).toThrow();
    expect(() => new Validators().get({ type: 'strin' })).toThrow();
    expect(new Validators().check({ type: 'object', properties: { n: { type: 'integer', maximum: 3 } } }, { n: 4 })).toBe('`n`: must be ≤ 3');
  });
});

describe('precompiled validators', () => {
  afterEach(() => usePrecompiledValidators(undefined));

  /** Schemas and values covering the keywords whose messages the runtime words itself. */
  const CASES: [object, unknown][] = [
    [{ type: 'object', additionalProperties: false, required: ['repo'], properties: { repo: { type: 'string', minLength: 1, pattern: '^[a-z]+$' }, limit: { type: 'integer', minimum: 1, maximum: 100 } } }, { repo: 'Bad!', colour: 'red', limit: 500 }],
    [{ type: 'object', properties: { when: { type: 'string', format: 'date' }, mail: { type: 'string', format: 'idn-email' }, state: { enum: ['open', 'closed'] } } }, { when: 'yesterday', mail: 'x', state: 'merged' }],
    [{ type: 'object', properties: { tags: { type: 'array', items: { type: 'string' }, uniqueItems: true, maxItems: 2 }, child: { $ref: '#' } } }, { tags: ['a', 'a', 'b'], child: { tags: [1] } }],
    [{ type: 'object', properties: { a: { type: 'string' } }, unevaluatedProperties: false, oneOf: [{ required: ['a'] }, { required: ['b'] }] }, { a: 'x', b: 1, c: 2 }],
    [{ type: 'object', required: ['toString'] }, {}],
  ];

  it('give the messages compiling the schema gives, without loading the schema again', async () => {
    const { root } = await builtWorkspace();
    const compiled = CASES.map(([schema, value]) => new Validators().check(schema, value));
    expect(compiled.every((m) => typeof m === 'string')).toBe(true);
    usePrecompiledValidators(root);
    const storing = CASES.map(([schema, value]) => new Validators().check(schema, value));
    for (const [schema] of CASES) expect(readValidator(root, JSON.stringify(schema))).toBeTypeOf('function');
    const precompiled = CASES.map(([schema, value]) => new Validators().check(schema, value));
    expect(storing).toEqual(compiled);
    expect(precompiled).toEqual(compiled);
    expect(CASES.map(([schema, value]) => new Validators().checkOutput(schema, value))).toEqual(CASES.map(([schema, value]) => {
      usePrecompiledValidators(undefined);
      return new Validators().checkOutput(schema, value);
    }));
  });

  it('a planted validator whose MAC does not verify (another key) is ignored: the schema is compiled', async () => {
    const { root } = await builtWorkspace();
    const schema = { type: 'object', properties: { n: { type: 'integer', maximum: 3 } } };
    storeValidator(root, JSON.stringify(schema), 'module.exports = function validate() { return true; };');
    expect(readValidator(root, JSON.stringify(schema))).toBeTypeOf('function');
    const dir = path.join(root, '.botc', 'cache', VALIDATOR_KIND);
    for (const name of readdirSync(dir)) {
      const entry = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as { payload: string; sha256: string };
      const payload = JSON.parse(entry.payload) as { mac: string };
      payload.mac = 'ff'.repeat(32);
      entry.payload = JSON.stringify(payload);
      entry.sha256 = sha256Hex(entry.payload);
      writeFileSync(path.join(dir, name), JSON.stringify(entry));
    }
    expect(readValidator(root, JSON.stringify(schema))).toBeUndefined();
    usePrecompiledValidators(root);
    expect(new Validators().check(schema, { n: 4 })).toBe('`n`: must be ≤ 3');
  });
});
