import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from '../build/build.ts';
import type { Bundle } from '../bundle/format.ts';
import { WorkspaceFiles } from '../load/files.ts';
import { readBundle } from '../runtime/bundle-schema.ts';
import { diffBuilds } from '../versioning/diff.ts';
import { formatGithub, formatMarkdown, formatPretty } from '../versioning/diff-format.ts';
import { LOCK_FILE, serializeLock } from '../versioning/lock.ts';
import type { Io } from './io.ts';
import { renderPretty } from './render.ts';
import { UsageError } from './usage.ts';
import { workspaceRoot } from './workspace.ts';

/** Runs node's parseArgs, turning its complaints into usage errors. */
function parsed<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * `botc lock [--root DIR]`: records every declared method in botc.lock.json. New ids are added
 * and compatible changes updated; a breaking change of a locked id is refused (exit 1) and
 * nothing is written, so the lock never records half of a change.
 */
export async function runLock(args: string[], io: Io): Promise<number> {
  const { values } = parsed(() => parseArgs({ args, options: { root: { type: 'string' } }, strict: true }));
  const root = workspaceRoot(values.root, io.cwd ?? process.cwd());
  const result = await build({ root, write: false, keepBundles: false, lock: 'update' });
  if (!result.ok || !result.lock) {
    const files = new WorkspaceFiles(root);
    io.stdout(renderPretty({ ...result, ok: false, bundles: [], built: [] }, { color: false, source: (file) => { const read = files.read(file); return read.ok ? read.text : undefined; } }, 'check'));
    return 1;
  }
  const { lock, added, updated, removed } = result.lock;
  const file = path.join(path.resolve(root), LOCK_FILE);
  const text = serializeLock(lock);
  const changed = readText(file) !== text;
  if (changed) writeAtomically(file, text);
  const count = Object.keys(lock.methods).length;
  io.stdout(changed
    ? `wrote ${LOCK_FILE}: ${count} method(s); ${added.length} added, ${updated.length} updated, ${removed.length} removed\n`
    : `${LOCK_FILE} is up to date: ${count} method(s)\n`);
  for (const [label, ids] of [['added', added], ['updated', updated], ['removed', removed]] as const) {
    for (const id of ids) io.stdout(`  ${label} ${id}\n`);
  }
  return 0;
}

/**
 * `botc diff <old> <new> [--format pretty|json|markdown|github] [--fail-on breaking|any]`:
 * compares two builds (bundle files or output folders). Exit 1 only when `--fail-on` matches.
 */
export async function runDiff(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parsed(() => parseArgs({ args, options: { format: { type: 'string', default: 'pretty' }, 'fail-on': { type: 'string' } }, allowPositionals: true, strict: true }));
  if (positionals.length !== 2) throw new UsageError('botc diff takes two builds: <old.bundle.json|DIR> <new.bundle.json|DIR>');
  const format = values.format;
  if (!['pretty', 'json', 'markdown', 'github'].includes(format)) throw new UsageError(`--format must be pretty, json, markdown or github, not \`${format}\``);
  const failOn = values['fail-on'];
  if (failOn !== undefined && failOn !== 'breaking' && failOn !== 'any') throw new UsageError(`--fail-on must be breaking or any, not \`${failOn}\``);
  const cwd = io.cwd ?? process.cwd();
  const diff = diffBuilds(readBuild(path.resolve(cwd, positionals[0]!)), readBuild(path.resolve(cwd, positionals[1]!)));
  const render = { pretty: formatPretty, markdown: formatMarkdown, github: formatGithub, json: (d: typeof diff) => `${JSON.stringify(d, null, 2)}\n` }[format as 'pretty'];
  io.stdout(render(diff));
  if (failOn === 'breaking') return diff.summary.breaking > 0 ? 1 : 0;
  if (failOn === 'any') return diff.summary.changes > 0 ? 1 : 0;
  return 0;
}

/**
 * `botc impact <method_id|provider> [--root DIR] [--format pretty|json]`: the bots, tools and
 * experts that use a method, or any method of a provider.
 */
export async function runImpact(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parsed(() => parseArgs({ args, options: { root: { type: 'string' }, format: { type: 'string', default: 'pretty' } }, allowPositionals: true, strict: true }));
  if (positionals.length !== 1) throw new UsageError('botc impact takes one method id or provider name');
  const format = values.format;
  if (format !== 'pretty' && format !== 'json') throw new UsageError(`--format must be pretty or json, not \`${format}\``);
  const target = positionals[0]!;
  const root = workspaceRoot(values.root, io.cwd ?? process.cwd());
  const result = await build({ root, write: false, keepBundles: true, lock: 'ignore' });
  if (!result.ok) {
    const files = new WorkspaceFiles(root);
    io.stdout(renderPretty(result, { color: false, source: (file) => { const read = files.read(file); return read.ok ? read.text : undefined; } }, 'check'));
    return 1;
  }
  const uses = impactOf(result.built, target);
  if (format === 'json') {
    io.stdout(`${JSON.stringify(uses, null, 2)}\n`);
  } else if (uses.length === 0) {
    io.stdout(`nothing uses ${target}\n`);
  } else {
    for (const use of uses) {
      io.stdout(`${use.bot} › ${use.tool} (${use.methods.join(', ')}): experts ${use.experts.length > 0 ? use.experts.join(', ') : '(none)'}\n`);
    }
  }
  return 0;
}

/** One tool of one bot that uses the target, with the experts allowed to call it. */
export interface ImpactEntry {
  bot: string;
  tool: string;
  methods: string[];
  experts: string[];
}

/** The tools (and their experts) of the given bundles that use a method id, or any method of a provider. */
export function impactOf(bundles: readonly Bundle[], target: string): ImpactEntry[] {
  const matches = (id: string) => id === target || id.split('.')[0] === target;
  const out: ImpactEntry[] = [];
  for (const bundle of bundles) {
    for (const tool of bundle.tools) {
      const methods = tool.methods.filter(matches);
      if (methods.length === 0) continue;
      const experts = bundle.experts.filter((e) => e.tools.includes(tool.name)).map((e) => e.name).sort();
      out.push({ bot: bundle.bot.id, tool: tool.name, methods, experts });
    }
  }
  return out.sort((a, b) => (a.bot === b.bot ? (a.tool < b.tool ? -1 : 1) : a.bot < b.bot ? -1 : 1));
}

/** A build to compare: one bundle file, or every `*.bundle.json` of a folder. */
function readBuild(where: string): Map<string, Bundle> {
  let isDir: boolean;
  try {
    isDir = statSync(where).isDirectory();
  } catch {
    throw new UsageError(`\`${where}\` does not exist`);
  }
  const files = isDir ? readdirSync(where).filter((f) => f.endsWith('.bundle.json')).sort().map((f) => path.join(where, f)) : [where];
  const bundles = new Map<string, Bundle>();
  for (const file of files) {
    const bundle = readBundle(file);
    bundles.set(bundle.bot.id, bundle);
  }
  return bundles;
}

/** The current text of a file at the workspace root, or undefined when it cannot be read. */
function readText(file: string): string | undefined {
  const read = new WorkspaceFiles(path.dirname(file)).read(path.basename(file), 64 * 1024 * 1024);
  return read.ok ? read.text : undefined;
}

/** Writes through an exclusive temporary file and a rename: a crash never leaves half a lock. */
function writeAtomically(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(temp, text, { flag: 'wx', mode: 0o644 });
    renameSync(temp, file);
  } finally {
    rmSync(temp, { force: true });
  }
}
