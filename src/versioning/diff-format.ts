import type { SchemaDifference } from './compat.ts';
import type { BotDiff, BuildDiff, MethodChange } from './diff.ts';

/**
 * Text forms of a build diff. Each returns the whole document as a string (the CLI prints it):
 * `pretty` for a terminal, `markdown` for a pull-request comment (summary table first, details
 * folded), `github` for GitHub Actions workflow commands.
 */

const SIGN = { added: '+', removed: '-', changed: '~' } as const;

/** `/input_schema/properties/limit/maximum: 100 → 50 (reason)` */
export function formatDifference(d: SchemaDifference): string {
  return `${d.pointer}: ${show(d.before)} → ${show(d.after)} (${d.reason})`;
}

export function formatPretty(diff: BuildDiff): string {
  const changed = diff.bots.filter((b) => b.change !== 'unchanged');
  if (changed.length === 0) return 'no changes\n';
  const out: string[] = [];
  for (const bot of changed) {
    out.push(`${bot.change === 'changed' ? 'bot' : `${bot.change} bot`} ${bot.bot}`);
    for (const e of bot.experts) {
      out.push(`  ${SIGN[e.change]} expert ${e.name}${describeExpert(e)}`);
      for (const block of e.blocks) {
        out.push(`      ${SIGN[block.change]} ${block.kind} block ${block.source}`);
        if (e.change === 'changed') out.push(...indent(block.patch, 8));
      }
    }
    for (const t of bot.tools) out.push(`  ${SIGN[t.change]} tool ${t.name}${describeTool(t)}`);
    for (const m of bot.methods) {
      out.push(`  ${SIGN[m.change]} method ${m.method_id}${describeMethod(m)}`);
      for (const d of m.breaking) out.push(`      ${formatDifference(d)}`);
    }
    if (onlySources(bot)) out.push(`  ~ only input files changed: ${bot.sources.join(', ')}`);
    for (const i of bot.integrations) {
      out.push(`  ${SIGN[i.change]} integration ${i.provider}${i.fields.map((f) => `; ${describeField(f)}`).join('')}`);
    }
  }
  out.push('', `${diff.summary.changes} change(s), ${diff.summary.breaking} breaking`);
  return `${out.join('\n')}\n`;
}

export function formatMarkdown(diff: BuildDiff): string {
  const changed = diff.bots.filter((b) => b.change !== 'unchanged');
  const out: string[] = ['## botc diff', ''];
  if (changed.length === 0) return `${out.join('\n')}No changes to what the agents see.\n`;
  out.push(
    `${diff.summary.changes} change(s)${diff.summary.breaking > 0 ? `, **${diff.summary.breaking} breaking**` : ', none breaking'}.`,
    '',
    '| bot | experts | tools | methods | breaking | integrations |',
    '|---|---|---|---|---|---|',
  );
  for (const bot of changed) {
    out.push(`| \`${bot.bot}\`${bot.change === 'changed' ? '' : ` (${bot.change})`} | ${counts(bot.experts)} | ${counts(bot.tools)} | ${counts(bot.methods)} | ${bot.methods.filter((m) => m.compatibility === 'breaking').length} | ${counts(bot.integrations)} |`);
  }
  for (const bot of changed) {
    out.push('', `<details><summary><code>${bot.bot}</code>: ${summaryLine(bot)}</summary>`, '');
    for (const e of bot.experts) {
      out.push(`- ${e.change} expert \`${e.name}\`${describeExpert(e)}`);
      for (const block of e.blocks) {
        out.push(`  - ${block.change} ${block.kind} block \`${block.source}\``);
        if (e.change === 'changed') out.push('', fence(block.patch, 'diff', 4), '');
      }
    }
    for (const t of bot.tools) out.push(`- ${t.change} tool \`${t.name}\`${describeTool(t)}`);
    for (const m of bot.methods) {
      out.push(`- ${m.change} method \`${m.method_id}\`${describeMethod(m)}`);
      for (const d of m.breaking) out.push(`  - \`${d.pointer}\`: \`${show(d.before)}\` → \`${show(d.after)}\` (${d.reason})`);
    }
    if (onlySources(bot)) out.push(`- only input files changed: ${bot.sources.map((f) => `\`${f}\``).join(', ')}`);
    for (const i of bot.integrations) {
      out.push(`- ${i.change} integration \`${i.provider}\`${i.fields.map((f) => `; ${describeField(f, '`')}`).join('')}`);
    }
    out.push('', '</details>');
  }
  return `${out.join('\n')}\n`;
}

/** GitHub Actions workflow commands: an error per breaking method, a notice per other change. */
export function formatGithub(diff: BuildDiff): string {
  const out: string[] = [];
  for (const bot of diff.bots) {
    if (bot.change === 'added' || bot.change === 'removed') out.push(`::notice title=botc diff::bot ${bot.bot} ${bot.change}`);
    for (const e of bot.experts) out.push(`::notice title=botc diff::${bot.bot}: expert ${e.name} ${e.change}${escapeCommand(describeExpert(e))}`);
    for (const t of bot.tools) out.push(`::notice title=botc diff::${bot.bot}: tool ${t.name} ${t.change}${escapeCommand(describeTool(t))}`);
    for (const m of bot.methods) {
      const level = m.compatibility === 'breaking' ? 'error' : 'notice';
      const detail = m.breaking.map(formatDifference).join('; ');
      out.push(`::${level} title=botc diff::${bot.bot}: method ${m.method_id} ${m.change}${escapeCommand(describeMethod(m) + (detail ? `: ${detail}` : ''))}`);
    }
    for (const i of bot.integrations) out.push(`::notice title=botc diff::${bot.bot}: integration ${i.provider} ${i.change}${escapeCommand(i.fields.map((f) => `; ${describeField(f)}`).join(''))}`);
  }
  out.push(`${diff.summary.changes} change(s), ${diff.summary.breaking} breaking`);
  return `${out.join('\n')}\n`;
}

/** A changed bundle whose reviewable parts are all equal: say which inputs moved its digest. */
function onlySources(bot: BotDiff): boolean {
  return bot.change === 'changed' && bot.experts.length + bot.tools.length + bot.methods.length + bot.integrations.length === 0 && bot.sources.length > 0;
}

function describeField(f: { field: string; before: unknown; after: unknown }, quote = ''): string {
  if (f.field === 'sha256') return 'module source changed';
  return `${f.field}: ${quote}${show(f.before)}${quote} → ${quote}${show(f.after)}${quote}`;
}

function describeExpert(e: BotDiff['experts'][number]): string {
  const parts: string[] = [];
  if (e.description) parts.push('description changed');
  if (e.tools?.added.length) parts.push(`tools added: ${e.tools.added.join(', ')}`);
  if (e.tools?.removed.length) parts.push(`tools removed: ${e.tools.removed.join(', ')}`);
  if (e.reordered) parts.push('blocks reordered');
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

function describeTool(t: BotDiff['tools'][number]): string {
  const parts: string[] = [];
  if (t.description) parts.push('description changed');
  if (t.methods?.added.length) parts.push(`methods added: ${t.methods.added.join(', ')}`);
  if (t.methods?.removed.length) parts.push(`methods removed: ${t.methods.removed.join(', ')}`);
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

function describeMethod(m: MethodChange): string {
  const parts: string[] = [];
  if (m.compatibility) parts.push(m.compatibility === 'breaking' ? 'BREAKING' : 'compatible schema change');
  if (m.fields.length > 0) parts.push(`${m.fields.join(', ')} changed`);
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

function summaryLine(bot: BotDiff): string {
  const parts = [
    bot.experts.length && `${bot.experts.length} expert(s)`,
    bot.tools.length && `${bot.tools.length} tool(s)`,
    bot.methods.length && `${bot.methods.length} method(s)`,
    bot.integrations.length && `${bot.integrations.length} integration(s)`,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : onlySources(bot) ? 'input files only' : bot.change;
}

function counts(items: readonly { change: string }[]): string {
  const n = (c: string) => items.filter((i) => i.change === c).length;
  const parts = [n('added') && `+${n('added')}`, n('removed') && `-${n('removed')}`, n('changed') && `~${n('changed')}`].filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : '';
}

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function indent(text: string, spaces: number): string[] {
  return text.split('\n').map((line) => `${' '.repeat(spaces)}${line}`);
}

/** A fenced code block that a line of the content cannot close. */
function fence(text: string, lang: string, spaces: number): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return [`${ticks}${lang}`, ...text.split('\n'), ticks].map((l) => `${' '.repeat(spaces)}${l}`).join('\n');
}

/** Workflow command data escapes `%`, CR and LF (GitHub Actions toolkit rules). */
function escapeCommand(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
