/**
 * Integration modules' top-level code runs during `botc check` in a child process under
 * Node's permission model: it can read the workspace and botc, and nothing else; it cannot
 * write, spawn processes or start workers, and it sees no environment. The CLI test runs the
 * compiled lib/ (`npm run build:lib`).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { decodeWire, dropPrebundles, inspectModules, prebundle } from '../src/load/sandbox.ts';
import { spawnCliSync } from './helpers/cli.ts';
import { checkWorkspace, tempDir, writeWorkspace } from './helpers/workspace.ts';

const REGISTRY = JSON.stringify({
  integrations: [{ provider: 'acme', module: 'acme/index.mjs', classification: 'read_only', modes: ['request_response'], lifecycle: 'active' }],
});

/** A module whose top-level code attempts each escape and throws the outcomes, so they surface in a diagnostic. */
function hostileModule(targets: { write: string; spawn: string; secret: string }): string {
  return `import fs from 'node:fs';
import cp from 'node:child_process';
import { Worker } from 'node:worker_threads';
const outcomes = {};
const attempt = (name, action) => { try { action(); outcomes[name] = 'done'; } catch (error) { outcomes[name] = error.code ?? error.message; } };
attempt('write', () => fs.writeFileSync(${JSON.stringify(targets.write)}, 'pwned'));
attempt('write_inside', () => fs.writeFileSync(new URL('./planted.txt', ${JSON.stringify(`file://${path.dirname(targets.write)}/`)}), 'pwned'));
attempt('spawn', () => cp.execFileSync('/bin/sh', ['-c', 'echo pwned > ${targets.spawn}']));
attempt('read', () => { outcomes.secret = fs.readFileSync(${JSON.stringify(targets.secret)}, 'utf8'); });
attempt('worker', () => new Worker('process.exit(0)', { eval: true }));
outcomes.env = process.env.BOTC_SANDBOX_TEST_SECRET ?? 'absent';
throw new Error('outcomes ' + JSON.stringify(outcomes));
`;
}

function hostileWorkspace() {
  const root = writeWorkspace({ 'integrations/manifest.json': REGISTRY, 'integrations/acme/index.mjs': '' });
  const outside = tempDir('botc-outside-');
  const secret = path.join(outside, 'secret.txt');
  writeFileSync(secret, 'TOP-SECRET-CONTENT');
  const targets = { write: path.join(outside, 'written.txt'), spawn: path.join(outside, 'spawned.txt'), secret };
  writeFileSync(path.join(root, 'integrations/acme/index.mjs'), hostileModule(targets), { flag: 'w' });
  return { root, outside, targets };
}

function expectContained(message: string, outside: string, targets: { write: string; spawn: string }) {
  expect(message).toContain('"write":"ERR_ACCESS_DENIED"');
  expect(message).toContain('"write_inside":"ERR_ACCESS_DENIED"');
  expect(message).toContain('"spawn":"ERR_ACCESS_DENIED"');
  expect(message).toContain('"read":"ERR_ACCESS_DENIED"');
  expect(message).toContain('"worker":"ERR_ACCESS_DENIED"');
  expect(message).toContain('"env":"absent"');
  expect(message).not.toContain('TOP-SECRET-CONTENT');
  expect(existsSync(targets.write)).toBe(false);
  expect(existsSync(targets.spawn)).toBe(false);
  expect(existsSync(path.join(outside, 'planted.txt'))).toBe(false);
}

describe('integration modules load in a sandbox at build time', () => {
  test('botc check: top-level code cannot write a file, spawn a process, start a worker, read outside the workspace or see the environment', () => {
    const { root, outside, targets } = hostileWorkspace();
    writeFileSync(path.join(root, 'integrations/acme/index.mjs'), hostileModule({ ...targets, write: path.join(root, 'pwned.txt') }));
    const run = spawnCliSync(['check', '--root', root, '--format', 'json'], { timeout: 20_000, env: { BOTC_SANDBOX_TEST_SECRET: 'leaked' } });
    expect(run.signal).toBeNull();
    const report = JSON.parse(run.stdout) as { diagnostics: { code: string; message: string }[] };
    expect(report.diagnostics.map((d) => d.code)).toEqual(['integration-module-missing']);
    expectContained(report.diagnostics[0]!.message, root, { write: path.join(root, 'pwned.txt'), spawn: targets.spawn });
  });

  test('the library build sandboxes modules too (one child for all of them)', async () => {
    const { root, outside, targets } = hostileWorkspace();
    const result = await checkWorkspace(root);
    expect(result.diagnostics.map((d) => d.code)).toEqual(['integration-module-missing']);
    expectContained(result.diagnostics[0]!.message, outside, targets);
  });

  test('a module that never returns is stopped by the timeout and reported; the next module is not blamed', async () => {
    const dir = tempDir();
    const hang = path.join(dir, 'hang.mjs');
    const fine = path.join(dir, 'fine.mjs');
    writeFileSync(hang, 'while (true) {}\nexport default class {}\n');
    writeFileSync(fine, 'export default class { describeMethods() { return []; } authStatus() {} call() {} }\n');
    const started = Date.now();
    const reports = await inspectModules(dir, [
      { file: hang, exportName: 'default', provider: 'hang' },
      { file: fine, exportName: 'default', provider: 'fine' },
    ], { timeoutMs: 1_000 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(reports[0]).toMatchObject({ ok: false, failure: 'load' });
    expect((reports[0] as { message: string }).message).toContain('did not finish within 1 s');
    expect(reports[1]).toEqual({ ok: false, failure: 'skipped' });
  });

  test('modules are loaded in request order, whatever order their bundling ends in', async () => {
    const dir = tempDir();
    // The first module is the slowest to bundle (a large file); the second reads what the first left behind.
    const first = path.join(dir, 'first.ts');
    const second = path.join(dir, 'second.mjs');
    writeFileSync(first, `const pad: number[] = [${'1,'.repeat(200_000)}];\n(globalThis as any).loadedFirst = pad.length > 0;\nexport default class { describeMethods() { return []; } authStatus() {} call() {} }\n`);
    writeFileSync(second, 'const seen = globalThis.loadedFirst === true;\nexport default class { describeMethods() { return [{ seen }]; } authStatus() {} call() {} }\n');
    const reports = await inspectModules(dir, [
      { file: first, exportName: 'default', provider: 'first' },
      { file: second, exportName: 'default', provider: 'second' },
    ]);
    expect(reports[0]).toMatchObject({ ok: true });
    expect(reports[1]).toMatchObject({ ok: true, specs: [{ seen: true }] });
  });

  test('a bundle started ahead of the stage (prebundle) is used only for the very text the stage read', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'module.mjs');
    const version = (v: number) => `export default class { describeMethods() { return [{ v: ${v} }]; } authStatus() {} call() {} }\n`;
    await prebundle(dir, [{ file, source: version(1) }]);
    // The module changed before the stage read it: the early bundle (of version 1) is not used.
    writeFileSync(file, version(2));
    const changed = await inspectModules(dir, [{ file, source: version(2), exportName: 'default', provider: 'changed' }]);
    expect(changed[0]).toMatchObject({ ok: true, specs: [{ v: 2 }] });
    await prebundle(dir, [{ file, source: version(3) }]);
    const same = await inspectModules(dir, [{ file, source: version(3), exportName: 'default', provider: 'same' }]);
    expect(same[0]).toMatchObject({ ok: true, specs: [{ v: 3 }] });
    dropPrebundles();
  });

  test('modules bundled ahead, one of them broken: each is reported as the stage reports it', async () => {
    const dir = tempDir();
    const good = path.join(dir, 'good.ts');
    const broken = path.join(dir, 'broken.ts');
    const sources = { [good]: 'export default class { describeMethods(): unknown[] { return []; } authStatus() {} call() {} }\n', [broken]: 'export default class {\n  describeMethods( { return []; }\n}\n' };
    for (const [file, source] of Object.entries(sources)) writeFileSync(file, source);
    const requests = Object.entries(sources).map(([file, source]) => ({ file, source, exportName: 'default', provider: path.basename(file, '.ts') }));
    const alone = await inspectModules(dir, requests);
    await prebundle(dir, requests);
    const ahead = await inspectModules(dir, requests);
    expect(ahead).toEqual(alone);
    expect(ahead[0]).toMatchObject({ ok: true });
    expect(ahead[1]).toMatchObject({ ok: false, failure: 'load', at: { line: 2 } });
    dropPrebundles();
  });

  test('a module importing a package from outside the workspace and botc loads, with read access to that package folder only', async () => {
    // A workspace inside a monorepo: the package is in the repository's node_modules, above the root.
    const repo = tempDir();
    const root = path.join(repo, 'workspace');
    mkdirSync(path.join(repo, 'node_modules', 'greeting'), { recursive: true });
    mkdirSync(root);
    writeFileSync(path.join(repo, 'node_modules', 'greeting', 'package.json'), JSON.stringify({ name: 'greeting', type: 'module', exports: './index.js' }));
    writeFileSync(path.join(repo, 'node_modules', 'greeting', 'index.js'), "export const greeting = 'hello';\n");
    const plain = path.join(root, 'plain.mjs');
    const withPackage = path.join(root, 'with-package.mjs');
    writeFileSync(plain, 'export default class { describeMethods() { return []; } authStatus() {} call() {} }\n');
    writeFileSync(withPackage, "import { greeting } from 'greeting';\nexport default class { describeMethods() { return [{ greeting }]; } authStatus() {} call() {} }\n");
    const reports = await inspectModules(root, [
      { file: plain, exportName: 'default', provider: 'plain' },
      { file: withPackage, exportName: 'default', provider: 'with_package' },
    ]);
    expect(reports[0]).toMatchObject({ ok: true, specs: [] });
    expect(reports[1]).toMatchObject({ ok: true, specs: [{ greeting: 'hello' }] });
  });

  test('a module that imports a file outside the workspace is refused before it runs', async () => {
    const root = writeWorkspace({ 'integrations/manifest.json': REGISTRY, 'integrations/acme/index.mjs': '' });
    const outside = tempDir('botc-outside-');
    writeFileSync(path.join(outside, 'evil.mjs'), 'export const x = 1;\n');
    writeFileSync(path.join(root, 'integrations/acme/index.mjs'), `export { x } from ${JSON.stringify(path.join(outside, 'evil.mjs'))};\n`);
    const result = await checkWorkspace(root);
    expect(result.diagnostics.map((d) => d.code)).toEqual(['integration-module-missing']);
    expect(result.diagnostics[0]!.message).toContain('resolves outside the workspace');
  });

  test('best effort: top-level code cannot reach the network through fetch, http, net or dgram', async () => {
    let connections = 0;
    const server = createServer((_req, res) => res.end('ok'));
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const source = `import http from 'node:http';
import net from 'node:net';
import dgram from 'node:dgram';
const outcomes = {};
const attempt = async (name, action) => { try { await action(); outcomes[name] = 'done'; } catch (error) { outcomes[name] = error.code ?? error.message; } };
await attempt('fetch', () => fetch('http://127.0.0.1:${port}/'));
await attempt('http', () => new Promise((resolve, reject) => { const req = http.get('http://127.0.0.1:${port}/', resolve); req.on('error', reject); }));
await attempt('net', () => new Promise((resolve, reject) => { const s = net.connect(${port}, '127.0.0.1', resolve); s.on('error', reject); }));
await attempt('dgram', () => dgram.createSocket('udp4'));
await attempt('restore', () => { net.Socket.prototype.connect = function () {}; });
throw new Error('outcomes ' + JSON.stringify(outcomes));
`;
      const root = writeWorkspace({ 'integrations/manifest.json': REGISTRY, 'integrations/acme/index.mjs': source });
      const result = await checkWorkspace(root);
      const message = result.diagnostics[0]!.message;
      for (const name of ['fetch', 'http', 'net', 'dgram']) expect(message).toContain(`"${name}":"ERR_ACCESS_DENIED"`);
      expect(message).not.toContain('"restore":"done"');
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  test('values JSON cannot hold keep their kind across the process boundary', () => {
    const decoded = decodeWire({ a: { '\u0000botc': 'function' }, b: { '\u0000botc': 'undefined' }, c: { '\u0000botc': 'number', value: 'NaN' }, d: [{ '\u0000botc': 'object', value: 'RegExp' }] }) as Record<string, unknown>;
    expect(typeof decoded.a).toBe('function');
    expect(Object.hasOwn(decoded, 'b') && decoded.b === undefined).toBe(true);
    expect(Number.isNaN(decoded.c)).toBe(true);
    expect(Object.getPrototypeOf((decoded.d as unknown[])[0])).not.toBe(Object.prototype);
  });
});
