/**
 * The cold build's overlap (src/build/compile.ts): the bots load while the integration stage
 * runs, and are checked and assembled while the schema worker still compiles, on the guess that
 * every schema still being compiled passes. A wrong guess is put right before anything is
 * committed: a schema with lints replaces the resolve stage's warnings, one with an error
 * redoes everything after the integration stage.
 *
 * Only the compiled library (lib/) has the worker thread, so only it guesses; run from the
 * sources, every schema is checked on the spot. Each fixture must build to the same result,
 * diagnostics and bytes both ways, cold and then again from the cache the cold build stored.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { build as sourceBuild, type BuildOptions, type BuildResult } from '../src/build/build.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { tier } from './helpers/tier.ts';
import { tempDir } from './helpers/workspace.ts';

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures');
type Build = (options: BuildOptions) => Promise<BuildResult>;
type Checker = typeof import('../src/build/validate/schema-checker.ts').SchemaChecker;

const libBuild = async (): Promise<Build> => ((await import(pathToFileURL(path.join(REPO_ROOT, 'lib/index.js')).href)) as { build: Build }).build;
const libChecker = async (): Promise<Checker> =>
  ((await import(pathToFileURL(path.join(REPO_ROOT, 'lib/build/validate/schema-checker.js')).href)) as { SchemaChecker: Checker }).SchemaChecker;

/** Fixtures with integrations; the fast tier keeps those about schemas (the guess) and one of every outcome. */
const withIntegrations = readdirSync(FIXTURES).filter((name) => readdirSync(path.join(FIXTURES, name)).includes('integrations'));
const FAST = ['valid-full', 'valid-method-schema-lint', 'valid-schema-patterns', 'invalid-method-schema-invalid', 'invalid-method-schema-invalid-shared', 'invalid-method-schema-invalid-typo', 'invalid-unknown-method'];
const fixtures = tier(withIntegrations.filter((name) => FAST.includes(name)), withIntegrations);

/** Builds a fresh copy of the fixture as `botc build` does (cache on, bundles not kept), twice: cold, then from its cache. */
async function buildTwice(build: Build, fixture: string, change?: (root: string) => void): Promise<{ results: BuildResult[]; files: Record<string, string>[] }> {
  const root = path.join(tempDir(), fixture);
  // Without the cache a fixture test may have left in the fixture: the first build is cold.
  cpSync(path.join(FIXTURES, fixture), root, { recursive: true, filter: (source) => path.basename(source) !== '.botc' });
  // Modules import `botc/integration`, as from an installed botc.
  mkdirSync(path.join(root, 'node_modules'));
  symlinkSync(REPO_ROOT, path.join(root, 'node_modules', 'botc'), 'dir');
  change?.(root);
  const results: BuildResult[] = [];
  const files: Record<string, string>[] = [];
  for (let run = 0; run < 2; run++) {
    results.push(await build({ root, out: 'dist', keepBundles: false }));
    const dist = path.join(root, 'dist');
    let names: string[] = [];
    try {
      names = readdirSync(dist).sort();
    } catch {
      // nothing written
    }
    files.push(Object.fromEntries(names.map((name) => [name, readFileSync(path.join(dist, name), 'utf8')])));
  }
  return { results, files };
}

describe('a cold build that goes on while the schemas compile gives what a build that waits gives', () => {
  it.each(fixtures)('%s: same result, diagnostics and bundle bytes, cold and from the cache', { timeout: 60_000 }, async (fixture) => {
    const [guessing, waiting] = [await buildTwice(await libBuild(), fixture), await buildTwice(sourceBuild, fixture)];
    // From the cache, the same result; every bundle file it left as it was is `unchanged`.
    const [cold, cached] = waiting.results as [BuildResult, BuildResult];
    expect(cached).toEqual(cached.ok ? { ...cold, unchanged: cold.bundles.map((b) => b.bot) } : cold);
    expect(guessing.results).toEqual(waiting.results);
    expect(guessing.files).toEqual(waiting.files);
  });
});

describe('webhook payload schemas are checked on the schema worker', () => {
  it('a payload schema that does not compile is the same diagnostic from the worker as from the calling thread', { timeout: 60_000 }, async () => {
    const breakPayload = (root: string) => {
      const file = path.join(root, 'integrations/manifest.json');
      const registry = JSON.parse(readFileSync(file, 'utf8')) as { integrations: { webhook?: { payload_schema: unknown } }[] };
      const entry = registry.integrations.find((e) => e.webhook !== undefined)!;
      entry.webhook!.payload_schema = { type: 'object', properties: { a: { type: 'strng' } } };
      writeFileSync(file, JSON.stringify(registry, null, 2));
    };
    const [worker, here] = [await buildTwice(await libBuild(), 'valid-full', breakPayload), await buildTwice(sourceBuild, 'valid-full', breakPayload)];
    expect(here.results[0]!.diagnostics.map((d) => d.code)).toContain('integration-registry-invalid');
    expect(worker.results).toEqual(here.results);
    expect(worker.files).toEqual(here.files);
  });
});

describe('SchemaChecker guesses for schemas the worker has not answered', () => {
  const clean = { type: 'object', properties: { id: { type: 'string' } } };
  const linted = { type: 'object', properties: { name: { minLength: 1 } } };
  const broken = { type: 'object', properties: { id: { type: 'strin' } } };

  it.each([
    ['held', [clean]],
    ['lints', [clean, linted]],
    ['errors', [clean, linted, broken]],
  ] as const)('confirm() answers %s, and report() gives the real answers afterwards', async (verdict, schemas) => {
    const checker = new (await libChecker())();
    try {
      checker.submit([...schemas]);
      expect(checker.outstanding).toBe(true);
      checker.assumeOutstanding();
      // Answered at once as passing: the worker's answers cannot have arrived in this same turn.
      for (const schema of schemas) expect(checker.report(schema)).toEqual({ lints: [] });
      expect(await checker.confirm()).toBe(verdict);
      expect(checker.report(clean)).toEqual({ lints: [] });
      if (schemas.includes(linted)) expect(checker.report(linted).lints).toHaveLength(1);
      if (schemas.includes(broken)) expect(checker.report(broken).error?.pointer).toBe('/properties/id/type');
    } finally {
      checker.close();
    }
  });

  it('checkPayloads answers on the worker, and answers itself what a closed worker left unanswered', async () => {
    const texts = [JSON.stringify({ type: 'object' }), JSON.stringify({ type: 'object', properties: { a: { type: 'strng' } } })];
    const checker = new (await libChecker())();
    try {
      const verdicts = await checker.checkPayloads(texts);
      expect(verdicts[0]).toEqual({});
      expect(verdicts[1]!.problem).toMatch(/type/);
      const pending = checker.checkPayloads(texts);
      checker.close();
      expect(await pending).toEqual(verdicts);
    } finally {
      checker.close();
    }
  });

  it('without assumeOutstanding, report() never guesses', async () => {
    const checker = new (await libChecker())();
    try {
      checker.submit([broken]);
      expect(checker.report(broken).error).toBeDefined();
    } finally {
      checker.close();
    }
  });
});
