// Over 300 lines: one subset prover over the JSON Schema keywords; its cases are easier to check side by side than spread over files.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { canonicalJson } from '../bundle/canonical.ts';

/**
 * Breaking-change analysis of JSON Schemas (2020-12), for method versioning.
 *
 * A method id is a promise: callers built against `github.issues.list.v1` keep working as long
 * as its input schema accepts at least every input it accepted before, and its output schema
 * allows at most the outputs it allowed before. Both questions are one relation, "every
 * instance valid under A is valid under B" (A ⊆ B): input needs old ⊆ new, output new ⊆ old.
 *
 * Deciding ⊆ exactly is hard in general (patterns, `not`, `if`), so this module proves it rule
 * by rule and is sound rather than complete: whatever it cannot prove is reported as breaking,
 * with a reason that starts "cannot prove". Constraints that only the narrower side has can be
 * ignored (dropping a constraint from A only makes A larger), which keeps most proofs local.
 */

/** One reason a change breaks callers, at a JSON Pointer into the schema. */
export interface SchemaDifference {
  /** RFC 6901 JSON Pointer of the keyword that changed, relative to the schema compared. */
  pointer: string;
  /** The value in the old schema (`undefined`: absent). */
  before: unknown;
  /** The value in the new schema (`undefined`: absent). */
  after: unknown;
  /** What a caller loses, or why compatibility cannot be proved. */
  reason: string;
}

/** Which way compatibility runs: inputs may only accept more, outputs may only promise less. */
export type SchemaRole = 'input' | 'output';

/**
 * The changes from `before` to `after` that break callers of a method's schema.
 * An empty list means the change is proved compatible (or there is none).
 */
export function breakingSchemaChanges(before: unknown, after: unknown, role: SchemaRole): SchemaDifference[] {
  const prover = new SubsetProver(role, before, after);
  // input: old ⊆ new; output: new ⊆ old.
  if (role === 'input') prover.subset(before, after, '');
  else prover.subset(after, before, '');
  return prover.differences;
}

type Schema = boolean | Record<string, unknown>;
type Json = Record<string, unknown>;

/** Keywords that only describe: changing them never changes which instances are valid. */
const ANNOTATIONS = new Set([
  '$schema', '$id', '$anchor', '$dynamicAnchor', '$comment', '$defs', 'definitions', 'title', 'description',
  'examples', 'default', 'deprecated', 'readOnly', 'writeOnly', 'contentMediaType', 'contentEncoding', 'contentSchema',
]);

/** Keywords this prover reasons about; any other constraint on the wider side must be unchanged. */
const UNDERSTOOD = new Set([
  'type', 'enum', 'const', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
  'minLength', 'maxLength', 'pattern', 'format', 'items', 'prefixItems', 'minItems', 'maxItems', 'uniqueItems',
  'properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties',
  'anyOf', 'oneOf', 'allOf', '$ref',
]);

const TYPES = ['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'] as const;

class SubsetProver {
  readonly differences: SchemaDifference[] = [];
  private readonly assumed = new Set<string>();
  private readonly refIds = new WeakMap<object, number>();
  private readonly finite = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });
  private nextId = 0;

  constructor(
    private readonly role: SchemaRole,
    private readonly oldRoot: unknown,
    private readonly newRoot: unknown,
  ) {}

  /**
   * Proves `narrow ⊆ wide` at `path`, recording a difference for each part it cannot prove.
   * `narrow` is the old schema for inputs and the new one for outputs.
   */
  subset(narrowIn: unknown, wideIn: unknown, path: string): void {
    const narrow = asSchema(narrowIn);
    const wide = asSchema(wideIn);
    if (wide === true || narrow === false || isEmpty(wide)) return;
    if (wide === false) return this.report(path, narrow, wide, this.role === 'input' ? 'no value is accepted any more' : 'values may now appear here');
    if (narrow === true || isEmpty(narrow)) return this.report(path, narrow, wide, this.role === 'input' ? 'a constraint was added where any value was accepted' : 'any value may now appear where a constraint held');
    const pair = `${this.id(narrow)}:${this.id(wide)}`;
    // Recursive schemas: a pair already being proved is assumed to hold (coinduction).
    if (this.assumed.has(pair)) return;
    this.assumed.add(pair);
    try {
      this.subsetObjects(narrow, wide, path);
    } finally {
      this.assumed.delete(pair);
    }
  }

  private subsetObjects(narrowIn: Json, wideIn: Json, path: string): void {
    let narrow = narrowIn;
    let wide = wideIn;
    // Identical combinators on both sides cancel out.
    for (const key of ['anyOf', 'oneOf', 'allOf', 'not', 'if', 'then', 'else'] as const) {
      if (key in narrow && key in wide && sameJson(narrow[key], wide[key])) {
        narrow = omit(narrow, key);
        wide = omit(wide, key);
      }
    }
    // A reference is a conjunction with its target. On the narrow side, merging the target's
    // keywords under the schema's own widens it, so proving the merge is enough.
    if (typeof narrow['$ref'] === 'string') {
      const target = this.resolve(narrow['$ref'], this.narrowRoot());
      if (target === undefined) return this.report(`${path}/$ref`, narrow['$ref'], wide['$ref'], `cannot prove: the reference ${narrow['$ref']} is not a local JSON Pointer`);
      return this.subset(mergeConjunction(target, omit(narrow, '$ref')), wide, path);
    }
    if (typeof wide['$ref'] === 'string') {
      const target = this.resolve(wide['$ref'], this.wideRoot());
      if (target === undefined) return this.report(`${path}/$ref`, narrow['$ref'], wide['$ref'], `cannot prove: the reference ${wide['$ref']} is not a local JSON Pointer`);
      this.subset(narrow, target, path);
      return this.subset(narrow, omit(wide, '$ref'), path);
    }
    // Finite narrow side: check each value against the wide schema.
    const values = finiteValues(narrow);
    if (values !== undefined) return this.finiteSubset(values, narrow, wide, path);

    if (Array.isArray(narrow['allOf'])) {
      return this.subset((narrow['allOf'] as unknown[]).reduce<Json>((acc, c) => mergeConjunction(asSchema(c), acc), omit(narrow, 'allOf')), wide, path);
    }
    for (const key of ['anyOf', 'oneOf'] as const) {
      const branches = narrow[key];
      if (Array.isArray(branches)) {
        const rest = omit(narrow, key);
        const wideIsUnion = Array.isArray(wide['anyOf']) || Array.isArray(wide['oneOf']);
        branches.forEach((branch, i) => {
          const piece = mergeConjunction(asSchema(branch), rest);
          // Pointers name the new schema: a branch of the narrow side is new only for outputs.
          const at = this.role === 'output' ? `${path}/${key}/${i}` : path;
          if (wideIsUnion) this.subsetOfUnion(piece, wide, path, at);
          else this.subset(piece, wide, at);
        });
        return;
      }
    }
    if (Array.isArray(wide['allOf'])) {
      (wide['allOf'] as unknown[]).forEach((c, i) => this.subset(narrow, c, `${path}/allOf/${i}`));
      return this.subset(narrow, omit(wide, 'allOf'), path);
    }
    if (Array.isArray(wide['anyOf']) || Array.isArray(wide['oneOf'])) return this.subsetOfUnion(narrow, wide, path);

    for (const key of Object.keys(wide)) {
      if (ANNOTATIONS.has(key) || UNDERSTOOD.has(key)) continue;
      if (!sameJson(narrow[key], wide[key])) {
        this.report(`${path}/${escape(key)}`, narrow[key], wide[key], `cannot prove: \`${key}\` changed and botc does not reason about it`);
      }
    }
    this.subsetTypes(narrow, wide, path);
    if (wide['enum'] !== undefined || wide['const'] !== undefined) {
      this.report(`${path}/${wide['enum'] !== undefined ? 'enum' : 'const'}`, narrow[wide['enum'] !== undefined ? 'enum' : 'const'], wide['enum'] ?? wide['const'], this.role === 'input' ? 'values are now limited to a fixed set' : 'cannot prove: the old schema fixed the values');
    }
    const types = typeSet(narrow);
    const may = (t: string) => types === undefined || types.has(t) || (t === 'number' && types.has('integer'));
    if (may('number') || may('integer')) this.subsetNumbers(narrow, wide, path);
    if (may('string')) this.subsetStrings(narrow, wide, path);
    if (may('array')) this.subsetArrays(narrow, wide, path);
    if (may('object')) this.subsetObjectsShape(narrow, wide, path);
  }

  /** `narrow ⊆ anyOf/oneOf(wide)`: the narrow schema fits one branch (and, for oneOf, no other). */
  private subsetOfUnion(narrow: Json, wide: Json, path: string, branchAt?: string): void {
    const key = Array.isArray(wide['anyOf']) ? 'anyOf' : 'oneOf';
    const branches = wide[key] as unknown[];
    const rest = omit(wide, key);
    this.subset(narrow, rest, path);
    for (let i = 0; i < branches.length; i++) {
      const probe = new SubsetProver(this.role, this.oldRoot, this.newRoot);
      probe.subset(narrow, branches[i], `${path}/${key}/${i}`);
      if (probe.differences.length > 0) continue;
      if (key === 'oneOf' && branches.some((other, j) => j !== i && !disjoint(narrow, asSchema(other)))) continue;
      return;
    }
    const at = branchAt !== undefined && branchAt !== path ? branchAt : `${path}/${key}`;
    this.report(at, branchAt !== undefined ? narrow : narrow[key], wide[key], this.role === 'input'
      ? `values accepted before match no branch of \`${key}\` now`
      : `cannot prove: the new branches of \`${key}\` are all within the old ones`);
  }

  private finiteSubset(values: unknown[], narrow: Json, wide: Schema, path: string): void {
    const validate = this.compileAt(wide);
    const outside = values.filter((v) => !validate(v));
    if (outside.length === 0) return;
    const where = narrow['const'] !== undefined ? 'const' : 'enum';
    const shown = outside.slice(0, 5).map((v) => JSON.stringify(v)).join(', ');
    this.report(`${path}/${where}`, narrow[where], wideValues(wide),
      this.role === 'input' ? `${shown} ${outside.length === 1 ? 'is' : 'are'} no longer accepted` : `${shown} may now be returned`);
  }

  private subsetTypes(narrow: Json, wide: Json, path: string): void {
    const wideTypes = typeSet(wide);
    if (wideTypes === undefined) return;
    const narrowTypes = typeSet(narrow) ?? new Set<string>(TYPES);
    const lost = [...narrowTypes].filter((t) => !wideTypes.has(t) && !(t === 'integer' && wideTypes.has('number')));
    if (lost.length === 0) return;
    this.report(`${path}/type`, narrow['type'], wide['type'],
      this.role === 'input' ? `${lost.join(', ')} ${lost.length === 1 ? 'is' : 'are'} no longer accepted` : `${lost.join(', ')} may now be returned`);
  }

  private subsetNumbers(narrow: Json, wide: Json, path: string): void {
    this.bound(narrow, wide, path, 'minimum', 'exclusiveMinimum', 'lower');
    this.bound(narrow, wide, path, 'maximum', 'exclusiveMaximum', 'upper');
    const step = wide['multipleOf'];
    if (typeof step === 'number') {
      const mine = narrow['multipleOf'];
      const ok = typeof mine === 'number' && Number.isInteger(Number((mine / step).toPrecision(12)));
      if (!ok) this.report(`${path}/multipleOf`, mine, step, this.role === 'input' ? 'numbers must now be multiples of a step' : 'numbers may now break the old step');
    }
  }

  private bound(narrow: Json, wide: Json, path: string, inclusive: string, exclusive: string, side: 'lower' | 'upper'): void {
    const limit = (s: Json) => {
      const inc = typeof s[inclusive] === 'number' ? (s[inclusive] as number) : undefined;
      const exc = typeof s[exclusive] === 'number' ? (s[exclusive] as number) : undefined;
      if (inc === undefined) return exc === undefined ? undefined : { at: exc, open: true };
      if (exc === undefined) return { at: inc, open: false };
      const tighter = side === 'lower' ? exc >= inc : exc <= inc;
      return tighter ? { at: exc, open: true } : { at: inc, open: false };
    };
    const w = limit(wide);
    if (!w) return;
    const n = limit(narrow);
    if (n !== undefined) {
      const inside = side === 'lower' ? n.at > w.at : n.at < w.at;
      if (inside || (n.at === w.at && (n.open || !w.open))) return;
    }
    const key = w.open ? exclusive : inclusive;
    this.report(`${path}/${key}`, narrow[key], wide[key],
      this.role === 'input' ? `the ${side} bound now rejects values that were accepted` : `values beyond the old ${side} bound may now be returned`);
  }

  private subsetStrings(narrow: Json, wide: Json, path: string): void {
    this.length(narrow, wide, path, 'minLength', 'maxLength', 'string length');
    if (wide['pattern'] !== undefined && narrow['pattern'] !== wide['pattern']) {
      this.report(`${path}/pattern`, narrow['pattern'], wide['pattern'], 'cannot prove: the pattern changed (patterns are not compared)');
    }
    if (wide['format'] !== undefined && narrow['format'] !== wide['format']) {
      this.report(`${path}/format`, narrow['format'], wide['format'], this.role === 'input' ? 'strings must now match a format' : 'strings may now break the old format');
    }
  }

  private length(narrow: Json, wide: Json, path: string, minKey: string, maxKey: string, what: string): void {
    const wMin = num(wide[minKey]) ?? 0;
    const nMin = num(narrow[minKey]) ?? 0;
    if (nMin < wMin) this.report(`${path}/${minKey}`, narrow[minKey], wide[minKey], `the minimum ${what} ${this.role === 'input' ? 'now rejects values that were accepted' : 'was lowered'}`);
    const wMax = num(wide[maxKey]);
    const nMax = num(narrow[maxKey]);
    if (wMax !== undefined && (nMax === undefined || nMax > wMax)) {
      this.report(`${path}/${maxKey}`, narrow[maxKey], wide[maxKey], `the maximum ${what} ${this.role === 'input' ? 'now rejects values that were accepted' : 'was raised'}`);
    }
  }

  private subsetArrays(narrow: Json, wide: Json, path: string): void {
    this.length(narrow, wide, path, 'minItems', 'maxItems', 'number of items');
    if (wide['uniqueItems'] === true && narrow['uniqueItems'] !== true) {
      this.report(`${path}/uniqueItems`, narrow['uniqueItems'], true, this.role === 'input' ? 'items must now be unique' : 'items may now repeat');
    }
    const nPrefix = Array.isArray(narrow['prefixItems']) ? (narrow['prefixItems'] as unknown[]) : [];
    const wPrefix = Array.isArray(wide['prefixItems']) ? (wide['prefixItems'] as unknown[]) : [];
    const nRest = narrow['items'] ?? true;
    const wRest = wide['items'] ?? true;
    const maxItems = num(narrow['maxItems']);
    for (let i = 0; i < Math.max(nPrefix.length, wPrefix.length); i++) {
      if (maxItems !== undefined && i >= maxItems) break;
      const n = i < nPrefix.length ? nPrefix[i] : nRest;
      const w = i < wPrefix.length ? wPrefix[i] : wRest;
      this.subset(n, w, i < wPrefix.length ? `${path}/prefixItems/${i}` : `${path}/items`);
    }
    if (maxItems === undefined || maxItems > Math.max(nPrefix.length, wPrefix.length)) this.subset(nRest, wRest, `${path}/items`);
  }

  private subsetObjectsShape(narrow: Json, wide: Json, path: string): void {
    const nRequired = new Set(strings(narrow['required']));
    for (const name of strings(wide['required'])) {
      if (nRequired.has(name)) continue;
      const at = `${path}/required`;
      this.report(at, narrow['required'], wide['required'], this.role === 'input' ? `property \`${name}\` is now required` : `property \`${name}\` is no longer required`);
    }
    this.length(narrow, wide, path, 'minProperties', 'maxProperties', 'number of properties');
    const nProps = record(narrow['properties']);
    const wProps = record(wide['properties']);
    for (const name of new Set([...Object.keys(nProps), ...Object.keys(wProps)])) {
      const n = name in nProps ? nProps[name] : narrow['additionalProperties'] ?? true;
      const w = name in wProps ? wProps[name] : wide['additionalProperties'] ?? true;
      if (w === false && !(name in wProps) && n !== false) {
        const at = `${path}/properties/${escape(name)}`;
        this.report(at, n, undefined, this.role === 'input' ? `property \`${name}\` was removed and extra properties are refused` : `property \`${name}\` may now be returned`);
        continue;
      }
      this.subset(n, w, `${path}/properties/${escape(name)}`);
    }
    this.subset(narrow['additionalProperties'] ?? true, wide['additionalProperties'] ?? true, `${path}/additionalProperties`);
  }

  // before/after are old/new; narrow/wide swap with the role.
  private before(narrowValue: unknown, wideValue: unknown): unknown {
    return this.role === 'input' ? narrowValue : wideValue;
  }

  private after(narrowValue: unknown, wideValue: unknown): unknown {
    return this.role === 'input' ? wideValue : narrowValue;
  }

  private report(pointer: string, narrowValue: unknown, wideValue: unknown, reason: string): void {
    this.differences.push({ pointer: pointer || '/', before: this.before(narrowValue, wideValue), after: this.after(narrowValue, wideValue), reason });
  }

  private narrowRoot(): unknown {
    return this.role === 'input' ? this.oldRoot : this.newRoot;
  }

  private wideRoot(): unknown {
    return this.role === 'input' ? this.newRoot : this.oldRoot;
  }

  private resolve(ref: string, root: unknown): Schema | undefined {
    if (!ref.startsWith('#')) return undefined;
    let node: unknown = root;
    for (const raw of ref.slice(1).split('/').slice(1)) {
      const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
      node = (node as Json)[key];
    }
    return typeof node === 'boolean' || (typeof node === 'object' && node !== null && !Array.isArray(node)) ? (node as Schema) : undefined;
  }

  /** A validator for `wide` that resolves its local references against the wide root. */
  private compileAt(wide: Schema): (value: unknown) => boolean {
    const root = this.wideRoot();
    const defs = typeof root === 'object' && root !== null ? (root as Json)['$defs'] : undefined;
    try {
      const schema = typeof wide === 'boolean' ? wide : { ...(defs ? { $defs: defs } : {}), ...omit(wide, '$schema') };
      const validate = this.finite.compile(schema);
      return (value) => validate(value) === true;
    } catch {
      return () => false; // cannot prove: every value counts as rejected
    }
  }

  private id(schema: object): number {
    let id = this.refIds.get(schema);
    if (id === undefined) this.refIds.set(schema, (id = this.nextId++));
    return id;
  }
}

function asSchema(value: unknown): Schema {
  if (value === undefined || value === true) return true;
  if (value === false) return false;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  return true; // not a schema: the build refuses it before this runs
}

function isEmpty(schema: Schema): boolean {
  return typeof schema === 'object' && Object.keys(schema).every((k) => ANNOTATIONS.has(k));
}

function omit(schema: Json, key: string): Json {
  const { [key]: _dropped, ...rest } = schema;
  return rest;
}

/**
 * A schema that accepts at least every instance of `a ∧ b` (and usually exactly those): b's
 * keywords over a's, with `properties` and `required` combined. Used only on the narrow side,
 * where accepting more is safe.
 */
function mergeConjunction(a: Schema, b: Json): Json {
  if (a === true) return b;
  if (a === false) return { not: {} };
  const merged: Json = { ...a, ...b };
  if (a['properties'] !== undefined && b['properties'] !== undefined) merged['properties'] = { ...record(a['properties']), ...record(b['properties']) };
  if (a['required'] !== undefined && b['required'] !== undefined) merged['required'] = [...new Set([...strings(a['required']), ...strings(b['required'])])];
  return merged;
}

/** The values a schema allows when it fixes them with `const` or `enum`. */
function finiteValues(schema: Json): unknown[] | undefined {
  if ('const' in schema) return [schema['const']];
  if (Array.isArray(schema['enum'])) return schema['enum'] as unknown[];
  return undefined;
}

function wideValues(schema: Schema): unknown {
  return typeof schema === 'object' ? (schema['enum'] ?? schema['const']) : schema;
}

function typeSet(schema: Json): Set<string> | undefined {
  const type = schema['type'];
  if (typeof type === 'string') return new Set([type]);
  if (Array.isArray(type)) return new Set(type.filter((t): t is string => typeof t === 'string'));
  return undefined;
}

/** Two schemas no instance satisfies both of: different types, or different `const` on one required property. */
function disjoint(a: Schema, b: Schema): boolean {
  if (a === false || b === false) return true;
  if (a === true || b === true) return false;
  const ta = typeSet(a);
  const tb = typeSet(b);
  if (ta && tb && ![...ta].some((t) => tb.has(t) || (t === 'integer' && tb.has('number')) || (t === 'number' && tb.has('integer')))) return true;
  const pa = record(a['properties']);
  const pb = record(b['properties']);
  const ra = new Set(strings(a['required']));
  const rb = new Set(strings(b['required']));
  return Object.keys(pa).some((name) => {
    const ca = asSchema(pa[name]);
    const cb = asSchema(pb[name]);
    return typeof ca === 'object' && typeof cb === 'object' && 'const' in ca && 'const' in cb && ra.has(name) && rb.has(name) && !sameJson(ca['const'], cb['const']);
  });
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

/** One reference token of a JSON Pointer (RFC 6901). */
export function escape(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}
