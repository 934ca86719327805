// Over 300 lines: the schema inspector and the pattern and keyword analyses it uses are loaded as one module by the schema worker thread.
import { createRequire } from 'node:module';
import type { Diagnostics as RecheckDiagnostics, Parameters as RecheckParameters } from 'recheck';
import { createAjv, withBaseUri, type Ajv2020 } from '../../schema/ajv.ts';
import { runsInLinearTime } from '../../schema/regexp.ts';
import { didYouMean } from '../../diagnostics/hints.ts';
import { sequenceOfDegreeAtMost2 } from './pattern-sequence.ts';

const MAX_DEPTH = 64;
const DRAFT_2020 = 'https://json-schema.org/draft/2020-12/schema';

/**
 * The highest polynomial degree of matching time the build accepts for a pattern. Degree 2
 * is the ordinary price of an unanchored search (`\s*x`: JSON Schema patterns are not
 * anchored) and stays linear at run time on the RE2 engine; degree 3 and up (`a.*b.*c` on a
 * long input, `.*.*=.*`) and exponential patterns (`^(a|a)*$`) are refused.
 */
export const MAX_PATTERN_DEGREE = 2;
/** The ReDoS checker's time budget per distinct pattern, in milliseconds. */
export const PATTERN_CHECK_BUDGET_MS = 10_000;

/** The fix for `method-schema-invalid`. */
export const SCHEMA_INVALID_HINT =
  'method schemas are JSON Schema 2020-12 objects without unknown keywords, with local references only and patterns that match in at most quadratic time';
/** The fix for `method-schema-lint`. */
export const SCHEMA_LINT_HINT =
  'valid JSON Schema 2020-12, but likely not what was meant: add the matching `type`, pair `if` with `then`/`else`, or define the property that `required` names';

/** One finding about a schema: what, and where (a JSON Pointer into the schema, "" = the root). */
export interface SchemaFinding {
  message: string;
  pointer: string;
}

/**
 * What the build knows about one schema. `error`: the first reason it is not a valid, safe
 * JSON Schema (`method-schema-invalid`). `lints`: remarks about valid constructs that are
 * likely mistakes (`method-schema-lint`), only when there is no error.
 */
export interface SchemaReport {
  error?: SchemaFinding;
  lints: SchemaFinding[];
}

/** Keywords whose value is a map of name → schema. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords whose value is a schema or an array of schemas. */
const SCHEMA_LISTS = new Set(['items', 'prefixItems', 'allOf', 'anyOf', 'oneOf']);
/** Keywords whose value is one schema. */
const SCHEMA_ONE = new Set([
  'not', 'if', 'then', 'else', 'contains', 'additionalProperties', 'unevaluatedProperties',
  'unevaluatedItems', 'propertyNames', 'additionalItems', 'contentSchema',
]);

/**
 * Checks schemas as the build does (the rules and their reasons: docs/security.md), keeping
 * one ajv instance for the life of the inspector and one verdict per distinct pattern for
 * the life of the thread.
 */
export class SchemaInspector {
  private lintSink: string[] = [];
  /**
   * ajv's verdict (meta-schema error, first compile error line, or strict-mode remarks) by the schema's
   * text with annotations blanked (`withoutAnnotations`): schemas that differ only in their
   * descriptions, as many methods' schemas do, are compiled once.
   */
  private readonly compiled = new Map<string, CompileOutcome>();
  private readonly ajv: Ajv2020 = createAjv({ checkOnly: true, validateSchema: false, onLint: (message) => this.lintSink.push(message) });

  /**
   * A method schema: a JSON Schema 2020-12 object schema (`type: "object"` at the top, as an
   * LLM tool's parameters must be), checked as `check` does.
   */
  checkMethodSchema(schema: unknown): SchemaReport {
    if (!isPlainObject(schema)) return { error: { message: 'the schema must be a JSON object', pointer: '' }, lints: [] };
    if (schema.type !== 'object') return { error: { message: 'the top-level schema must have `type: "object"`', pointer: '' }, lints: [] };
    return this.check(schema);
  }

  /**
   * Any JSON Schema 2020-12 (object or boolean). Errors, in order: not plain JSON data,
   * nesting deeper than 64, a property named `__proto__`, `$data`, a reference that is not
   * local (`$ref`/`$dynamicRef` not starting with `#`, an absolute `$id`), a `$schema` other
   * than 2020-12, an invalid schema or unknown keyword or format, a pattern that is not an
   * ECMAScript regular expression or can take super-quadratic time to match.
   */
  check(schema: unknown): SchemaReport {
    const fail = (finding: SchemaFinding): SchemaReport => ({ error: finding, lints: [] });
    const structural = walkData(schema, '', 0);
    if (structural) return fail(structural);
    if (typeof schema === 'boolean') return { lints: [] };
    if (!isPlainObject(schema)) return fail({ message: 'a schema must be a JSON object or a boolean', pointer: '' });
    if (schema.$schema !== undefined && schema.$schema !== DRAFT_2020) {
      return fail({ message: `\`$schema\` must be \`${DRAFT_2020}\` when present`, pointer: '/$schema' });
    }
    const patterns: SchemaFinding[] = [];
    const keywordProblem = walkSchema(schema, '', patterns);
    if (keywordProblem) return fail(keywordProblem);
    const outcome = this.compile(schema);
    if (outcome.invalid) return fail(outcome.invalid);
    if (outcome.raw !== undefined) {
      const raw = outcome.raw;
      const pointer = pointerOfMessage(schema, raw);
      const unknown = /^unknown keyword: "(.*)"$/.exec(raw)?.[1];
      if (unknown === undefined) {
        // ajv names the base URI botc lends a schema without `$id`; the author never wrote it.
        const message = raw.replace(/ from id \S+$/, '').replace(/^can't resolve reference (\S+)$/, '`$ref` `$1` points to nothing in this schema');
        return fail({ message: `${pointer || '/'}: ${message}`, pointer });
      }
      const guess = didYouMean(unknown, Object.keys(this.ajv.RULES.keywords));
      return fail({ message: `${pointer || '/'}: unknown keyword \`${unknown}\`${guess ? ` (${guess})` : ''}`, pointer });
    }
    for (const { message: pattern, pointer } of patterns) {
      const problem = patternProblem(pattern);
      if (problem) return fail({ message: `${pointer}: ${problem}`, pointer });
    }
    const lints = outcome.lints.map((message) => ({ message: lintMessage(message), pointer: pointerOfMessage(schema, message) }));
    return { lints };
  }

  /**
   * Validates the schema against the 2020-12 meta-schema (`invalid`: the first error) and,
   * when valid, compiles it with ajv, once per text with annotations blanked. Neither verdict
   * nor any remark depends on a `description` or `title` string: the meta-schema asks only
   * that they be strings (blanking keeps them strings), neither is compiled into code, and
   * errors and remarks name places by schema path, never by an annotation's text.
   */
  private compile(schema: Record<string, unknown>): CompileOutcome {
    const key = JSON.stringify(withoutAnnotations(schema));
    const known = this.compiled.get(key);
    if (known) return known;
    let outcome: CompileOutcome;
    if (!this.ajv.validateSchema(schema)) {
      const error = this.ajv.errors?.[0];
      const pointer = error?.instancePath ?? '';
      outcome = { invalid: { message: `${pointer || '/'} ${error?.message ?? 'is invalid'}`, pointer }, lints: [] };
    } else {
      this.lintSink = [];
      try {
        this.ajv.compile(withBaseUri(schema));
        outcome = { lints: [...new Set(this.lintSink)] };
      } catch (error) {
        outcome = { raw: (error as Error).message.split('\n')[0]!.replace(/^strict mode: /, ''), lints: [] };
      }
    }
    this.compiled.set(key, outcome);
    return outcome;
  }
}

/** ajv's verdict on a schema: meta-schema error, else compile error (`raw`), else its strict-mode remarks. */
interface CompileOutcome {
  invalid?: SchemaFinding;
  raw?: string;
  lints: string[];
}

/**
 * A copy of a schema with every `description` and `title` string of a schema (not of data in
 * `const`, `enum`, `default` or `examples`, which are copied as they are) replaced by "".
 */
function withoutAnnotations(schema: unknown): unknown {
  if (!isPlainObject(schema)) return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(schema)) {
    if ((key === 'description' || key === 'title') && typeof child === 'string') copy[key] = '';
    else if (SCHEMA_MAPS.has(key) && isPlainObject(child)) copy[key] = Object.fromEntries(Object.entries(child).map(([name, sub]) => [name, withoutAnnotations(sub)]));
    else if (SCHEMA_LISTS.has(key) && Array.isArray(child)) copy[key] = child.map(withoutAnnotations);
    else if (SCHEMA_LISTS.has(key) || SCHEMA_ONE.has(key)) copy[key] = withoutAnnotations(child);
    else copy[key] = child;
  }
  return copy;
}

/** Plain JSON data, at most 64 levels deep, with no key named `__proto__` or `$data`. */
function walkData(value: unknown, pointer: string, depth: number): SchemaFinding | undefined {
  if (depth > MAX_DEPTH) return { message: `the schema nests deeper than ${MAX_DEPTH} levels`, pointer };
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return { message: `${pointer || '/'} is not a plain JSON array`, pointer };
    for (let i = 0; i < value.length; i++) {
      const problem = walkData(value[i], `${pointer}/${i}`, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return { message: `${pointer || '/'} is not a finite number`, pointer };
    if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
      return { message: `${pointer || '/'} is a ${typeof value}, not JSON data`, pointer };
    }
    return undefined;
  }
  if (!isPlainObject(value)) return { message: `${pointer || '/'} is not a plain JSON object`, pointer };
  for (const key of Object.keys(value)) {
    const here = `${pointer}/${escapePointer(key)}`;
    // A `__proto__` key turns into the prototype of the object in careless JavaScript
    // consumers (prototype pollution); no real API needs a property of that name.
    if (key === '__proto__') return { message: `${here}: the name \`__proto__\` is not allowed in a schema`, pointer: here };
    // ajv's `$data` (a value taken from the validated data) can sit where a number belongs.
    if (key === '$data') return { message: `${here}: \`$data\` references are not allowed`, pointer: here };
    const problem = walkData(value[key], here, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * The keyword checks that need to know which values are schemas (a `pattern` inside `const`
 * data is not a pattern). Collects every pattern (`pattern`, `patternProperties` names, and so
 * `propertyNames.pattern`) into `patterns` as {message: the pattern, pointer}.
 */
function walkSchema(schema: unknown, pointer: string, patterns: SchemaFinding[]): SchemaFinding | undefined {
  if (!isPlainObject(schema)) return undefined;
  for (const [key, child] of Object.entries(schema)) {
    const here = `${pointer}/${escapePointer(key)}`;
    if ((key === '$ref' || key === '$dynamicRef') && typeof child === 'string' && !child.startsWith('#')) {
      return { message: `${here}: remote reference \`${child}\` is not allowed; use a local \`#/$defs/...\` reference`, pointer: here };
    }
    if (key === '$id' && typeof child === 'string' && /^[a-z][a-z0-9+.-]*:/i.test(child)) {
      return { message: `${here}: absolute \`$id\` \`${child}\` is not allowed; a method schema is one self-contained document`, pointer: here };
    }
    if (key === 'pattern' && typeof child === 'string') {
      const invalid = invalidPattern(child);
      if (invalid) return { message: `${here}: ${invalid}`, pointer: here };
      patterns.push({ message: child, pointer: here });
    }
    if (key === 'patternProperties' && isPlainObject(child)) {
      for (const pattern of Object.keys(child)) {
        const at = `${here}/${escapePointer(pattern)}`;
        const invalid = invalidPattern(pattern);
        if (invalid) return { message: `${at}: ${invalid}`, pointer: at };
        patterns.push({ message: pattern, pointer: at });
      }
    }
    let problem: SchemaFinding | undefined;
    if (SCHEMA_MAPS.has(key) && isPlainObject(child)) {
      for (const [name, sub] of Object.entries(child)) {
        problem ??= walkSchema(sub, `${here}/${escapePointer(name)}`, patterns);
      }
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(child)) {
      child.forEach((sub, i) => (problem ??= walkSchema(sub, `${here}/${i}`, patterns)));
    } else if (SCHEMA_LISTS.has(key) || SCHEMA_ONE.has(key)) {
      problem = walkSchema(child, here, patterns);
    }
    if (problem) return problem;
  }
  return undefined;
}

function invalidPattern(pattern: string): string | undefined {
  try {
    new RegExp(pattern, 'u');
    return undefined;
  } catch {
    return `\`${pattern}\` is not a valid regular expression (ECMAScript syntax, Unicode mode)`;
  }
}

type CheckSync = (source: string, flags: string, params?: RecheckParameters) => RecheckDiagnostics;
let recheck: CheckSync | undefined;
const patternVerdicts = new Map<string, string | undefined>();

/**
 * Whether a pattern can take super-quadratic time to match, decided by recheck (an analysis
 * of the pattern's automaton for ambiguity; fuzzing for lookaround and backreferences), each
 * distinct pattern once per thread. The message carries recheck's attack string. A pattern the
 * checker cannot decide within the budget is accepted only if the runtime runs it on the
 * linear-time engine.
 */
export function patternProblem(pattern: string): string | undefined {
  if (patternVerdicts.has(pattern)) return patternVerdicts.get(pattern);
  const verdict = decidePattern(pattern);
  patternVerdicts.set(pattern, verdict);
  return verdict;
}

function decidePattern(pattern: string): string | undefined {
  // Most schema patterns (`^cus_[0-9a-z]{8,24}$`) have one loop and no alternation; their
  // verdict is known without the analysis (see `singleLoop`), which costs tens of milliseconds each.
  // Likewise a plain sequence of one-character atoms whose loops cannot chain beyond degree 2
  // (`^[0-9]{10}\.[0-9]{6}$`; see pattern-sequence.ts).
  if ((singleLoop(pattern) || sequenceOfDegreeAtMost2(pattern)) && runsInLinearTime(pattern)) return undefined;
  return analysePattern(pattern);
}

/**
 * True for a pattern with at most one quantifier (`*`, `+`, `?`, `{…}`), no alternation, no
 * lookaround, no backreference and no group other than `(…)`/`(?:…)`. Such a pattern cannot
 * match a string in two ways inside a loop (no exponential time) and has one loop besides the
 * search over start positions (degree at most 2), so recheck finds it safe or of degree ≤ 2;
 * either way, when it runs on the linear-time engine, the verdict is "accepted", the one
 * `analysePattern` gives.
 */
export function singleLoop(pattern: string): boolean {
  let quantifiers = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9k]/.test(next)) return false; // a backreference
      // `\p{L}`, `\u{1F600}`: the braces are the escape's, not a quantifier.
      if (/[pPu]/.test(next) && pattern[i + 2] === '{') {
        const end = pattern.indexOf('}', i);
        if (end < 0) return false;
        i = end;
        continue;
      }
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '|') return false;
    else if (c === '(' && pattern[i + 1] === '?') {
      if (pattern[i + 2] !== ':') return false; // lookaround or a named group
      i += 2;
    } else if (c === '*' || c === '+' || c === '?' || c === '{') {
      if (++quantifiers > 1) return false;
      if (c === '{') {
        const end = pattern.indexOf('}', i);
        if (end < 0) return false;
        i = end;
      }
    }
  }
  return true;
}

/** recheck's verdict on a pattern (see `patternProblem`), without the shortcut of `decidePattern`. */
export function analysePattern(pattern: string): string | undefined {
  recheck ??= (createRequire(import.meta.url)('recheck') as { checkSync: CheckSync }).checkSync;
  // The pure JavaScript backend (chosen by this variable, read on each call): no native binary
  // or Java to spawn, the same verdicts on every machine, on the calling thread (the build's
  // schema worker). The variable is restored at once: the process's environment is not ours.
  const previous = process.env.RECHECK_SYNC_BACKEND;
  process.env.RECHECK_SYNC_BACKEND = 'pure';
  let result: RecheckDiagnostics;
  try {
    // Patterns are compiled with the `u` flag by ajv, so they are analysed with it. The
    // automaton analysis is exact; lookaround and backreferences are beyond automata, and
    // only those patterns go to recheck's fuzzer (slower, and it may miss an attack).
    const analysed = unboundRepeats(pattern);
    const started = Date.now();
    result = recheck(analysed, 'u', { checker: 'automaton', timeout: PATTERN_CHECK_BUDGET_MS });
    if (result.status === 'unknown' && result.error.kind === 'unsupported') {
      const timeout = Math.max(PATTERN_CHECK_BUDGET_MS - (Date.now() - started), 1);
      result = recheck(analysed, 'u', { checker: 'fuzz', randomSeed: 0, timeout });
    }
  } finally {
    if (previous === undefined) delete process.env.RECHECK_SYNC_BACKEND;
    else process.env.RECHECK_SYNC_BACKEND = previous;
  }
  if (result.status === 'safe') return undefined;
  if (result.status === 'unknown') {
    if (runsInLinearTime(pattern)) return undefined;
    return `\`${pattern}\` could not be shown safe from catastrophic backtracking within ${PATTERN_CHECK_BUDGET_MS / 1000} s, and it needs the backtracking engine (lookahead or a backreference)`;
  }
  const attack = `for example on the input ${result.attack.pattern}`;
  if (result.complexity.type === 'exponential') return `\`${pattern}\` can take exponential time to match, ${attack}`;
  if (result.complexity.degree <= MAX_PATTERN_DEGREE) {
    if (runsInLinearTime(pattern)) return undefined;
    // The runtime keeps ECMAScript's backtracking engine for this one: only linear is safe there.
    return `\`${pattern}\` needs the backtracking engine (lookahead or a backreference) and can take time of degree ${result.complexity.degree} in the input length to match, ${attack}`;
  }
  return `\`${pattern}\` can take time of degree ${result.complexity.degree} in the input length to match (more than ${MAX_PATTERN_DEGREE} is refused), ${attack}`;
}

/**
 * The pattern with every counted repeat that can loop (`{2}`, `{1,255}`, `{3,}`) made
 * unbounded (`+`, or `*` from zero), for the analysis only. A counted repeat behaves like an
 * unbounded one on inputs up to its bound, and `^(a|a){1,255}$` is as catastrophic on a
 * 40-character input as `^(a|a)+$`; an automaton cannot see that once the repeat is unrolled
 * into a finite graph, and unrolling large counts is what makes analysis slow. Whatever is
 * ambiguous in the pattern stays ambiguous in the result, so a pattern found safe this way
 * is safe. `{0,1}` and `{1}` do not loop and are kept.
 */
export function unboundRepeats(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      // An escape, with its braced or bracketed argument (`\p{L}`, `\u{1F600}`, `\k<name>`).
      let end = i + 2;
      const argument = /^[pPu]\{[^}]*\}|^k<[^>]*>/.exec(pattern.slice(i + 1));
      if (argument) end = i + 1 + argument[0].length;
      out += pattern.slice(i, end);
      i = end - 1;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      continue;
    }
    const counted = c === '{' ? /^\{(\d+)(?:(,)(\d*))?\}/.exec(pattern.slice(i)) : null;
    if (counted) {
      const min = Number(counted[1]);
      const max = counted[2] === undefined ? min : counted[3] === '' ? Infinity : Number(counted[3]);
      out += max <= 1 ? counted[0] : min === 0 ? '*' : '+';
      i += counted[0].length - 1;
      continue;
    }
    out += c;
  }
  return out;
}

/** ajv's strict-mode remark, without its internal path and option name. */
function lintMessage(message: string): string {
  return message
    .replace(/ at (path )?"[^"#]*#[^"]*"/, '')
    .replace(/ \(strict\w+\)$/, '')
    .replace(/^missing type "([^"]+)" for keyword "([^"]+)"$/, '`$2` applies only to `$1` values, but the schema does not say `type: "$1"`')
    .replace(/^required property "(.*)" is not defined$/, '`required` names `$1`, which this schema does not define in `properties`')
    .replace(/^"if" without "then" and "else" is ignored$/, '`if` without `then` or `else` has no effect')
    .replace(/^"(then|else)" without "if" is ignored$/, '`$1` without `if` has no effect');
}

/**
 * Where in the schema a compile error or lint points: ajv's own path (`at "#/oneOf/0"`) and
 * the keyword it names, or else the first schema that holds the keyword the message names.
 */
function pointerOfMessage(schema: unknown, message: string): string {
  const keyword = /for keyword "([^"]+)"/.exec(message)?.[1] ?? /^(?:unknown keyword: )?"([^"]+)"/.exec(message)?.[1];
  const at = / at (?:path )?"[^"#]*#([^"]*)"/.exec(message)?.[1];
  if (at !== undefined) {
    const base = decodeURIComponent(at);
    if (/\(strictRequired\)$/.test(message)) return `${base}/required`;
    const named = keyword ?? /^"([^"]+)"/.exec(message)?.[1];
    return named ? `${base}/${escapePointer(named)}` : base;
  }
  const unresolved = /can't resolve reference (\S+) from/.exec(message)?.[1];
  if (unresolved) return findKeyword(schema, '$ref', unresolved) ?? findKeyword(schema, '$dynamicRef', unresolved) ?? '';
  const quoted = keyword ?? /"([^"]+)"/.exec(message)?.[1] ?? /^(\w+) is ignored/.exec(message)?.[1];
  return quoted ? (findKeyword(schema, quoted) ?? '') : '';
}

/** The pointer of the first `keyword` (with that value, if given) in the schema, depth first. */
function findKeyword(value: unknown, keyword: string, wanted?: unknown, pointer = ''): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findKeyword(value[i], keyword, wanted, `${pointer}/${i}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isPlainObject(value)) return undefined;
  if (Object.hasOwn(value, keyword) && (wanted === undefined || value[keyword] === wanted)) return `${pointer}/${escapePointer(keyword)}`;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'const' || key === 'enum' || key === 'default' || key === 'examples') continue;
    const found = findKeyword(child, keyword, wanted, `${pointer}/${escapePointer(key)}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The offset in a module's source text of the keyword a pointer names in one of a method's
 * schemas, found by reading the source as written: after the method id, the schema's field
 * (`input_schema`), then each name of the pointer in turn as an object key. Undefined when
 * the source does not spell the schema out there (a shared constant, a computed schema);
 * the caller then points at the method id.
 */
export function schemaKeywordOffset(source: string, methodId: string, which: string, pointer: string): number | undefined {
  let offset = -1;
  for (const quote of ["'", '"', '`']) {
    offset = source.indexOf(`${quote}${methodId}${quote}`);
    if (offset >= 0) break;
  }
  if (offset < 0) return undefined;
  // The method's own text ends where the next method's id key begins.
  const next = /\bmethod_id\s*:/g;
  next.lastIndex = offset;
  const end = next.exec(source)?.index ?? source.length;
  const names = [which, ...pointer.split('/').slice(1).map(unescapePointer)];
  for (const [i, name] of names.entries()) {
    if (i > 0 && /^\d+$/.test(name) && names[i - 1] !== 'properties') {
      // An array index: the element of the array literal that follows the key just found.
      const element = arrayElementOffset(source, offset, Number(name), end);
      if (element === undefined) return undefined;
      offset = element;
      continue;
    }
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const key = new RegExp(`(?:(?<![\\w$])${escaped}|'${escaped}'|"${escaped}")\\s*:(\\s*)`, 'g');
    key.lastIndex = offset;
    const match = key.exec(source);
    if (!match || match.index >= end) return undefined;
    // The schema must be written out here (an object literal), not a name for one defined elsewhere.
    if (i === 0 && source[match.index + match[0].length] !== '{') return undefined;
    offset = match.index;
  }
  return offset;
}

/**
 * The offset of element `index` of the array literal that starts at the first `[` after
 * `from` (before `end`), skipping elements by their brackets and string quotes; undefined
 * when the text there is not such an array.
 */
function arrayElementOffset(source: string, from: number, index: number, end: number): number | undefined {
  // `from` is a key; its value must be the array literal itself.
  let i = source.indexOf('[', from);
  const colon = source.indexOf(':', from);
  if (i < 0 || i >= end || colon < 0 || colon > i || source.slice(colon + 1, i).trim() !== '') return undefined;
  i++;
  for (let element = 0; element < index; element++) {
    let depth = 0;
    for (; i < end; i++) {
      const c = source[i]!;
      if (c === '"' || c === "'" || c === '`') {
        for (i++; i < end && source[i] !== c; i++) if (source[i] === '\\') i++;
      } else if (c === '[' || c === '{' || c === '(') depth++;
      else if (c === ']' || c === '}' || c === ')') {
        if (depth === 0) return undefined;
        depth--;
      } else if (c === ',' && depth === 0) break;
    }
    if (i >= end) return undefined;
    i++;
  }
  while (i < end && /\s/.test(source[i]!)) i++;
  return i < end ? i : undefined;
}

function escapePointer(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointer(name: string): string {
  return name.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * The JSON text of a value that JSON represents exactly (no undefined, NaN, -0, class
 * instances), else undefined. Equal texts, key order included, are the same schema: checking
 * one answers for the other, and the text can be checked on another thread.
 */
export function exactJson(value: unknown): string | undefined {
  return isExactJson(value, 0) ? JSON.stringify(value) : undefined;
}

function isExactJson(value: unknown, depth: number): boolean {
  // Deeper than `walkData` accepts (or cyclic): not cached, so `walkData` reports it.
  if (depth > MAX_DEPTH + 1) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) if (!isExactJson(value[i], depth + 1)) return false;
    return true;
  }
  if (!isPlainObject(value)) return false;
  for (const key of Object.keys(value)) if (!isExactJson(value[key], depth + 1)) return false;
  return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** What `payloadSchemaVerdict` finds: ajv's first line (clipped) when the schema does not compile. */
export interface PayloadVerdict {
  problem?: string;
}

/** One ajv instance for every webhook payload schema checked on a thread: creating one costs tens of milliseconds. */
let payloadAjv: ReturnType<typeof createAjv> | undefined;

/**
 * Whether a webhook payload schema compiles (meta-schema check included): the rules a runtime
 * applies to a webhook's payload before it reaches the review queue. The instance is shared
 * safely: it is created with `addUsedSchema: false`, so a compiled schema's `$id` is not
 * registered in it.
 */
export function payloadSchemaVerdict(schema: unknown): PayloadVerdict {
  try {
    (payloadAjv ??= createAjv({ checkOnly: true })).compile(schema as object);
    return {};
  } catch (error) {
    return { problem: (error as Error).message.split('\n')[0]!.slice(0, 200) };
  }
}
