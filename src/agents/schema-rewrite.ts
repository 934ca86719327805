/**
 * Per-target rewrites of a method's JSON Schema into what an LLM provider accepts for a tool's
 * parameters. Each rewrite is pure, never widens what the runtime accepts (the runtime always
 * validates against the method's real `input_schema`), and reports what it cannot express.
 *
 * What the model loses is not lost for validation: a constraint a target cannot carry is moved
 * into the property's `description` ("must also hold: ...") so the model still reads
 * it, and the runtime still enforces it.
 */

type Json = Record<string, unknown>;

/** A schema node a target cannot express, at a JSON Pointer into the original schema. */
export interface RewriteProblem {
  pointer: string;
  message: string;
}

export interface Rewritten {
  schema: Json;
  problems: RewriteProblem[];
}

/** Keywords that only annotate; every target may drop them without changing validation. */
const DROPPED_EVERYWHERE = new Set(['$schema', '$id', '$comment', '$anchor', '$dynamicAnchor', 'title', 'deprecated', 'readOnly', 'writeOnly', 'contentMediaType', 'contentEncoding']);

/**
 * What each target's function-parameter schema may contain. Sources, as read in late 2026:
 * - OpenAI strict mode ("Structured Outputs", supported schemas): objects need every property in
 *   `required` and `additionalProperties: false`; supported keywords are the ones below; string
 *   formats are a short list; `oneOf`, `allOf`, `not`, `if`, `prefixItems`, `patternProperties`
 *   are not supported.
 * - Anthropic strict tool use (structured outputs): objects need `additionalProperties: false`;
 *   no numeric bounds (`minimum`, `maximum`, `multipleOf`), no string lengths, arrays only
 *   `minItems` 0 or 1; no recursive schemas.
 * - Gemini function declarations (`parametersJsonSchema`): a JSON Schema subset without `$schema`,
 *   `additionalProperties`, `pattern`, or empty `properties`; `oneOf` behaves as `anyOf`.
 */
const KEEP = {
  'openai-strict': new Set(['type', 'description', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', '$ref', '$defs', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minItems', 'maxItems']),
  'anthropic-strict': new Set(['type', 'description', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', '$ref', '$defs', 'pattern', 'format', 'minItems', 'default']),
  gemini: new Set(['type', 'description', 'properties', 'required', 'items', 'enum', 'anyOf', '$ref', '$defs', 'format', 'minimum', 'maximum', 'minItems', 'maxItems', 'minLength', 'maxLength', 'nullable']),
} as const;

const OPENAI_FORMATS = new Set(['date-time', 'time', 'date', 'duration', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid']);
const ANTHROPIC_FORMATS = new Set(['date-time', 'time', 'date', 'duration', 'email', 'hostname', 'uri', 'ipv4', 'ipv6', 'uuid']);

export type RewriteTarget = keyof typeof KEEP;

/**
 * OpenAI strict mode: every object closed and every property required, an optional property made
 * nullable (`null` then means "absent": the adapters remove it before validation), `oneOf` as
 * `anyOf`, `allOf` of objects merged, unsupported keywords moved into `description`.
 */
export function toOpenAIStrict(schema: Json): Rewritten {
  return new Rewriter('openai-strict', schema).run();
}

/** Anthropic strict tool use: every object closed; numeric bounds and lengths moved into `description`. */
export function toAnthropicStrict(schema: Json): Rewritten {
  return new Rewriter('anthropic-strict', schema).run();
}

/** Gemini `parametersJsonSchema`: no `$schema`, no `additionalProperties`, no empty `properties`; `pattern` moved into `description`. */
export function toGemini(schema: Json): Rewritten {
  return new Rewriter('gemini', schema).run();
}

/** Plain JSON Schema for targets that take it whole (MCP, non-strict OpenAI and Anthropic): annotations of the schema file dropped. */
export function toPlainJsonSchema(schema: Json): Json {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

class Rewriter {
  private readonly problems: RewriteProblem[] = [];
  private readonly keep: ReadonlySet<string>;
  private readonly resolving = new Set<string>();

  constructor(
    private readonly target: RewriteTarget,
    private readonly root: Json,
  ) {
    this.keep = KEEP[target];
  }

  run(): Rewritten {
    // References are inlined: strict modes refuse `$ref` beside other keywords, and the
    // schemas of method inputs are small. A recursive schema cannot be inlined.
    const schema = this.node(this.root, '', false);
    return { schema: typeof schema === 'object' ? schema : { type: 'object', properties: {}, additionalProperties: false }, problems: this.problems };
  }

  /** Rewrites one schema node; `optional` makes it nullable (strict OpenAI). */
  private node(input: unknown, pointer: string, optional: boolean): Json {
    if (input === true || input === undefined) return this.anyValue(pointer);
    if (input === false) {
      this.problems.push({ pointer, message: 'a schema that accepts nothing cannot be a tool parameter' });
      return { not: {} };
    }
    let schema = { ...(input as Json) };
    if (typeof schema['$ref'] === 'string') {
      const ref = schema['$ref'];
      const target = this.resolve(ref);
      if (!target || this.resolving.has(ref)) {
        this.problems.push({ pointer: `${pointer}/$ref`, message: target ? `the recursive reference ${ref} cannot be inlined` : `the reference ${ref} does not resolve` });
        return { type: 'object', properties: {}, additionalProperties: false };
      }
      this.resolving.add(ref);
      const { $ref: _ref, ...siblings } = schema;
      const merged = this.node({ ...target, ...siblings }, pointer, optional);
      this.resolving.delete(ref);
      return merged;
    }
    delete schema['$defs'];
    delete schema['definitions'];
    if (Array.isArray(schema['allOf'])) schema = this.mergeAllOf(schema, pointer);
    if (Array.isArray(schema['oneOf'])) {
      schema['anyOf'] = schema['oneOf'];
      delete schema['oneOf'];
    }
    const notes: string[] = [];
    const hints: string[] = [];
    const out: Json = {};
    for (const [key, value] of Object.entries(schema)) {
      if (DROPPED_EVERYWHERE.has(key) || key === 'properties' || key === 'required' || key === 'additionalProperties' || key === 'items' || key === 'anyOf') continue;
      if (key === 'description') continue;
      if (key === 'format' && !this.formatKept(value)) {
        notes.push(`format ${JSON.stringify(value)}`);
        continue;
      }
      if (key === 'minItems' && this.target === 'anthropic-strict' && typeof value === 'number' && value > 1) {
        notes.push(`minItems ${value}`);
        continue;
      }
      if (key === 'const' && this.target === 'gemini') {
        out['enum'] = [value];
        continue;
      }
      if (this.keep.has(key)) out[key] = value;
      else if (key === 'default' || key === 'examples') hints.push(key === 'default' ? `default ${JSON.stringify(value)}` : `e.g. ${(value as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`);
      else notes.push(`${key} ${JSON.stringify(value)}`);
    }
    if (Array.isArray(schema['anyOf'])) {
      const branches = (schema['anyOf'] as unknown[]).map((b, i) => this.node(b, `${pointer}/anyOf/${i}`, false));
      // Strict modes refuse keywords beside `anyOf`: each branch carries them instead.
      const siblings = Object.fromEntries(Object.entries(out).filter(([k]) => k !== 'description'));
      for (const key of Object.keys(siblings)) delete out[key];
      out['anyOf'] = branches.map((b) => ({ ...siblings, ...b }));
    }
    this.objectKeywords(schema, out, pointer, notes);
    if ('items' in schema) {
      out['items'] = Array.isArray(schema['items']) ? this.anyValue(`${pointer}/items`) : this.node(schema['items'], `${pointer}/items`, false);
    }
    const description = [
      typeof schema['description'] === 'string' ? schema['description'] : '',
      hints.length > 0 ? `(${hints.join('; ')})` : '',
      notes.length > 0 ? `(must also hold: ${notes.join(', ')})` : '',
    ]
      .filter(Boolean)
      .join(' ');
    if (description) out['description'] = description;
    return optional && this.target === 'openai-strict' ? nullable(out) : out;
  }

  private objectKeywords(schema: Json, out: Json, pointer: string, notes: string[]): void {
    const isObject = schema['type'] === 'object' || (Array.isArray(schema['type']) && schema['type'].includes('object')) || 'properties' in schema;
    if (!isObject) return;
    const properties = (schema['properties'] ?? {}) as Json;
    const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
    const names = Object.keys(properties);
    const closedOriginal = schema['additionalProperties'] === false;
    if (names.length === 0 && !closedOriginal && this.target !== 'gemini') {
      this.problems.push({ pointer, message: 'a free-form object (no declared properties) cannot be expressed in strict mode' });
    }
    if (names.length > 0 || this.target !== 'gemini') {
      const rewritten: Json = {};
      for (const name of names) {
        rewritten[name] = this.node(properties[name], `${pointer}/properties/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`, !required.has(name));
      }
      if (names.length > 0 || this.target !== 'gemini') out['properties'] = rewritten;
    }
    if (this.target === 'openai-strict') {
      out['required'] = names;
    } else if (required.size > 0) {
      out['required'] = names.filter((n) => required.has(n));
    }
    if (this.target === 'gemini') return;
    if (!closedOriginal && schema['additionalProperties'] !== undefined && schema['additionalProperties'] !== true) {
      notes.push('further properties as additionalProperties allows');
    }
    if ('patternProperties' in schema && !notes.some((n) => n.startsWith('patternProperties'))) notes.push(`patternProperties ${JSON.stringify(schema['patternProperties'])}`);
    out['additionalProperties'] = false;
  }

  private mergeAllOf(schema: Json, pointer: string): Json {
    const { allOf, ...rest } = schema;
    const merged: Json = { ...rest };
    for (const [i, part] of (allOf as unknown[]).entries()) {
      if (typeof part !== 'object' || part === null) {
        this.problems.push({ pointer: `${pointer}/allOf/${i}`, message: 'only object branches of allOf can be merged' });
        continue;
      }
      const branch = part as Json;
      for (const [key, value] of Object.entries(branch)) {
        if (key === 'properties') merged['properties'] = { ...(merged['properties'] as Json | undefined), ...(value as Json) };
        else if (key === 'required') merged['required'] = [...new Set([...((merged['required'] as string[] | undefined) ?? []), ...(value as string[])])];
        else if (!(key in merged)) merged[key] = value;
      }
    }
    return merged;
  }

  private anyValue(pointer: string): Json {
    if (this.target === 'gemini') return {};
    this.problems.push({ pointer: pointer || '/', message: 'a value of any type cannot be expressed in strict mode' });
    return { type: 'string' };
  }

  private formatKept(format: unknown): boolean {
    if (this.target === 'openai-strict') return OPENAI_FORMATS.has(String(format));
    if (this.target === 'anthropic-strict') return ANTHROPIC_FORMATS.has(String(format));
    return true;
  }

  private resolve(ref: string): Json | undefined {
    if (!ref.startsWith('#/')) return undefined;
    let node: unknown = this.root;
    for (const raw of ref.slice(2).split('/')) {
      const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
      node = (node as Json)[key];
    }
    return typeof node === 'object' && node !== null ? (node as Json) : undefined;
  }
}

/** The schema, or `null` (OpenAI strict's way to make a property optional). */
function nullable(schema: Json): Json {
  const type = schema['type'];
  if (Array.isArray(schema['anyOf'])) {
    const branches = schema['anyOf'] as Json[];
    return branches.some((b) => b['type'] === 'null') ? schema : { ...schema, anyOf: [...branches, { type: 'null' }] };
  }
  if (Array.isArray(schema['enum'])) {
    const values = schema['enum'] as unknown[];
    const withNull = values.includes(null) ? values : [...values, null];
    return { ...schema, enum: withNull, ...(typeof type === 'string' ? { type: [type, 'null'] } : {}) };
  }
  if ('const' in schema) {
    const { const: value, description, ...rest } = schema;
    return { anyOf: [{ ...rest, const: value }, { type: 'null' }], ...(description !== undefined ? { description } : {}) };
  }
  if (typeof type === 'string') return type === 'null' ? schema : { ...schema, type: [type, 'null'] };
  if (Array.isArray(type)) return type.includes('null') ? schema : { ...schema, type: [...type, 'null'] };
  return { anyOf: [schema, { type: 'null' }] };
}
