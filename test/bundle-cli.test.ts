/**
 * The bundled CLI (scripts/bundle-cli.mjs): `npm run build:lib` bundles lib/cli/main.js and the
 * schema worker into lib/cli-bundle/, bin/botc.js runs it, and what it prints and writes is
 * what the library (tsc output, src/ here) prints and writes.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import { BOTC, REPO_ROOT, runCli, spawnCliSync } from './helpers/cli.ts';
import { copyWorkspace } from './helpers/contract.ts';
import { CLI_BUNDLE, cliBundleMeta, moduleLogger } from './helpers/modules.ts';
import { tempDir } from './helpers/workspace.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Every file under `dir`, by relative path, with its bytes. */
function filesOf(dir: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files[path.relative(dir, full)] = readFileSync(full);
  }
  return files;
}

describe('the bundled CLI', () => {
  it('exists after build:lib, with an entry for main and for every worker the CLI starts by path', () => {
    const meta = cliBundleMeta();
    const entries = Object.entries(meta.outputs).filter(([, output]) => output.entryPoint).map(([file, output]) => [file, output.entryPoint]);
    expect(Object.fromEntries(entries.filter(([file]) => !path.basename(file!).startsWith('chunk-')))).toEqual({
      'lib/cli-bundle/main.js': 'lib/cli/main.js',
      'lib/cli-bundle/schema-worker.js': 'lib/build/validate/schema-worker.js',
    });
    // Commands imported on demand stay chunks of their own: `botc --help` loads none of them.
    const lazy = entries.map(([, entry]) => entry);
    for (const command of ['build', 'call', 'serve', 'console', 'state']) expect(lazy).toContain(`lib/cli/${command}.js`);
    // Every output sits in lib/cli-bundle/ itself: import.meta.url paths (`../../package.json`)
    // resolve from a chunk as they do from lib/cli/main.js.
    for (const file of Object.keys(meta.outputs)) expect(path.dirname(file)).toBe('lib/cli-bundle');
    expect(readFileSync(BOTC, 'utf8')).toContain("from '../lib/cli-bundle/main.js'");
  });

  it('keeps the integration classes out: user modules and the runtime share lib/integration/', () => {
    const meta = cliBundleMeta();
    const inputs = Object.values(meta.outputs).flatMap((output) => Object.keys(output.inputs));
    for (const file of ['base.js', 'credentials.js', 'http.js', 'network.js']) expect(inputs).not.toContain(`lib/integration/${file}`);
    const code = readdirSync(CLI_BUNDLE).filter((f) => f.endsWith('.js')).map((f) => readFileSync(path.join(CLI_BUNDLE, f), 'utf8')).join('\n');
    expect(code).toContain('from "../integration/base.js"');
    expect(code).toContain('from "../integration/credentials.js"');
  });

  it('links and evaluates every file of it (the lazy command chunks, the database drivers and servers they import)', () => {
    const files = readdirSync(CLI_BUNDLE).filter((f) => f.endsWith('.js') && f !== 'schema-worker.js').sort();
    const script = `for (const f of ${JSON.stringify(files)}) await import(new URL(f, ${JSON.stringify(pathToFileURL(CLI_BUNDLE + path.sep).href)}).href);\nprocess.stdout.write('loaded');\nprocess.exit(0);\n`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('loaded');
  }, 90_000);

  it('answers --version from the package manifest', () => {
    const run = spawnCliSync(['--version']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`botc ${(JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
    expect(run.status).toBe(0);
  });

  it('builds bundles byte-identical to the library build, loading no tsc module but the integration classes, and starts the schema worker from the bundle', async () => {
    const root = copyWorkspace();
    const scratch = tempDir('botc-bundle-cli-');
    const log = path.join(scratch, 'modules.txt');
    writeFileSync(log, '');
    const viaCli = path.join(scratch, 'cli');
    const run = spawnCliSync(['build', '--root', root, '--out', viaCli, '--no-cache'], { env: { NODE_OPTIONS: `--import ${moduleLogger(scratch, log)}` }, timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const viaLibrary = path.join(scratch, 'library');
    const result = await build({ root, out: viaLibrary, cache: false, lock: 'ignore' });
    expect(result.ok).toBe(true);
    const cliFiles = filesOf(viaCli);
    expect(Object.keys(cliFiles).length).toBeGreaterThan(0);
    expect(cliFiles).toEqual(filesOf(viaLibrary));

    // The files the processes loaded (not what esbuild put in them).
    const libFiles = readFileSync(log, 'utf8').split('\n').filter((m) => m.startsWith('file:')).map((m) => new URL(m).pathname).filter((f) => f.startsWith(path.join(REPO_ROOT, 'lib') + path.sep));
    const outside = libFiles.filter((f) => path.dirname(f) !== CLI_BUNDLE && path.dirname(f) !== path.join(REPO_ROOT, 'lib', 'integration'));
    expect(outside).toEqual([]);
    // The worker thread (schema checks; this build has no cache) ran the bundle's worker entry.
    expect(libFiles).toContain(path.join(CLI_BUNDLE, 'schema-worker.js'));
  }, 90_000);

  it('prints the diagnostics the library prints for a broken workspace, the sandboxed module loader and zod messages included', async () => {
    for (const fixture of ['invalid-integration-export-missing-not-integration', 'invalid-frontmatter-invalid-yaml', 'invalid-config-invalid', 'invalid-frontmatter-invalid-wrong-type']) {
      const root = path.join(FIXTURES, fixture);
      const args = ['check', '--root', root, '--format', 'json', '--no-cache'];
      const spawned = spawnCliSync(args, { timeout: 60_000 });
      const inProcess = await runCli(args);
      expect(spawned.status).toBe(inProcess.status);
      expect(spawned.stdout).toBe(inProcess.stdout);
      expect(spawned.stderr).toBe(inProcess.stderr);
      expect(spawned.status).toBe(1);
    }
  }, 90_000);
});
