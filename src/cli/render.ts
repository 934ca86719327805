import type { BuildResult } from '../build/build.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { escapeForTerminal as safe } from '../load/unicode.ts';

export type Format = 'pretty' | 'json' | 'github';

export interface PrettyOptions {
  color: boolean;
  /** The text of a workspace file, for code frames; undefined when it cannot be shown. */
  source: (file: string) => string | undefined;
}

/** One JSON document (README, CLI). */
export function renderJson(result: BuildResult): string {
  return `${JSON.stringify({ ok: result.ok, diagnostics: result.diagnostics, bundles: result.bundles }, null, 2)}\n`;
}

/** GitHub Actions workflow commands: one annotation per diagnostic. */
export function renderGithub(result: BuildResult): string {
  const lines = result.diagnostics.map((d) => {
    const props = [`file=${escapeProperty(d.file)}`];
    if (d.line !== undefined) props.push(`line=${d.line}`);
    if (d.column !== undefined) props.push(`col=${d.column}`);
    props.push(`title=${escapeProperty(d.code)}`);
    const message = d.related ? `${d.message} (see also ${formatLocation(d.related)})` : d.message;
    const body = d.hint ? `${message} (${d.hint})` : message;
    return `::${d.severity === 'error' ? 'error' : 'warning'} ${props.join(',')}::${escapeData(body)}`;
  });
  lines.push(summary(result));
  return `${lines.join('\n')}\n`;
}

/** `file:line:column`, or the file alone when the place has no position. */
function formatLocation(place: { file: string; line?: number; column?: number }): string {
  return place.line === undefined ? place.file : `${place.file}:${place.line}:${place.column ?? 1}`;
}

function escapeData(value: string): string {
  return safe(value).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** Human output: location, severity, code, message, a code frame, the hint; one summary line. */
export function renderPretty(result: BuildResult, options: PrettyOptions, verb: 'build' | 'check'): string {
  const paint = painter(options.color);
  const out: string[] = [];
  for (const d of result.diagnostics) {
    // Messages quote workspace text: nothing in it may reach the terminal as a control character.
    const where = safe(formatLocation(d));
    const severity = d.severity === 'error' ? paint.red('error') : paint.yellow('warning');
    out.push(`${paint.bold(where)} ${severity} ${paint.dim(`[${d.code}]`)} ${safe(d.message)}`);
    const frame = codeFrame(d, options.source(d.file), paint);
    if (frame) out.push(frame);
    // A second place the diagnostic is about (the first declaration of a duplicate): a location, never part of the message.
    if (d.related) out.push(`  ${paint.cyan('see also:')} ${safe(formatLocation(d.related))}`);
    if (d.hint) out.push(`  ${paint.cyan('hint:')} ${safe(d.hint)}`);
    out.push('');
  }
  if (result.ok) {
    // A bundle file already in place with these bytes was left as it is: `unchanged`, not `wrote`.
    const unchanged = new Set(result.unchanged ?? []);
    for (const b of result.bundles) {
      const action = verb !== 'build' ? 'checked' : unchanged.has(b.bot) ? 'unchanged' : 'wrote';
      out.push(`${paint.green(action)} ${safe(b.path)} ${paint.dim(b.digest.slice(0, 12))}`);
    }
  }
  out.push(summary(result, paint));
  return `${out.join('\n')}\n`;
}

function summary(result: BuildResult, paint = painter(false)): string {
  const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = result.diagnostics.length - errors;
  const counts = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  return result.ok
    ? paint.green(`ok: ${result.bundles.length} bundle${result.bundles.length === 1 ? '' : 's'}, ${counts}`)
    : paint.red(`failed: ${counts}`);
}

function codeFrame(d: Diagnostic, text: string | undefined, paint: Painter): string | undefined {
  if (text === undefined || d.line === undefined) return undefined;
  const lines = text.split('\n');
  const index = d.line - 1;
  if (index < 0 || index >= lines.length) return undefined;
  const first = Math.max(0, index - 1);
  const last = Math.min(lines.length - 1, index + 1);
  const width = String(last + 1).length;
  const out: string[] = [];
  for (let i = first; i <= last; i++) {
    const gutter = String(i + 1).padStart(width);
    const raw = (lines[i] ?? '').replace(/\r$/, '').replace(/\t/g, '  ');
    const content = safe(raw).slice(0, 160);
    out.push(`  ${i === index ? paint.red('>') : ' '} ${paint.dim(`${gutter} |`)} ${content}`);
    if (i === index) {
      // The caret stands under the character, after any escapes before it.
      const before = (lines[i] ?? '').slice(0, Math.max(1, d.column ?? 1) - 1).replace(/\t/g, '  ');
      out.push(`    ${' '.repeat(width)} ${paint.dim('|')} ${' '.repeat(safe(before).length)}${paint.red('^')}`);
    }
  }
  return out.join('\n');
}

type Painter = Record<'red' | 'yellow' | 'green' | 'cyan' | 'dim' | 'bold', (s: string) => string>;

function painter(color: boolean): Painter {
  const wrap = (open: number, close: number) => (s: string) => (color ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { red: wrap(31, 39), yellow: wrap(33, 39), green: wrap(32, 39), cyan: wrap(36, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}
