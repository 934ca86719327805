import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SourceWalk, wholeBuildKey } from '../src/build/cache/build-cache.ts';
import { classifyEntries, discover } from '../src/build/discover/discover.ts';
import { tempDir, writeFiles } from './helpers/workspace.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const OPTIONS = { out: 'dist', bots: [], write: true, lock: 'check' };

/** What a one-edit rebuild classifies from the walk that made its key, or undefined when that walk gives no listing. */
function fromWalk(root: string) {
  const walk = new SourceWalk();
  wholeBuildKey(root, OPTIONS, walk);
  return walk.listing && classifyEntries(walk.listing);
}

describe('one-edit rebuild: discovery from the source walk', () => {
  it('the listing of the source walk classifies as discovery does, for every fixture', () => {
    const names = readdirSync(FIXTURES).filter((name) => /^(valid|invalid)-/.test(name));
    expect(names.length).toBeGreaterThan(50);
    for (const name of names) expect(fromWalk(path.join(FIXTURES, name)), name).toEqual(discover(path.join(FIXTURES, name)));
  });

  it('and for links, dot files, special names and odd kinds at every level; a skipped folder discovery lists leaves the walk without a listing', () => {
    const root = tempDir();
    writeFiles(root, {
      'bots/a/manifest.json': '{}',
      'bots/a/prompts/expert_x.md': 'x',
      'bots/a/prompts/.hidden.md': 'x',
      'bots/a/prompts/deep/too_deep.md': 'x',
      'bots/a/notes/n.md': 'x',
      'bots/a/.env': 'x',
      'bots/b/prompts': 'a file where a folder goes',
      'bots/.dot/manifest.json': '{}',
      'bots/readme.md': 'x',
      'prompts/00.md': 'x',
      'prompts/sub/01.md': 'x',
      'integrations/manifest.json': '{}',
      'integrations/acme/index.mjs': 'x',
      'automations/a.json': '{}',
    });
    mkdirSync(path.join(root, 'bots', 'c'));
    symlinkSync(path.join(root, 'bots', 'a'), path.join(root, 'bots', 'linked'));
    symlinkSync(path.join(root, 'bots', 'a', 'prompts'), path.join(root, 'bots', 'c', 'prompts'));
    symlinkSync('missing.md', path.join(root, 'prompts', 'dangling.md'));
    symlinkSync(path.join(root, 'integrations', 'acme'), path.join(root, 'integrations', 'alias'));
    expect(fromWalk(root)).toEqual(discover(root));
    // Top-level sources that are links or files.
    const odd = tempDir();
    writeFiles(odd, { 'elsewhere/bots/a/manifest.json': '{}', prompts: 'a file', 'integrations/x.md': 'x' });
    symlinkSync(path.join(odd, 'elsewhere', 'bots'), path.join(odd, 'bots'));
    expect(fromWalk(odd)).toEqual(discover(odd));
    // `bots/node_modules` is a bot folder to discovery, which the walk never enters.
    writeFileSync(path.join(root, 'bots', 'c', 'manifest.json'), '{}');
    mkdirSync(path.join(root, 'bots', 'node_modules', 'pkg'), { recursive: true });
    expect(fromWalk(root)).toBeUndefined();
  });
});

describe('one-edit rebuild: the end-of-build check of the sources it read', () => {
  it('sectionsUnchanged finds an edit, an added file and a removed folder in the named sections only', async () => {
    const { sectionsUnchanged } = await import('../src/build/cache/build-cache.ts');
    const { rmSync } = await import('node:fs');
    const root = tempDir();
    writeFiles(root, { 'bots/a/manifest.json': '{"a":1}', 'bots/b/manifest.json': '{}', 'prompts/00.md': 'x' });
    const walk = new SourceWalk();
    wholeBuildKey(root, OPTIONS, walk);
    expect(sectionsUnchanged(root, walk, ['bots/a', 'bots/b', 'prompts', 'botc.config.json'])).toBe(true);
    // Same size, written just now: found by its bytes.
    writeFiles(root, { 'bots/a/manifest.json': '{"a":2}' });
    expect(sectionsUnchanged(root, walk, ['bots/a'])).toBe(false);
    expect(sectionsUnchanged(root, walk, ['bots/b', 'prompts'])).toBe(true);
    writeFiles(root, { 'prompts/01.md': 'y', 'botc.config.json': '{}' });
    expect(sectionsUnchanged(root, walk, ['prompts'])).toBe(false);
    expect(sectionsUnchanged(root, walk, ['botc.config.json'])).toBe(false);
    rmSync(path.join(root, 'bots', 'b'), { recursive: true });
    expect(sectionsUnchanged(root, walk, ['bots/b'])).toBe(false);
  });
});
