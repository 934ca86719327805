import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './cli.ts';

/** The bundled CLI's folder (scripts/bundle-cli.mjs, run by `npm run build:lib` and `pretest`). */
export const CLI_BUNDLE = path.join(REPO_ROOT, 'lib', 'cli-bundle');

/**
 * A loader hook (ESM, in its own thread) and an exit hook (CommonJS) that write every module
 * the process loads to `log`, one URL or path a line. Returns the file to pass to `node --import`.
 */
export function moduleLogger(dir: string, log: string): string {
  const hook = path.join(dir, 'log-hooks.mjs');
  writeFileSync(hook, `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url.slice(0, 200) + '\\n'); return next(url, context); }
`);
  const register = path.join(dir, 'log-modules.mjs');
  writeFileSync(register, `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
register(${JSON.stringify(pathToFileURL(hook).href)});
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(${JSON.stringify(log)}, Object.keys(require.cache).join('\\n') + '\\n'));
`);
  return register;
}

interface Metafile {
  outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }>; entryPoint?: string }>;
}

/** esbuild's metafile of the bundled CLI (lib/cli-bundle/meta.json): outputs and inputs relative to the repository root. */
export function cliBundleMeta(): Metafile {
  return JSON.parse(readFileSync(path.join(CLI_BUNDLE, 'meta.json'), 'utf8')) as Metafile;
}

/**
 * The modules a process loaded, as written by `moduleLogger`, with every file of the bundled
 * CLI followed by the `file:` URLs of the modules esbuild put in it: a test that asks whether
 * `node_modules/zod/` was loaded gets the same answer whether zod came from node_modules or
 * inside a chunk.
 */
export function loadedModules(log: string): string[] {
  const meta = cliBundleMeta();
  const modules: string[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line === '') continue;
    modules.push(line);
    const file = line.startsWith('file:') ? new URL(line).pathname : line;
    if (path.dirname(file) !== CLI_BUNDLE) continue;
    const output = meta.outputs[path.relative(REPO_ROOT, file).split(path.sep).join('/')];
    for (const input of Object.keys(output?.inputs ?? {})) modules.push(pathToFileURL(path.join(REPO_ROOT, input)).href);
  }
  return modules;
}
