import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { tempDir } from './helpers/workspace.ts';

const FIXTURE = path.resolve(import.meta.dirname, 'fixtures', 'invalid-automation-invalid');

describe('the whole-build cache key', () => {
  it('covers automations/: an automation edited after a cached build is checked again', async () => {
    const root = tempDir();
    cpSync(FIXTURE, root, { recursive: true, filter: (source) => !/[\\/]expected/.test(path.relative(FIXTURE, source)) });
    // The fixture's modules import `botc/integration`, as a workspace with botc installed does.
    mkdirSync(path.join(root, 'node_modules'));
    symlinkSync(REPO_ROOT, path.join(root, 'node_modules', 'botc'), 'dir');
    const file = path.join(root, 'automations', 'announce-approved-issue.json');
    const broken = readFileSync(file, 'utf8');
    writeFileSync(file, broken.replace('"announcr"', '"announcer"'));
    const first = await build({ root, keepBundles: false, lock: 'ignore' });
    expect(first.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.file} ${d.message}`)).toEqual([]);
    expect(readdirSync(path.join(root, '.botc', 'cache'))).toContain('build');
    writeFileSync(file, broken);
    const second = await build({ root, keepBundles: false, lock: 'ignore' });
    expect(second.ok).toBe(false);
    expect(second.diagnostics.map((d) => d.code)).toContain('automation-invalid');
  }, 20_000);

  it('does not list the rest of the root: a cold build into a new output folder is stored, and the next build is answered whole', async () => {
    const root = tempDir();
    cpSync(FIXTURE, root, { recursive: true, filter: (source) => !/[\\/]expected|automations/.test(path.relative(FIXTURE, source)) });
    mkdirSync(path.join(root, 'node_modules'));
    symlinkSync(REPO_ROOT, path.join(root, 'node_modules', 'botc'), 'dir');
    const first = await build({ root, keepBundles: false, lock: 'ignore' });
    expect(first.ok).toBe(true);
    // The build made .botc/ and dist/ at the root; its entry is stored under the key it started with.
    const stored = readdirSync(path.join(root, '.botc', 'cache', 'build'));
    expect(stored).toHaveLength(1);
    // Answered whole: every bundle file left as it was.
    expect(await build({ root, keepBundles: false, lock: 'ignore' })).toEqual({ ...first, unchanged: first.bundles.map((b) => b.bot) });
    expect(readdirSync(path.join(root, '.botc', 'cache', 'build'))).toEqual(stored);
  }, 20_000);
});
