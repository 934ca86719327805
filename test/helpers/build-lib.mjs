#!/usr/bin/env node
// `npm test`'s pretest: builds lib/ (the tsc output the multi-process test workers run) and
// lib/cli-bundle/ (the bundled CLI bin/botc.js runs, scripts/bundle-cli.mjs) only when it is
// missing or older than a file under src/ or the bundle script, the way make decides. A no-op build
// by tsc still costs seconds of CPU on every test run; this check costs milliseconds.
// `npm run build:lib` always builds.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const stamp = path.join(root, 'lib', '.built');

function newest(dir) {
  let latest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

let built = -Infinity;
try {
  built = statSync(stamp).mtimeMs;
} catch {
  // never built by this script
}
const sources = Math.max(newest(path.join(root, 'src')), ...['tsconfig.json', 'tsconfig.build.json', 'package.json', 'scripts/bundle-cli.mjs'].map((f) => statSync(path.join(root, f)).mtimeMs));
if (sources < built && existsSync(path.join(root, 'lib', 'cli-bundle', 'main.js'))) process.exit(0);

const started = Date.now();
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--incremental', '--tsBuildInfoFile', 'lib/.tsbuildinfo'], { cwd: root, stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);
const bundle = spawnSync(process.execPath, [path.join(root, 'scripts', 'bundle-cli.mjs')], { cwd: root, stdio: 'inherit' });
if (bundle.status !== 0) process.exit(bundle.status ?? 1);
// The stamp carries the time the build started: a source saved during the build is newer.
writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
utimesSync(stamp, started / 1000, started / 1000);
