import type { ErrorObject, ValidateFunction } from 'ajv';
import { createAjv, withBaseUri, type Ajv2020 } from '../schema/ajv.ts';
import { readValidator, standaloneSource, storeValidator } from './validator-cache.ts';

/** The workspace whose cache holds precompiled validators (`usePrecompiledValidators`); none by default. */
let precompiledRoot: string | undefined;

/**
 * Makes every `Validators` of this process take compiled validators from, and store them in, the
 * cache of the workspace `root` (src/runtime/validator-cache.ts: entries authenticated under the
 * user's key). Runtime commands (`botc call`, `botc confirm`) set it for the workspace they run
 * in, so a call validates without loading ajv; `undefined` turns it off. The validators behave
 * the same either way.
 */
export function usePrecompiledValidators(root: string | undefined): void {
  precompiledRoot = root;
}

/**
 * At most this many problems are listed in one `VALIDATION_FAILED` / `OUTPUT_INVALID`
 * message (and at most `MAX_REPORTED_CHARS` characters of them); the rest are counted as
 * "and N more problems".
 */
export const MAX_REPORTED_ERRORS = 10;
/** The list of problems stops before this many characters (the first one is always shown). */
export const MAX_REPORTED_CHARS = 360;
/** Names and values quoted in a message are cut to this many characters. */
const MAX_QUOTED = 64;

/**
 * Compiles each method schema once and reuses the validator for every call. Validation
 * collects every problem (ajv `allErrors`, still linear in the data), and patterns run on a
 * linear-time regular expression engine (src/schema/regexp.ts), so no param value can make
 * a call block the event loop.
 */
export class Validators {
  private ajv: Ajv2020 | undefined;
  private readonly cache = new Map<object, ValidateFunction>();

  /**
   * The validator of `schema`, compiled on first use and kept: a call compiles only the schemas
   * it checks (its tool's args, its method's input and output), not every schema of the bundle.
   * Throws when the schema does not compile (an unknown keyword, a keyword's value of the wrong
   * type, a `$ref` that does not resolve).
   *
   * Schemas are not checked against the JSON Schema meta-schema here (compiling the meta-schema
   * costs ~100 ms of CPU, most of a `botc call`'s schema work). The runtime's schemas are method
   * schemas the loaded module itself declares (compared field by field with the bundle's copy on
   * load), which the build checked against the meta-schema and botc's safety rules, and the
   * `call` args schemas the build wrote into a bundle whose digest is verified. And ajv's code
   * generation still refuses, in strict mode, an unknown keyword or a keyword whose value is of
   * the wrong type, so a schema edited by hand still fails to compile rather than validate
   * nothing.
   */
  get(schema: object): ValidateFunction {
    let validate = this.cache.get(schema);
    if (!validate) {
      validate = this.compile(schema);
      this.cache.set(schema, validate);
    }
    return validate;
  }

  private compile(schema: object): ValidateFunction {
    const root = precompiledRoot;
    const text = root === undefined ? undefined : schemaText(schema);
    if (root !== undefined && text !== undefined) {
      const precompiled = readValidator(root, text);
      if (precompiled) return precompiled;
    }
    this.ajv ??= createAjv({ allErrors: true, validateSchema: false, standalone: root !== undefined });
    const validate = this.ajv.compile(withBaseUri(schema));
    if (root !== undefined && text !== undefined) {
      const code = standaloneSource(this.ajv, validate);
      if (code !== undefined) storeValidator(root, text, code);
    }
    return validate;
  }

  /**
   * Undefined when valid; otherwise every problem, in the schema's order, as one readable
   * line naming the property at fault: "unknown property `colour`; `limit`: must be ≤ 100",
   * at most `MAX_REPORTED_ERRORS` of them.
   */
  check(schema: object, value: unknown): string | undefined {
    const validate = this.get(schema);
    if (validate(value)) return undefined;
    return describeErrors(validate.errors ?? [], { fromCaller: true });
  }

  /**
   * As `check`, for a provider's output (`OUTPUT_INVALID`): the output is withheld from the
   * model, so the message names places by the schema alone (`items[].title`), never a key or
   * value taken from the output itself.
   */
  checkOutput(schema: object, value: unknown): string | undefined {
    const validate = this.get(schema);
    if (validate(value)) return undefined;
    return describeErrors(validate.errors ?? [], { fromCaller: false });
  }
}

/** The schema's exact JSON text (the key of its precompiled validator), or undefined when it has none (a cycle). */
function schemaText(schema: object): string | undefined {
  try {
    return JSON.stringify(schema);
  } catch {
    return undefined;
  }
}

/**
 * The problems of a failed validation, each once, bounded by `MAX_REPORTED_ERRORS` and
 * `MAX_REPORTED_CHARS`; see `Validators.check`. `fromCaller`: the value came from the caller,
 * who may see its own names and values again; otherwise (a provider's output) the message
 * names places by the schema only.
 */
export function describeErrors(errors: readonly ErrorObject[], { fromCaller }: { fromCaller: boolean }): string {
  const describe = (error: ErrorObject) => describeError(error, fromCaller ? propertyPath(error.instancePath) : schemaPlace(error.schemaPath), fromCaller);
  // Described one by one until the message is full: a 100,000-item array has as many errors.
  const shown: string[] = [];
  let length = 0;
  let more = 0;
  for (const error of errors) {
    if (error.keyword === 'if' && isSummary(error, errors)) continue;
    if (more > 0) {
      more++;
      continue;
    }
    const line = describe(error);
    if (shown.includes(line)) continue;
    if (shown.length === MAX_REPORTED_ERRORS || (shown.length > 0 && length + line.length > MAX_REPORTED_CHARS)) {
      more = 1;
      continue;
    }
    shown.push(line);
    length += line.length + 2;
  }
  if (shown.length === 0) return 'the value does not match the schema';
  return shown.join('; ') + (more > 0 ? `; and ${more} more problem${more === 1 ? '' : 's'}` : '');
}

/** `if` repeats the error of its `then`/`else` branch, which is listed itself. */
function isSummary(error: ErrorObject, all: readonly ErrorObject[]): boolean {
  return error.keyword === 'if' && all.some((e) => e !== error && e.schemaPath.startsWith(error.schemaPath.replace(/\/if$/, '/')));
}

function describeError(error: ErrorObject, at: string, fromCaller: boolean): string {
  const where = (text: string) => (at ? `\`${at}\`: ${text}` : text);
  const p = error.params as Record<string, unknown>;
  const child = (name: unknown) => quote(at ? `${at}.${String(name)}` : String(name));
  switch (error.keyword) {
    case 'additionalProperties':
    case 'unevaluatedProperties':
      if (!fromCaller) return where('has a property the schema does not allow');
      return `unknown property ${child(p['additionalProperty'] ?? p['unevaluatedProperty'])}`;
    case 'required':
      return `missing property ${child(p['missingProperty'])}`;
    case 'dependentRequired':
      return `missing property ${child(p['missingProperty'])} (required with ${child(p['property'])})`;
    case 'type':
      return where(`must be ${article(String(p['type']).replace(/,/g, ' or '))}, got ${typeName(error.data)}`);
    case 'maximum':
      return where(`must be ≤ ${String(p['limit'])}`);
    case 'minimum':
      return where(`must be ≥ ${String(p['limit'])}`);
    case 'exclusiveMaximum':
      return where(`must be < ${String(p['limit'])}`);
    case 'exclusiveMinimum':
      return where(`must be > ${String(p['limit'])}`);
    case 'multipleOf':
      return where(`must be a multiple of ${String(p['multipleOf'])}`);
    case 'maxLength':
      return where(`must be at most ${String(p['limit'])} characters long`);
    case 'minLength':
      return where(`must be at least ${String(p['limit'])} characters long`);
    case 'maxItems':
      return where(`must have at most ${String(p['limit'])} items`);
    case 'minItems':
      return where(`must have at least ${String(p['limit'])} items`);
    case 'maxProperties':
      return where(`must have at most ${String(p['limit'])} properties`);
    case 'minProperties':
      return where(`must have at least ${String(p['limit'])} properties`);
    case 'uniqueItems':
      return where(`items ${String(p['j'])} and ${String(p['i'])} are identical; items must be unique`);
    case 'enum':
      return where(`must be one of ${((p['allowedValues'] as unknown[] | undefined) ?? []).slice(0, 10).map(quoteValue).join(', ')}`);
    case 'const':
      return where(`must be ${quoteValue(p['allowedValue'])}`);
    case 'pattern':
      return where(`must match the pattern ${quote(String(p['pattern']))}`);
    case 'format':
      return where(`must be a valid ${String(p['format'])}`);
    case 'propertyNames':
      return where(fromCaller ? `property name ${quote(String(p['propertyName']))} is not allowed` : 'has a property name the schema does not allow');
    case 'false schema':
      return at ? `property \`${at}\` is not allowed` : 'no value is allowed here';
    case 'oneOf':
      return where(p['passingSchemas'] ? 'must match exactly one of the allowed shapes, but matches several' : 'must match exactly one of the allowed shapes');
    case 'anyOf':
      return where('must match at least one of the allowed shapes');
    case 'not':
      return where('must not match the excluded shape');
    default:
      return where(error.message ?? 'is invalid');
  }
}

/**
 * The place a schema path validates, named by the schema alone: `#/properties/items/items/
 * properties/title/type` → `items[].title`; a name matched by `patternProperties` or
 * `additionalProperties` is `*`. Keywords that do not move into the value are skipped.
 */
function schemaPlace(schemaPath: string): string {
  const segments = schemaPath.replace(/^#/, '').split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let place = '';
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === 'properties') {
      const name = segments[++i] ?? '';
      place += place ? `.${name}` : name;
    } else if (segment === 'patternProperties') {
      i++;
      place += place ? '.*' : '*';
    } else if (segment === 'additionalProperties' || segment === 'unevaluatedProperties') {
      if (i < segments.length - 1) place += place ? '.*' : '*';
    } else if (segment === 'items' || segment === 'unevaluatedItems' || segment === 'contains') {
      if (i < segments.length - 1) place += '[]';
    } else if (segment === 'prefixItems') {
      place += `[${segments[++i] ?? ''}]`;
    } else if (segment === 'allOf' || segment === 'anyOf' || segment === 'oneOf' || segment === '$defs' || segment === 'definitions' || segment === 'dependentSchemas') {
      i++;
    }
  }
  return place;
}

/** `/filter/labels/0` → `filter.labels[0]`; the root is "". */
function propertyPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment, i) => (/^\d+$/.test(segment) ? `[${segment}]` : i === 0 ? segment : `.${segment}`))
    .join('');
}

/** A caller-supplied name or value in backquotes, control characters escaped, cut short. */
function quote(text: string): string {
  const escaped = JSON.stringify(text).slice(1, -1).replace(/`/g, "'");
  const clipped = escaped.length > MAX_QUOTED ? `${escaped.slice(0, MAX_QUOTED)}…` : escaped;
  return `\`${clipped}\``;
}

/** A schema value (enum member, const): strings as themselves, anything else as JSON. */
function quoteValue(value: unknown): string {
  return quote(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)));
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return article(typeof value);
}
