#!/usr/bin/env node
/**
 * Runs the MCP conformance suite (`@modelcontextprotocol/conformance`, server scenarios) against
 * `botc serve mcp`'s Streamable HTTP endpoint for the `escalation` expert of the example
 * workspace, with the expected failures of scripts/mcp-conformance-expected.yaml (each one
 * explained there). Exit 0 when only expected failures occur.
 *
 *   npm run build:lib && node scripts/mcp-conformance.mjs
 *
 * The suite needs Node 22 (`fs.globSync`); on Node 20 a module hook gives its `fs` import a
 * `globSync` built on fast-glob (scripts/conformance-fs-shim.mjs). Offline: the suite is an npm
 * package and the server is on loopback.
 */
import { register } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fork } from 'node:child_process';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');

if (process.argv[2] === '--suite') {
  // Child process: the conformance CLI, with the fs hook on Node 20.
  const shim = pathToFileURL(path.join(HERE, 'conformance-fs-shim.mjs')).href;
  const hooks = `export async function resolve(specifier, context, next) {
    if ((specifier === 'fs' || specifier === 'node:fs') && context.parentURL?.includes('/@modelcontextprotocol/conformance/')) return { url: ${JSON.stringify(shim)}, shortCircuit: true };
    return next(specifier, context);
  }`;
  if (Number(process.versions.node.split('.')[0]) < 22) register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  process.argv = [process.argv[0], 'conformance', ...process.argv.slice(3)];
  const { createRequire } = await import('node:module');
  const entry = createRequire(import.meta.url).resolve('@modelcontextprotocol/conformance/package.json').replace(/package\.json$/, 'dist/index.js');
  await import(pathToFileURL(entry).href);
} else {
  const { build } = await import('../lib/index.js');
  const { Runtime } = await import('../lib/runtime/index.js');
  const { MemoryStore } = await import('../lib/state/memory.js');
  const { mcpHttpHandler } = await import('../lib/adapters/index.js');
  const { listenMcpHttp } = await import('../lib/cli/serve.js');
  const built = await build({ root: REPO, out: path.join(os.tmpdir(), `botc-conformance-${process.pid}`), write: true });
  if (!built.ok) throw new Error('the example workspace does not build');
  const runtime = await Runtime.load(path.join(os.tmpdir(), `botc-conformance-${process.pid}`, 'support_triage.bundle.json'), { root: REPO, store: new MemoryStore() });
  const server = await listenMcpHttp(mcpHttpHandler(runtime, { expert: 'escalation' }), '127.0.0.1', 0);
  const url = `http://localhost:${server.address().port}/mcp`;
  const child = fork(fileURLToPath(import.meta.url), ['--suite', 'server', '--url', url, '--expected-failures', path.join(HERE, 'mcp-conformance-expected.yaml')], {
    cwd: os.tmpdir(),
    stdio: 'inherit',
  });
  const code = await new Promise((resolve) => child.on('exit', (status) => resolve(status ?? 1)));
  server.close();
  await runtime.close();
  process.exit(code);
}
