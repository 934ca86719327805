// Over 300 lines: the trusted half (bundling, spawning, decoding) and the child's own source text belong together.
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { describeLoadError, instantiateIntegration } from './modules.ts';

/** One integration module to inspect: its absolute path, the export to construct, its provider. */
export interface ModuleRequest {
  file: string;
  /**
   * The module's text as the build read (and hashed) it. The entry is bundled from this text,
   * not read again, so the methods checked are those of the file the bundle records.
   */
  source?: string;
  exportName: string;
  provider: string;
}

/**
 * What loading one module at build time found. `specs` is what describeMethods() returned,
 * carried across the process boundary by `encodeWire`/`decodeWire` (values JSON cannot hold
 * keep their kind, so a schema holding a function is still refused as not plain JSON);
 * `handlers` the keys of `handlers()` for integrations that have one (the base class), else null.
 */
export type ModuleReport =
  | {
    ok: true;
    specs: unknown[];
    handlers: string[] | null;
    /**
     * The workspace files bundled with the module besides the module itself (its local
     * imports, transitively), as absolute paths, sorted: what the build cache hashes with the
     * module so that a changed helper invalidates the module's cached declarations.
     */
    inputs?: string[];
    /** The module as bundled for the loader (ES module JavaScript): what the build cache keeps precompiled. */
    code?: string;
  }
  | { ok: false; failure: 'load' | 'construct' | 'describe'; message: string; /** Where in the module a syntax error is (1-based). */ at?: { line: number; column: number } }
  | { ok: false; failure: 'no-export'; available: string[] }
  | { ok: false; failure: 'not-integration'; missing: string[] }
  | { ok: false; failure: 'not-array' }
  /** Not inspected because an earlier module stopped the loader (already reported there). */
  | { ok: false; failure: 'skipped' };

/** Wall-clock bound on loading every module of a build, in milliseconds. */
export const SANDBOX_TIMEOUT_MS = 30_000;
/** Heap bound of the loader process, in MiB (`--max-old-space-size`). */
export const SANDBOX_HEAP_MB = 512;

/** botc's own install: the package root (two levels above this file, in src/ and in lib/). */
const BOTC_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Loads integration modules the way `botc build` and `botc check` must on an untrusted
 * workspace: their top-level code, constructors, describeMethods() and handlers() run in ONE
 * child process under Node's permission model, with read access to the workspace, botc's own
 * install and the node_modules folders they use, nothing else; no file writes, no child processes, no worker threads, no native
 * addons, an empty environment (no secrets to read), a heap bound and a wall-clock timeout.
 * The README ("Loading modules at build time: the sandbox") says what the model does not
 * restrict (the network above all).
 *
 * Each module is first bundled here, in the trusted process, with esbuild: TypeScript is
 * transpiled (the loader thread tsx needs is a worker, which the sandbox forbids), relative
 * imports are inlined only from inside the workspace, and package imports become `file:` URLs
 * the child imports natively. The child then imports each bundle from a `data:` URL, one
 * module after another, and sends back one `ModuleReport` per module over IPC.
 *
 * Never throws for a module's fault: every failure is a report, in request order.
 * `timeoutMs` bounds the whole load (default `SANDBOX_TIMEOUT_MS`).
 */
export async function inspectModules(root: string, requests: readonly ModuleRequest[], options: { timeoutMs?: number } = {}): Promise<ModuleReport[]> {
  const reports: (ModuleReport | undefined)[] = requests.map(() => undefined);
  const packageFolders = new Set<string>();
  const bundles = await Promise.all(requests.map((r) => bundleModule(root, r.file, r.source, packageFolders)));
  const jobs: { index: number; url: string; exportName: string; provider: string }[] = [];
  const inputs = bundles.map((bundle) => (bundle.ok ? bundle.inputs : undefined));
  const codes = bundles.map((bundle) => (bundle.ok ? bundle.code : undefined));
  bundles.forEach((bundle, index) => {
    if (!bundle.ok) reports[index] = { ok: false, failure: 'load', message: bundle.message, ...(bundle.at ? { at: bundle.at } : {}) };
    else jobs.push({ index, url: `data:text/javascript;base64,${Buffer.from(bundle.code).toString('base64')}`, exportName: requests[index]!.exportName, provider: requests[index]!.provider });
  });
  if (jobs.length > 0) await runChild(root, jobs, reports, options.timeoutMs ?? SANDBOX_TIMEOUT_MS, packageFolders);
  return reports.map((report, index): ModuleReport => {
    if (!report) return { ok: false, failure: 'skipped' };
    if (report.ok) return { ...report, specs: decodeWire(report.specs) as unknown[], ...(inputs[index] ? { inputs: inputs[index] } : {}), ...(codes[index] !== undefined ? { code: codes[index] } : {}) };
    if ('message' in report) return { ...report, message: describeLoadError(new Error(report.message), root) };
    return report;
  });
}

/** The flag that turns the permission model on: `--permission` from Node 22, experimental before. */
function permissionFlag(): string {
  return process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
}

/**
 * Folders the child may read (real paths): the workspace, botc's install, the node_modules
 * folders they use, and the node_modules folders that the modules' package imports resolved
 * into (a workspace inside a monorepo imports from the repository's node_modules).
 */
function readableFolders(root: string, packageFolders: ReadonlySet<string>): string[] {
  const folders = new Set<string>();
  for (const candidate of [root, BOTC_ROOT, path.join(BOTC_ROOT, 'node_modules'), path.join(root, 'node_modules'), ...packageFolders]) {
    if (existsSync(candidate)) folders.add(realpathSync(candidate));
  }
  return [...folders];
}

function runChild(
  root: string,
  jobs: { index: number; url: string; exportName: string; provider: string }[],
  reports: (ModuleReport | undefined)[],
  timeoutMs: number,
  packageFolders: ReadonlySet<string>,
): Promise<void> {
  const args = [
    permissionFlag(),
    ...readableFolders(root, packageFolders).map((folder) => `--allow-fs-read=${folder}`),
    `--max-old-space-size=${SANDBOX_HEAP_MB}`,
    '--no-warnings',
    '-e',
    CHILD_SOURCE,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env: {}, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 64 * 1024) stderr += chunk;
    });
    let pending = jobs.length;
    let settled = false;
    const finish = (why: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Whatever the modules left running (timers, sockets) ends with the process.
      child.kill('SIGKILL');
      const culprit = jobs.find((job) => reports[job.index] === undefined);
      if (why && culprit) reports[culprit.index] = { ok: false, failure: 'load', message: why };
      resolve();
    };
    const timer = setTimeout(() => finish(`loading did not finish within ${timeoutMs / 1000} s (top-level code, constructor or describeMethods() never returns)`), timeoutMs);
    child.on('message', (message: { index: number; report: ModuleReport }) => {
      if (reports[message.index] !== undefined || !jobs.some((j) => j.index === message.index)) return;
      reports[message.index] = message.report;
      if (--pending === 0) finish(undefined);
    });
    child.on('error', (error) => finish(`the module loader could not start: ${error.message}`));
    child.on('exit', (code, signal) => {
      const last = stderr.trim().split('\n').filter((l) => /Error|denied|heap/i.test(l)).at(-1);
      finish(`the module stopped the loader (${signal ?? `exit code ${code}`})${last ? `: ${last.trim()}` : ''}`);
    });
    try {
      child.send({ jobs });
    } catch (error) {
      finish(`the module loader could not start: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
}

type Bundled = { ok: true; code: string; inputs: string[] } | { ok: false; message: string; at?: { line: number; column: number } };

/** Bundles started ahead of the integration stage (`prebundle`), by module path, until `bundleModule` takes them or `dropPrebundles` forgets them. */
const early = new Map<string, { root: string; source: string; packageFolders: Set<string>; bundled: Promise<Bundled> }>();

/**
 * Starts bundling modules (absolute path and text) before the build reaches its integration
 * stage: a first build calls it before it walks the sources, so that esbuild, a process of its
 * own, bundles on the other core while this thread reads and hashes files. Returns once the
 * requests are sent. The stage takes a bundle only when it reads the very same text for that
 * module; any other module is bundled then, as always.
 */
export async function prebundle(root: string, modules: readonly { file: string; source: string }[]): Promise<void> {
  if (modules.length === 0) return;
  for (const { file, source } of modules) {
    const packageFolders = new Set<string>();
    early.set(file, { root, source, packageFolders, bundled: bundleModule(root, file, source, packageFolders) });
  }
  // One turn of the event loop: each build's request goes out to esbuild now, not after the walk.
  await new Promise((resolve) => setImmediate(resolve));
}

const requireHere = createRequire(import.meta.url);

/**
 * esbuild's `build`, loaded on first use: a build whose modules' declarations all come from
 * the cache needs no bundler. esbuild is CommonJS: `require` loads it in a third of the time an
 * ESM `import` takes, which first scans the whole file for its exports.
 */
function loadEsbuild(): typeof import('esbuild').build {
  return (requireHere('esbuild') as typeof import('esbuild')).build;
}

/** Forgets the bundles `prebundle` started that no stage took (the build ended without needing them). */
export function dropPrebundles(): void {
  early.clear();
}

async function bundleModule(root: string, file: string, source: string | undefined, packageFolders: Set<string>): Promise<Bundled> {
  const ahead = early.get(file);
  if (ahead && ahead.root === root && source !== undefined && ahead.source === source) {
    early.delete(file);
    const bundled = await ahead.bundled;
    for (const folder of ahead.packageFolders) packageFolders.add(folder);
    return bundled;
  }
  try {
    const esbuild = loadEsbuild();
    const result = await esbuild({
      ...(source === undefined
        ? { entryPoints: [file] }
        : { stdin: { contents: source, resolveDir: path.dirname(file), sourcefile: path.relative(root, file), loader: /\.m?ts$/.test(file) ? ('ts' as const) : ('js' as const) } }),
      absWorkingDir: root,
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'silent',
      metafile: true,
      // Inputs keep the path they were imported by, links included: the module's pin refuses a
      // link (retargeting it would change the code without changing any pinned file).
      preserveSymlinks: true,
      plugins: [workspaceOnly(root, packageFolders)],
    });
    // esbuild names inputs relative to absWorkingDir; the entry read from stdin is named by
    // its `sourcefile` under its resolve folder (a path that does not exist), not by `file`.
    const stdinName = source === undefined ? file : path.resolve(path.dirname(file), path.relative(root, file));
    const inputs = Object.keys(result.metafile.inputs)
      .filter((input) => input !== '<stdin>' && !input.includes(':'))
      .map((input) => path.resolve(root, input))
      .filter((input) => input !== file && input !== stdinName)
      .sort();
    return { ok: true, code: result.outputFiles[0]!.text, inputs };
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors?.[0];
    if (!first) return { ok: false, message: error instanceof Error ? error.message : String(error) };
    // The position goes with the report, not into the message: the diagnostic is located there.
    // esbuild names the module (read from stdin) by its `sourcefile`, under its resolve folder.
    if (first.location && first.location.file.split(path.sep).join('/').endsWith(path.relative(root, file).split(path.sep).join('/'))) {
      return { ok: false, message: `syntax error: ${first.text}`, at: { line: first.location.line, column: first.location.column + 1 } };
    }
    const where = first.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: ` : '';
    return { ok: false, message: `${where}${first.text}` };
  }
}

const BUILTINS = new Set(builtinModules);

/**
 * Files are inlined only from inside the workspace (real paths, so a link cannot lead out);
 * packages stay imports, resolved here from the importing file and handed to the child as
 * absolute `file:` URLs (a `data:` module cannot resolve a bare name itself).
 */
function workspaceOnly(root: string, packageFolders: Set<string>): Plugin {
  return {
    name: 'botc-workspace-only',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        if (args.path.startsWith('node:') || BUILTINS.has(args.path)) return { path: args.path, external: true };
        try {
          const resolved = createRequire(args.importer || path.join(root, 'index.js')).resolve(args.path);
          const marker = `${path.sep}node_modules${path.sep}`;
          const cut = resolved.lastIndexOf(marker);
          if (cut >= 0) packageFolders.add(resolved.slice(0, cut + marker.length - 1));
          return { path: pathToFileURL(resolved).href, external: true };
        } catch {
          return { errors: [{ text: `Cannot find package '${args.path}'` }] };
        }
      });
      build.onLoad({ filter: /.*/ }, (args) => {
        let real: string;
        try {
          real = realpathSync(args.path);
        } catch {
          return { errors: [{ text: `cannot read ${args.path}` }] };
        }
        if (real !== root && !real.startsWith(root + path.sep)) {
          return { errors: [{ text: `\`${args.path}\` resolves outside the workspace; integration modules may import only files inside it` }] };
        }
        return undefined;
      });
    },
  };
}

/** The marker key of values JSON cannot carry. */
const WIRE = '\u0000botc';

/**
 * Rebuilds what the child encoded: plain JSON as is; `{"\0botc": kind}` markers become a value
 * of that kind again (undefined, a function, NaN, a class instance, ...), so the checks that
 * refuse non-JSON values in a MethodSpec see the same value they would have seen in-process.
 */
export function decodeWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeWire);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, WIRE)) {
    const kind = record[WIRE];
    if (kind === 'undefined') return undefined;
    if (kind === 'function') return function notJson() {};
    if (kind === 'number') return Number(record.value);
    if (kind === 'bigint') return BigInt(String(record.value));
    if (kind === 'symbol') return Symbol(String(record.value));
    if (kind === 'deep') {
      // Nested past what the child walked: deeper than any check accepts.
      let deep: Record<string, unknown> = {};
      for (let i = 0; i < 100; i++) deep = { nested: deep };
      return deep;
    }
    // A class instance (Date, RegExp, Map, ...) or a cycle: an object that is not plain.
    const instance = Object.create({ constructorName: String(record.value) }) as Record<string, unknown>;
    return instance;
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(record)) {
    if (key === '__proto__') Object.defineProperty(out, key, { value: decodeWire(item), enumerable: true, writable: true, configurable: true });
    else out[key] = decodeWire(item);
  }
  return out;
}

/**
 * The child process (CommonJS, run with `node -e`). It takes one message `{jobs}`, imports
 * each bundle in turn, constructs the export with `{phase: 'build', provider, config: {}}`
 * (`instantiateIntegration`, whose source text is included),
 * calls describeMethods() and handlers(), and sends `{index, report}` for each. Every value
 * it touches comes from untrusted code, so each step is guarded and getters that throw become
 * failures, not crashes.
 */
const CHILD_SOURCE = String.raw`'use strict';
const WIRE = '\u0000botc';
const messageOf = (error) => { try { return error instanceof Error ? String(error.message) : String(error); } catch { return 'unknown error'; } };
function encode(value, depth, ancestors) {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0) ? value : { [WIRE]: 'number', value: String(Object.is(value, -0) ? '-0' : value) };
  if (value === undefined) return { [WIRE]: 'undefined' };
  if (typeof value === 'function') return { [WIRE]: 'function' };
  if (typeof value === 'bigint') return { [WIRE]: 'bigint', value: String(value) };
  if (typeof value === 'symbol') return { [WIRE]: 'symbol', value: String(value.description) };
  if (depth > 200) return { [WIRE]: 'deep' };
  if (ancestors.includes(value)) return { [WIRE]: 'object', value: 'a cycle' };
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) return { [WIRE]: 'object', value: 'Array subclass' };
    ancestors.push(value);
    const out = [];
    for (let i = 0; i < value.length; i++) out.push(encode(value[i], depth + 1, ancestors));
    ancestors.pop();
    return out;
  }
  if (proto !== Object.prototype && proto !== null) return { [WIRE]: 'object', value: String(proto && proto.constructor && proto.constructor.name) };
  ancestors.push(value);
  const out = {};
  for (const key of Object.keys(value)) Object.defineProperty(out, key, { value: encode(value[key], depth + 1, ancestors), enumerable: true, writable: true, configurable: true });
  ancestors.pop();
  return out;
}
// The runtime makes integrations with the same function (src/load/modules.ts). Bound by
// name here, whatever name its source text carries (a bundler may rename a declaration).
const instantiateIntegration = ${instantiateIntegration.toString()};
async function inspect(job) {
  let ns;
  try { ns = await import(job.url); } catch (error) { return { ok: false, failure: 'load', message: messageOf(error) }; }
  const made = instantiateIntegration(ns, job.exportName, { phase: 'build', provider: job.provider, config: {} });
  if (!made.ok) return made;
  const instance = made.instance;
  let specs;
  try { specs = instance.describeMethods(); } catch (error) { return { ok: false, failure: 'describe', message: messageOf(error) }; }
  if (!Array.isArray(specs)) return { ok: false, failure: 'not-array' };
  let handlers = null;
  try {
    if (typeof instance.handlers === 'function') {
      const table = instance.handlers();
      if (table !== null && typeof table === 'object') handlers = Object.keys(table);
    }
  } catch { handlers = null; }
  try { return { ok: true, specs: encode(specs, 0, []), handlers }; } catch (error) { return { ok: false, failure: 'describe', message: messageOf(error) }; }
}
// Best effort, not a boundary: Node's permission model leaves the network open, so the ways
// to it that module code can reach are replaced before any module loads. Every TCP, TLS and
// HTTP client goes through net.Socket#connect; fetch and WebSocket are globals; UDP is dgram.
{
  const deny = (what) => function denied() {
    const error = new Error('network access is not allowed while botc loads modules (' + what + ')');
    error.code = 'ERR_ACCESS_DENIED';
    throw error;
  };
  const lock = (target, key, value) => Object.defineProperty(target, key, { value, writable: false, configurable: false });
  const net = require('node:net');
  lock(net.Socket.prototype, 'connect', deny('connect'));
  lock(net.Server.prototype, 'listen', deny('listen'));
  const dgram = require('node:dgram');
  lock(dgram, 'createSocket', deny('dgram'));
  lock(dgram.Socket.prototype, 'send', deny('dgram'));
  for (const name of ['fetch', 'WebSocket', 'EventSource']) if (name in globalThis) lock(globalThis, name, deny(name));
}
// A parent that dies (Ctrl-C, kill) closes the channel: the child must not outlive it.
process.on('disconnect', () => process.exit(0));
process.once('message', async ({ jobs }) => {
  for (const job of jobs) {
    const report = await inspect(job);
    await new Promise((resolve) => process.send({ index: job.index, report }, resolve));
  }
});
`;
