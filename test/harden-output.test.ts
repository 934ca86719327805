/**
 * Output stays inside the workspace unless the command line says otherwise: botc.config.json
 * cannot point `out` outside, a symlinked output folder is refused, nothing outside the
 * workspace is pruned, and temporary files are exclusive and cleaned up after a crash.
 * CLI tests run the compiled lib/ (`npm run build:lib`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { build } from '../src/build/build.ts';
import { readConfig } from '../src/config.ts';
import { REPO_ROOT, runCli } from './helpers/cli.ts';
import { tempDir, writeWorkspace } from './helpers/workspace.ts';

/** A folder outside the workspace holding a bundle a careless prune would delete. */
function victimFolder(): string {
  const outside = tempDir('botc-victim-');
  writeFileSync(path.join(outside, 'precious.bundle.json'), '{}');
  return outside;
}

/** A pid that is certainly not running: a process that has already exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('build output stays inside the workspace', () => {
  test('botc.config.json `out` outside the workspace is refused (a config-invalid error, exit 1), and nothing there is touched', async () => {
    const outside = victimFolder();
    for (const out of [outside, path.relative(tempDir(), outside), '../elsewhere', '.']) {
      const root = writeWorkspace({ 'botc.config.json': JSON.stringify({ out }) });
      expect(() => readConfig(root)).toThrow(/inside the workspace/);
    }
    const run = await runCli(['build', '--root', writeWorkspace({ 'botc.config.json': JSON.stringify({ out: outside }) })]);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('botc.config.json:1:');
    expect(run.stdout).toContain('[config-invalid]');
    expect(run.stdout).toContain('use --out to write elsewhere');
    expect(readdirSync(outside)).toEqual(['precious.bundle.json']);
    expect(readConfig(writeWorkspace({ 'botc.config.json': JSON.stringify({ out: 'build/bundles' }) })).out).toBe('build/bundles');
  });

  test('a symlinked output folder (or a link on the way to it) is unsafe-path; the build writes and prunes nothing', async () => {
    const outside = victimFolder();
    const root = writeWorkspace();
    symlinkSync(outside, path.join(root, 'dist'));
    const linked = await build({ root });
    expect(linked.ok).toBe(false);
    expect(linked.diagnostics.map((d) => [d.code, d.file])).toEqual([['unsafe-path', 'dist']]);
    expect(linked.diagnostics[0]!.message).toContain('is a symbolic link');
    expect(readdirSync(outside)).toEqual(['precious.bundle.json']);

    const nested = writeWorkspace();
    symlinkSync(outside, path.join(nested, 'out'));
    const through = await build({ root: nested, out: 'out/bundles' });
    expect(through.diagnostics.map((d) => d.code)).toEqual(['unsafe-path']);
    expect(readdirSync(outside)).toEqual(['precious.bundle.json']);
  });

  test('a full build prunes stale bundles inside the workspace, never in an --out folder outside it', async () => {
    const outside = victimFolder();
    const elsewhere = await build({ root: writeWorkspace(), out: outside });
    expect(elsewhere.ok).toBe(true);
    expect(readdirSync(outside).sort()).toEqual(['demo.bundle.json', 'precious.bundle.json']);

    const root = writeWorkspace({ 'dist/gone.bundle.json': '{}' });
    expect((await build({ root })).ok).toBe(true);
    expect(readdirSync(path.join(root, 'dist'))).toEqual(['demo.bundle.json']);
  });

  test('temporary files left by a build killed with SIGKILL, or planted as links, are removed by the next build without following them', async () => {
    const root = writeWorkspace();
    const dist = path.join(root, 'dist');
    // A build that dies with SIGKILL after writing its temporary file.
    const script = `import { BundleWriter } from ${JSON.stringify(path.join(REPO_ROOT, 'lib/build/emit/emit.js'))};
const writer = new BundleWriter(${JSON.stringify(dist)}, ${JSON.stringify(root)});
writer.stage({ bot: { id: 'demo' } });
process.kill(process.pid, 'SIGKILL');
`;
    const scriptFile = path.join(tempDir(), 'crash.mjs');
    writeFileSync(scriptFile, script);
    const crashed = spawnSync(process.execPath, [scriptFile], { encoding: 'utf8' });
    expect(crashed.signal).toBe('SIGKILL');
    expect(readdirSync(dist).filter((n) => n.endsWith('.tmp'))).toHaveLength(1);
    // An older-style temporary name planted as a link to a file outside.
    const outside = victimFolder();
    symlinkSync(path.join(outside, 'precious.bundle.json'), path.join(dist, `demo.bundle.json.${deadPid()}.tmp`));
    mkdirSync(path.join(dist, 'keep'), { recursive: true });

    const result = await build({ root });
    expect(result.ok).toBe(true);
    expect(readdirSync(dist).sort()).toEqual(['demo.bundle.json', 'keep']);
    expect(existsSync(path.join(outside, 'precious.bundle.json'))).toBe(true);
  });
});
