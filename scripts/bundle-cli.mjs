#!/usr/bin/env node
// Bundles the CLI (`npm run build:lib`, after tsc): lib/cli/main.js and every script the CLI
// starts by file path become a few ES modules in lib/cli-bundle/, so a `botc` process imports
// a handful of files instead of the ~200 of lib/ plus its dependencies' own. The library entry
// points (lib/index.js, lib/runtime/index.js, ... in package.json "exports") stay tsc output.
//
// What the bundle keeps OUT, and why:
// - lib/integration/**: integration modules import `botc/integration`, which Node resolves to
//   lib/integration/index.js; the runtime's `instanceof BaseIntegration` and the credential
//   errors must be those very classes, so the bundle imports lib/integration/*.js too (all
//   but the modules that hold only data, INTEGRATION_DATA below).
// - packages that find files by path at run time or carry native code (esbuild, tsx,
//   better-sqlite3, @node-rs/argon2, pg and pg-boss, recheck) and the optional peers (ai,
//   @openai/agents).
// Packages loaded through `createRequire(import.meta.url)` (ajv, fast-glob, handlebars, re2js,
// recheck) are not seen by esbuild and load from node_modules as before; import.meta.url
// paths (package.json, the schema worker) resolve because every output file sits in
// lib/cli-bundle/, two levels below the package root as lib/cli/main.js is.
//
// Deterministic: no timestamps, chunk names are content hashes, and the metafile (what
// test/bundle-cli.test.ts and a curious reader use to map chunks back to modules) holds paths
// relative to the package root.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lib = path.join(root, 'lib');
const outdir = path.join(lib, 'cli-bundle');

/** Scripts the CLI starts by path (a worker thread's file), by output name. */
export const ENTRIES = {
  main: 'lib/cli/main.js',
  // `new Worker(new URL('./schema-worker.js', import.meta.url))` in src/build/validate/schema-checker.ts
  'schema-worker': 'lib/build/validate/schema-worker.js',
};

/** Packages imported from node_modules at run time, never inlined. */
const EXTERNAL_PACKAGES = ['esbuild', 'tsx', 'better-sqlite3', '@node-rs/argon2', 'pg', 'pg-boss', 'pg-native', 'recheck', 'ai', '@openai/agents'];

const integrationDir = path.join(lib, 'integration') + path.sep;

/**
 * Modules of lib/integration/ that hold only data (constants, the MethodSpec zod schema): no
 * class or state whose identity user code could share, so the bundle may hold its own copy
 * (method-spec.js imported from node_modules would load zod's ~100 files a second time).
 */
const INTEGRATION_DATA = new Set(['method-spec.js', 'types.js', 'vocabulary.js'].map((file) => path.join(integrationDir, file)));

/** Imports of lib/integration/* (but its data modules) stay imports of those files, from the bundle's folder. */
const keepIntegration = {
  name: 'botc-keep-integration',
  setup(b) {
    b.onResolve({ filter: /^\./ }, (args) => {
      const target = path.resolve(args.resolveDir, args.path);
      if (!target.startsWith(integrationDir) || INTEGRATION_DATA.has(target)) return undefined;
      return { path: path.relative(outdir, target).split(path.sep).join('/'), external: true };
    });
  },
};

/**
 * zod's `z` namespace carries `z.locales`, the error messages in ~50 languages (360 KB, half
 * of zod's chunk), which botc never selects: it keeps zod's default, English. The bundle's
 * `z.locales` holds `en` only, so a process that checks a file with zod parses half as much.
 */
const zodEnglishOnly = {
  name: 'botc-zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

const started = Date.now();
const result = await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, path.join(root, file)])),
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  // ES module builds first: jsonc-parser's `main` is a UMD file whose require() calls esbuild
  // cannot follow (packages with an "exports" map are resolved by it, as Node does).
  mainFields: ['module', 'main'],
  external: EXTERNAL_PACKAGES.flatMap((name) => [name, `${name}/*`]),
  // CommonJS dependencies inlined in ES modules still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __botcCreateRequire } from 'node:module';\nconst require = __botcCreateRequire(import.meta.url);" },
  // Paths as seen from the package root (node_modules/...), whatever links the install has:
  // the output and its path comments are the same in any checkout of the same sources.
  preserveSymlinks: true,
  plugins: [keepIntegration, zodEnglishOnly],
  metafile: true,
  write: false,
  legalComments: 'none',
  logLevel: 'warning',
});
// Written beside, then swapped in: a `botc` started during the build finds the old bundle or
// the new one, not a half-written folder.
const staging = path.join(lib, '.cli-bundle-new');
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
for (const file of result.outputFiles) writeFileSync(path.join(staging, path.relative(outdir, file.path)), file.contents);
writeFileSync(path.join(staging, 'meta.json'), `${JSON.stringify(result.metafile)}\n`);
rmSync(outdir, { recursive: true, force: true });
renameSync(staging, outdir);
if (process.env.BOTC_BUNDLE_VERBOSE) {
  console.log(`bundle-cli: ${Object.keys(result.metafile.outputs).length} files in ${Date.now() - started} ms`);
}
