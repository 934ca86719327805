import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import { racyWindow, readSourceIndex, SourceWalk, sourceIndexKey, wholeBuildKey } from '../src/build/cache/build-cache.ts';
import { BuildCache } from '../src/build/cache/cache.ts';
import { WorkspaceFiles } from '../src/load/files.ts';
import { writeWorkspace } from './helpers/workspace.ts';

// The source index (cache kind `sources`): the previous build's fingerprint and sha256 of every
// source file, so that a rebuild reads only the files that changed (as git's index does).

const EXPERT = 'bots/demo/prompts/expert_helper.md';
const OPTIONS = { keepBundles: false, lock: 'ignore' } as const;

/** A walk of `root` as the next build makes it: from the stored index when there is one. */
function walk(root: string): { key: string; hashed: number } {
  const cache = BuildCache.open(root)!;
  const source = new SourceWalk();
  const key = wholeBuildKey(root, { out: path.join(root, 'dist'), bots: [], write: true, lock: 'ignore' }, source, readSourceIndex(cache));
  return { key, hashed: source.hashed };
}

/** The same walk with every file read (no index). */
function fullKey(root: string): string {
  return wholeBuildKey(root, { out: path.join(root, 'dist'), bots: [], write: true, lock: 'ignore' }, new SourceWalk());
}

function indexFile(root: string): string {
  const dir = path.join(root, '.botc', 'cache', 'sources');
  const [name] = readdirSync(dir);
  return path.join(dir, name!);
}

describe('the source index', () => {
  it('spares a rebuild reading unchanged files, and still sees a same-size rewrite whose mtime was set back', async () => {
    const root = writeWorkspace({ 'prompts/extra.md': '---\ndescription: An extra block.\n---\nBe brief.\n' });
    // Files changed just before a walk (within 100 ms on a file system with sub-second times)
    // are read again by the next one (racy).
    await sleep(150);
    const first = await build({ root, ...OPTIONS });
    expect(first.ok).toBe(true);
    const unchanged = walk(root);
    expect(unchanged.hashed).toBe(0);
    expect(unchanged.key).toBe(fullKey(root));

    // Same size, different bytes, mtime put back: the ctime still moved, so it is read again.
    const file = path.join(root, ...EXPERT.split('/'));
    const before = statSync(file);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('Helps with demos.', 'Helps with tests.'));
    utimesSync(file, before.atime, before.mtime);
    expect(statSync(file).size).toBe(before.size);
    const changed = walk(root);
    expect(changed.hashed).toBe(1);
    expect(changed.key).toBe(fullKey(root));
    expect(changed.key).not.toBe(unchanged.key);

    const second = await build({ root, ...OPTIONS });
    expect(second).toEqual(await build({ root, ...OPTIONS, cache: false }));
  }, 20_000);

  it('takes a racy window of two seconds for files with whole-second times, a tenth of one otherwise', () => {
    expect(racyWindow({ mtimeMs: 1_700_000_000_000, ctimeMs: 1_700_000_002_000 })).toBe(2_000);
    expect(racyWindow({ mtimeMs: 1_700_000_000_000, ctimeMs: 1_700_000_002_004.25 })).toBe(100);
    expect(racyWindow({ mtimeMs: 1_700_000_000_120.5, ctimeMs: 1_700_000_002_000 })).toBe(100);
  });

  it('reads again every file changed just before the walk that stored it', async () => {
    const root = writeWorkspace();
    await build({ root, ...OPTIONS });
    const next = walk(root);
    expect(next.hashed).toBe(2);
    expect(next.key).toBe(fullKey(root));
  });

  it('is ignored when it is corrupt or not of the expected shape: every file is read', async () => {
    const root = writeWorkspace();
    const first = await build({ root, ...OPTIONS });
    const file = indexFile(root);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { payload: string };
    // A torn entry fails its payload hash.
    writeFileSync(file, JSON.stringify({ ...stored, payload: stored.payload.replace(/[0-9a-f]{64}/, '0'.repeat(64)) }));
    expect(readSourceIndex(BuildCache.open(root)!)).toBeUndefined();
    expect(walk(root).hashed).toBe(2);
    // The same result (the bundle file, in place, is left as it was).
    const again = await build({ root, ...OPTIONS });
    expect({ ...again, unchanged: [] }).toEqual({ ...first, unchanged: [] });
  });

  it('refuses an entry whose files are not [path, fingerprint, sha256] triples', () => {
    const root = writeWorkspace();
    const cache = BuildCache.open(root)!;
    for (const files of [[['a', 'b']], [['a', 'b', 'not-a-digest']], 'x', [[1, 'b', '0'.repeat(64)]]]) {
      cache.write('sources', sourceIndexKey(), { started: Date.now(), files });
      expect(readSourceIndex(cache)).toBeUndefined();
    }
  });
});

describe("the walk's bytes lent to the build", () => {
  it('are read once, from the lend, after the same folder checks; what is not lent is read from disk', () => {
    const root = writeWorkspace();
    mkdirSync(path.join(root, 'elsewhere'));
    symlinkSync(path.join(root, 'elsewhere'), path.join(root, 'bots', 'linked'));
    const files = new WorkspaceFiles(root);
    const bytes = Buffer.from('lent text\n');
    const digest = createHash('sha256').update(bytes).digest('hex');
    files.lend(new Map([['bots/demo/ghost.md', bytes], ['bots/linked/x.md', bytes]]), new Map([['bots/demo/ghost.md', digest]]));
    // Not on disk: only the lend can answer, and only once.
    expect(files.read('bots/demo/ghost.md')).toEqual({ ok: true, text: 'lent text\n', sha256: digest });
    expect(files.read('bots/demo/ghost.md')).toEqual({ ok: false, kind: 'missing' });
    // A folder that is a link is refused before the lend is consulted.
    expect(files.read('bots/linked/x.md')).toMatchObject({ ok: false, kind: 'unsafe' });
    // Over the caller's cap: read from disk, which reports it.
    files.lend(new Map([[EXPERT, Buffer.alloc(64, 0x61)]]));
    expect(files.read(EXPERT, 16)).toMatchObject({ ok: false, kind: 'too-large' });
  });

  it('give the same build as reading every file', async () => {
    const root = writeWorkspace({ 'prompts/extra.md': '---\ndescription: An extra block.\n---\nBe brief.\r\n' });
    const lent = await build({ root, ...OPTIONS });
    expect(lent).toEqual(await build({ root, ...OPTIONS, cache: false }));
  });
});
