import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';

// re2js (its CommonJS build) is loaded on the first pattern compiled: a `botc call` whose
// schemas have no pattern, or whose validators come precompiled without one, never loads it.
const require = createRequire(import.meta.url);
let re2jsClass: typeof RE2JS | undefined;
function re2js(): typeof RE2JS {
  return (re2jsClass ??= (require('re2js') as { RE2JS: typeof RE2JS }).RE2JS);
}

/** What ajv needs of a compiled pattern: JSON Schema patterns are searched, not anchored. */
export interface RegExpLike {
  test(input: string): boolean;
  toString(): string;
}

/**
 * ECMAScript's `\s` (WhiteSpace and LineTerminator), written for RE2's syntax. RE2's own `\s`
 * is ASCII only, so JavaScript's is spelled out to keep the meaning JSON Schema prescribes.
 */
const JS_SPACE = '\\t\\n\\x0B\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';
/** ECMAScript's `.` without the `s` flag: anything but a line terminator. */
const JS_DOT = '[^\\n\\r\\x{2028}\\x{2029}]';

/**
 * Rewrites the constructs whose meaning differs between ECMAScript and RE2 (`.`, `\s`, `\S`,
 * `[` inside a class) in a pattern already translated to RE2 syntax. Undefined when a
 * construct cannot be rewritten (`\S` inside a class, an empty class `[]`): the caller then
 * keeps ECMAScript's engine.
 */
function alignWithEcmaScript(re2Source: string): string | undefined {
  let out = '';
  let inClass = false;
  for (let i = 0; i < re2Source.length; i++) {
    const c = re2Source[i]!;
    if (c === '\\') {
      const next = re2Source[i + 1] ?? '';
      i++;
      if (next === 's') out += inClass ? JS_SPACE : `[${JS_SPACE}]`;
      else if (next === 'S') {
        if (inClass) return undefined;
        out += `[^${JS_SPACE}]`;
      } else out += c + next;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      // A `[` inside a class is a plain character in ECMAScript; RE2 would read `[:alpha:]`.
      out += c === '[' ? '\\[' : c;
      continue;
    }
    if (c === '[') {
      // `[]` matches nothing in ECMAScript, while RE2 reads a `]` there as a member.
      if (re2Source[i + 1] === ']' || re2Source.startsWith('^]', i + 1)) return undefined;
      inClass = true;
      out += c;
      if (re2Source[i + 1] === '^') out += re2Source[++i];
      continue;
    }
    out += c === '.' ? JS_DOT : c;
  }
  return out;
}

/**
 * Compiles a JSON Schema `pattern` (ECMAScript syntax, ajv passes the `u` flag) for a
 * linear-time engine: RE2's algorithm (the `re2js` port), whose matching time grows with the
 * input length times the pattern size and never backtracks, so no input can make a call
 * block the event loop. Patterns RE2 cannot run (backreferences, lookahead, some Unicode
 * property names) fall back to ECMAScript's backtracking engine; the build accepts such a
 * pattern only after the ReDoS checker found it at most quadratic (see
 * src/build/validate/integrations-schema.ts and docs/security.md).
 */
export function linearRegExp(pattern: string, flags: string): RegExpLike {
  const native = () => new RegExp(pattern, flags);
  if (flags !== 'u' && flags !== '') return native();
  let source: string | undefined;
  try {
    source = alignWithEcmaScript(re2js().translateRegExp(pattern));
  } catch {
    source = undefined;
  }
  if (source === undefined) return native();
  let re: RE2JS;
  try {
    re = re2js().compile(source, re2js().LOOKBEHINDS);
  } catch {
    return native();
  }
  // An invalid ECMAScript pattern must still fail as ajv expects, whatever RE2 accepts.
  native();
  // ajv caches compiled patterns by `toString()`: it must name the pattern, as RegExp's does.
  const key = `re2:/${pattern}/${flags}`;
  return { test: (input: string) => re.test(input), toString: () => key };
}
/** ajv reads `code` only to emit standalone validation code; src/schema/ajv.ts hands it a wrapper that names itself for that. */
linearRegExp.code = 'linearRegExp';

/** Whether `linearRegExp` runs this pattern on the linear-time engine. */
export function runsInLinearTime(pattern: string): boolean {
  return !(linearRegExp(pattern, 'u') instanceof RegExp);
}
