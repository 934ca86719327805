import { z } from 'zod';
import type { Diagnostics } from '../diagnostics/diagnostic.ts';
import type { JsonPath } from '../load/json.ts';
import type { Position } from '../diagnostics/diagnostic.ts';
import { NAME_PATTERN, nameProblem } from '../load/names.ts';

/** A bot, expert, skill, tool or provider name (README, Workspace layout). */
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

/** What a diagnostic can know about the value it describes, besides the zod issue. */
export interface IssueSource {
  /** The whole value that was parsed, to tell a missing key from a value of the wrong type. */
  value?: unknown;
  /** The value at a path as it is written in the file (`1.10` where YAML reads 1.1). */
  raw?: ((path: JsonPath) => string | undefined) | undefined;
}

/** The codes whose registry entry frames a zod issue (the `issue` variant). */
export type IssueCode = 'manifest-invalid' | 'frontmatter-invalid' | 'integration-registry-invalid' | 'method-spec-invalid' | 'config-invalid';

/**
 * Maps zod issues to located diagnostics; one diagnostic per issue. Every issue kind says what
 * was expected and what was found ("expected a string, got the number 1.1"); "required" is
 * said only of a key that is absent. Without `source.value` the found type is taken from
 * zod's own message.
 */
export function reportIssues(
  diagnostics: Diagnostics,
  code: IssueCode,
  file: string,
  issues: readonly z.core.$ZodIssue[],
  locate: (path: JsonPath, key?: string) => Position,
  hint?: (issue: z.core.$ZodIssue) => string | undefined,
  source: IssueSource = {},
): void {
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        diagnostics.add(code, { file, at: locate(path, key) }, {
          variant: 'issue',
          detail: `unknown key \`${clip(key)}\`${path.length ? ` in \`${formatPath(path)}\`` : ''}`,
          hint: hint?.(issue) ?? 'remove the key or fix its spelling',
        });
      }
      continue;
    }
    const described = issueMessage(issue, source);
    // "`name` is required: expected a string" reads better than "`name`: required: ...".
    const message =
      path.length === 0 ? described : described.startsWith('required: ') ? `\`${formatPath(path)}\` is ${described}` : `\`${formatPath(path)}\`: ${described}`;
    diagnostics.add(code, { file, at: locate(path) }, { variant: 'issue', detail: message, hint: hint?.(issue) });
  }
}

type Found = { present: false } | { present: true; value: unknown } | { present: 'unknown'; type: string };

function found(issue: z.core.$ZodIssue, source: IssueSource): Found {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if ('value' in source) {
    let current: unknown = source.value;
    for (const part of path) {
      if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return { present: false };
      current = (current as Record<string | number, unknown>)[part];
    }
    return current === undefined ? { present: false } : { present: true, value: current };
  }
  const received = /received (\w+)/.exec(issue.message)?.[1];
  if (received === 'undefined') return { present: false };
  return { present: 'unknown', type: received ?? '' };
}

/** One sentence for one zod issue (any kind), without the path. */
export function issueMessage(issue: z.core.$ZodIssue, source: IssueSource = {}): string {
  const actual = found(issue, source);
  const got =
    actual.present === true ? describeValue(actual.value) : actual.present === 'unknown' ? (actual.type ? `a ${actual.type}` : 'a value of another kind') : 'nothing';
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  // A schema's own message (`must be a semantic version such as \`1.0.0\``) says more than ours.
  const custom = !/^(Invalid|Too (small|big))/.test(issue.message) && issue.code !== 'invalid_type' && issue.code !== 'invalid_union' && issue.code !== 'custom';
  if (custom) return actual.present === true ? `${issue.message}, got ${got}` : issue.message;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = expectedName(issue.expected);
      if (actual.present === false) return `required: expected ${expected}`;
      let message = `expected ${expected}, got ${got}`;
      if (issue.expected === 'string' && actual.present === true && ['number', 'boolean'].includes(typeof actual.value)) {
        const written = source.raw?.(path) ?? String(actual.value);
        message += `: quote it as ${JSON.stringify(written)}`;
      }
      return message;
    }
    case 'invalid_union': {
      const expected = [...new Set(issue.errors.flat().flatMap((i) => (i.code === 'invalid_type' && i.path.length === 0 ? [expectedName(i.expected)] : [])))];
      if (actual.present === false) return `required: expected ${orList(expected.length > 0 ? expected : ['a value'])}`;
      if (expected.length === issue.errors.length) return `expected ${orList(expected)}, got ${got}`;
      // A branch of the right type failed for another reason: say that reason.
      const inner = issue.errors.find((branch) => branch.every((i) => i.code !== 'invalid_type' || i.path.length > 0));
      return inner?.[0] ? issueMessage({ ...inner[0], path: [...issue.path, ...inner[0].path] } as z.core.$ZodIssue, source) : `does not match any allowed form, got ${got}`;
    }
    case 'invalid_value': {
      const allowed = issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      return actual.present === true ? `must be ${allowed}, got ${got}` : `must be ${allowed}`;
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = small ? issue.minimum : issue.maximum;
      const inclusive = issue.inclusive !== false;
      const value = actual.present === true ? actual.value : undefined;
      if (issue.origin === 'string') {
        const length = typeof value === 'string' ? `, got ${value.length}` : '';
        return `must be ${small ? 'at least' : 'at most'} ${String(bound)} characters long${length}`;
      }
      if (issue.origin === 'array' || issue.origin === 'set') {
        const length = Array.isArray(value) ? `, got ${value.length}` : '';
        return `must have ${small ? 'at least' : 'at most'} ${String(bound)} item${Number(bound) === 1 ? '' : 's'}${length}`;
      }
      const relation = small ? (inclusive ? '≥' : '>') : inclusive ? '≤' : '<';
      return `must be ${relation} ${String(bound)}, got ${got}`;
    }
    case 'invalid_format': {
      const shown = actual.present === true ? describeValue(actual.value) : 'the value';
      if (issue.format === 'regex' && issue.pattern) return `${shown} does not match the pattern ${issue.pattern}`;
      return `${shown} is not a valid ${issue.format}`;
    }
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}, got ${got}`;
    case 'invalid_key': {
      const inner = issue.issues[0];
      const key = String(issue.path.at(-1) ?? '');
      return `key \`${clip(key)}\`: ${inner ? issueMessage({ ...inner, path: [] } as z.core.$ZodIssue, { value: key }) : 'is not allowed'}`;
    }
    case 'invalid_element': {
      const inner = issue.issues[0];
      return inner ? issueMessage({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue, source) : issue.message;
    }
    default:
      return issue.message.replace(/^Invalid input: /, '');
  }
}

function expectedName(expected: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'an integer',
    boolean: 'true or false',
    array: 'a list',
    object: 'an object',
    record: 'an object',
    null: 'null',
  };
  return names[expected] ?? `a ${expected}`;
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/** "the number 1.1", "the string \"x\"", "a list", "an object", "null", "true". */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'number':
      return `the number ${value}`;
    case 'string':
      return `the string ${JSON.stringify(clip(value, 40))}`;
    case 'boolean':
      return `\`${value}\``;
    case 'object':
      return 'an object';
    default:
      return `a ${typeof value}`;
  }
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
