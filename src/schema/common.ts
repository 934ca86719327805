import { z } from 'zod';
import type { Diagnostics } from '../diagnostics/diagnostic.ts';
import type { DiagnosticCode } from '../diagnostics/codes.ts';
import type { JsonPath } from '../load/json.ts';
import type { Position } from '../diagnostics/diagnostic.ts';
import { NAME_PATTERN, nameProblem } from '../load/names.ts';

/** A bot, expert, skill, tool or provider name (SPEC §1). */
export const nameSchema = z.string().superRefine((value, ctx) => {
  if (!NAME_PATTERN.test(value)) ctx.addIssue({ code: 'custom', message: `\`${clip(value)}\` is not a valid name: ${nameProblem(value)}` });
});

/** A YAML list of strings, or one comma-separated string; null means empty. */
export const stringListSchema = z
  .union([z.array(z.string()), z.string(), z.null()])
  .transform((value) => {
    if (value === null) return [];
    if (Array.isArray(value)) return value.map((v) => v.trim());
    return value.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
  });

export const nonEmptyString = z.string().refine((s) => s.trim().length > 0, 'must not be empty');

/** Maps zod issues to located diagnostics; one diagnostic per issue. */
export function reportIssues(
  diagnostics: Diagnostics,
  code: DiagnosticCode,
  file: string,
  issues: readonly z.core.$ZodIssue[],
  locate: (path: JsonPath, key?: string) => Position,
  hint?: (issue: z.core.$ZodIssue) => string | undefined,
): void {
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        diagnostics.report(code, {
          file,
          message: `unknown key \`${clip(key)}\`${path.length ? ` in \`${formatPath(path)}\`` : ''}`,
          at: locate(path, key),
          hint: hint?.(issue) ?? 'remove the key or fix its spelling',
        });
      }
      continue;
    }
    const where = path.length ? `\`${formatPath(path)}\`: ` : '';
    diagnostics.report(code, {
      file,
      message: `${where}${describeIssue(issue)}`,
      at: locate(path),
      hint: hint?.(issue),
    });
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `required, expected ${issue.expected}` : `expected ${issue.expected}, got ${typeName(issue.input)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return 'has the wrong type';
    default:
      return issue.message.replace(/^Invalid input: /, '');
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function formatPath(path: JsonPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out;
}

export function clip(value: string, max = 60): string {
  const printable = value.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}
