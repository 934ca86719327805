import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Bundle } from '../bundle/format.ts';
import { Diagnostics } from '../diagnostics/diagnostic.ts';
import { readPrompt } from '../build/load/prompts.ts';
import { discover } from '../build/discover/discover.ts';
import { WorkspaceFiles } from '../load/files.ts';
import { readBundle } from '../runtime/bundle-schema.ts';
import { commonFrontMatterSchema } from '../schema/prompt.ts';
import type { Io } from './io.ts';
import { UsageError } from './usage.ts';
import { workspaceRoot } from './workspace.ts';

const OPTIONS = {
  expert: { type: 'string' },
  root: { type: 'string' },
  format: { type: 'string', default: 'pretty' },
} as const;

/** One block of an expert's system prompt, as the bundle records it. */
export interface ExplainedBlock {
  kind: string;
  source: string;
  /** Offsets in `system_prompt`, in Unicode code points; `end` is exclusive. */
  start: number;
  end: number;
  /** The source file in the workspace no longer has the sha256 the bundle recorded (or is gone). */
  source_changed: boolean;
}

/** Why a common block of the workspace is, or is not, in the expert's prompt. */
export interface ExplainedCommon {
  file: string;
  /** In the bundle's prompt for this expert. */
  included: boolean;
  /** `when_tools_any` of its front matter, or null when it has none (the block is for everyone). */
  when_tools_any: string[] | null;
  /** The expert's tools that `when_tools_any` names. */
  matched: string[];
  reason: string;
}

/** What `botc explain --format json` prints. */
export interface Explanation {
  bot: string;
  expert: string;
  digest: string;
  tools: string[];
  prompt_length: number;
  blocks: ExplainedBlock[];
  common: ExplainedCommon[];
}

/**
 * `botc explain <bundle> --expert E`: each block of the expert's system prompt (kind, source
 * file, offsets), and for each common block of the workspace (prompts/*.md) whether and why
 * it is in that prompt: it has no `when_tools_any` (every expert), or the expert has one of
 * the tools it names, or none. The workspace is found like for every other command.
 */
export async function runExplain(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv);
  if (positionals.length !== 1) throw new UsageError('explain takes one bundle file', 'botc explain dist/<bot>.bundle.json --expert NAME');
  if (values.expert === undefined) throw new UsageError('--expert is required', 'name one expert of the bundle');
  const format = values.format.toLowerCase();
  if (format !== 'pretty' && format !== 'json') throw new UsageError(`--format is pretty or json, not \`${values.format.slice(0, 64)}\``);
  const cwd = io.cwd ?? process.cwd();
  const bundle = readBundle(path.resolve(cwd, positionals[0]!));
  const root = workspaceRoot(values.root, cwd);
  const explanation = explain(bundle, values.expert, root);
  io.stdout(format === 'json' ? `${JSON.stringify(explanation, null, 2)}\n` : renderExplanation(explanation));
  return 0;
}

/**
 * The explanation of one expert of `bundle` against the workspace at `root`.
 * @throws UsageError when the bundle has no such expert.
 */
export function explain(bundle: Bundle, expertName: string, root: string): Explanation {
  const expert = bundle.experts.find((e) => e.name === expertName);
  if (!expert) {
    throw new UsageError(`bundle of \`${bundle.bot.id}\` has no expert \`${expertName.slice(0, 64)}\``, `experts: ${bundle.experts.map((e) => e.name).join(', ') || 'none'}`);
  }
  const files = new WorkspaceFiles(root);
  const changed = (file: string): boolean => {
    const read = files.read(file);
    return !read.ok || read.sha256 !== bundle.sources[file];
  };
  const blocks = expert.blocks.map((b) => ({ kind: b.kind, source: b.source, start: b.start, end: b.end, source_changed: changed(b.source) }));
  const inPrompt = new Set(expert.blocks.filter((b) => b.kind === 'common').map((b) => b.source));
  const tools = [...expert.tools];
  const common: ExplainedCommon[] = [];
  const diagnostics = new Diagnostics();
  for (const entry of discover(root).commonPrompts) {
    if (entry.kind !== 'file' || !entry.path.endsWith('.md')) continue;
    const read = readPrompt({ files, diagnostics }, entry.path, commonFrontMatterSchema);
    const when = read.ok ? (read.prompt.data?.when_tools_any ?? null) : null;
    const matched = when ? tools.filter((t) => when.includes(t)) : [];
    const included = inPrompt.has(entry.path);
    let reason: string;
    if (!read.ok) reason = 'the file does not read as a common block now (run botc check)';
    else if (!(entry.path in bundle.sources)) reason = 'added after the bundle was built';
    else if (when === null || when.length === 0) reason = included ? 'no when_tools_any: every expert gets it' : 'no when_tools_any, but it renders empty for this expert';
    else if (matched.length > 0) reason = included ? `the expert has ${matched.join(', ')}` : `the expert has ${matched.join(', ')}, but it renders empty`;
    else reason = `the expert has none of ${when.join(', ')}`;
    if (read.ok && entry.path in bundle.sources && changed(entry.path)) reason += ' (the file changed since the bundle was built)';
    common.push({ file: entry.path, included, when_tools_any: when, matched, reason });
  }
  return {
    bot: bundle.bot.id,
    expert: expert.name,
    digest: bundle.digest,
    tools,
    prompt_length: blocks.at(-1)?.end ?? 0,
    blocks,
    common,
  };
}

/** The pretty form: a table of blocks, then the common blocks with in/out and why. */
export function renderExplanation(e: Explanation): string {
  const lines = [`expert \`${e.expert}\` of bot \`${e.bot}\` (${e.digest})`, `tools: ${e.tools.join(', ') || 'none'}`, ''];
  lines.push(`system prompt: ${e.blocks.length} block(s), ${e.prompt_length} code points`);
  const rows = e.blocks.map((b, i) => [String(i + 1), b.kind, b.source, `${b.start}-${b.end}`, b.source_changed ? 'changed since built' : '']);
  lines.push(...table([['#', 'kind', 'source', 'offsets', ''], ...rows]));
  lines.push('', 'common blocks (prompts/*.md):');
  if (e.common.length === 0) lines.push('  none');
  lines.push(...table(e.common.map((c) => [c.included ? 'in' : 'out', c.file, c.reason])));
  return `${lines.join('\n')}\n`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => r[col]!.length))) ?? [];
  return rows.map((r) => `  ${r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ')}`.trimEnd());
}

function parse(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, 'botc help explain lists the options');
  }
}
