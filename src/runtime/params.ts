import type { BundleTool } from '../bundle/format.ts';
import { canonicalJson } from '../bundle/canonical.ts';
import { envelopeSchema } from '../tools/envelope.ts';
import { BundleLoadError } from './bundle.ts';
import type { Validators } from './validators.ts';

/** The `call` envelope's args, once checked. */
export interface CallArgs {
  method_id: string;
  params: Record<string, unknown>;
  cursor?: string;
  dry_run?: boolean;
  idempotency_key?: string;
}

const MAX_PARAMS_BYTES = 1024 * 1024;
const MAX_DEPTH = 64;
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Why params cannot be accepted before schema validation: over 1 MiB of JSON, nested deeper
 * than 64 levels (or cyclic), or holding values JSON cannot carry. A bounded walk, cheaper
 * than serializing, that stops as soon as a limit is crossed.
 */
export function paramsProblem(params: unknown): string | undefined {
  const budget = { bytes: 0 };
  return walk(params, 0, budget);
}

const TOO_DEEP = `params nest deeper than ${MAX_DEPTH} levels (or are cyclic)`;
const TOO_BIG = `params are over the ${MAX_PARAMS_BYTES}-byte cap`;

/** One value at `depth`: objects and arrays are walked, anything else is counted here (no call of its own). */
function walk(value: unknown, depth: number, budget: { bytes: number }): string | undefined {
  if (depth > MAX_DEPTH) return TOO_DEEP;
  if (typeof value === 'object' && value !== null) return walkObject(value, depth, budget);
  switch (typeof value) {
    case 'string':
      budget.bytes += value.length + 2;
      break;
    case 'number':
      if (!Number.isFinite(value)) return 'params hold a number JSON cannot carry';
      budget.bytes += 8;
      break;
    case 'boolean':
      budget.bytes += 5;
      break;
    case 'undefined':
      break;
    case 'object':
      budget.bytes += 4;
      break;
    default:
      return `params hold a ${typeof value}, which JSON cannot carry`;
  }
  return budget.bytes > MAX_PARAMS_BYTES ? TOO_BIG : undefined;
}

function walkObject(value: object, depth: number, budget: { bytes: number }): string | undefined {
  if (Array.isArray(value)) {
    budget.bytes += value.length + 2;
    for (let i = 0; i < value.length; i++) {
      const problem = walk(value[i], depth + 1, budget);
      if (problem) return problem;
    }
  } else {
    for (const key in value) {
      // hasOwnProperty in a for-in is the form V8 compiles to a cheap check (Object.hasOwn is not).
      if (!hasOwn.call(value, key)) continue;
      budget.bytes += key.length + 4;
      const problem = walk((value as Record<string, unknown>)[key], depth + 1, budget);
      if (problem) return problem;
    }
  }
  return budget.bytes > MAX_PARAMS_BYTES ? TOO_BIG : undefined;
}

/**
 * The `call` op's args checked against the bundle tool's own `parameters` (the JSON Schema of
 * its `{op, args}` envelope, as agents see it), compiled once per tool. Two departures from
 * that schema keep the dispatch order: `method_id` is only required to be a string here (a
 * method the tool lacks is UNKNOWN_METHOD, a later step), and `params` defaults to `{}`.
 */
export class CallArgsValidator {
  private readonly validate: (value: unknown) => string | undefined;

  /** @throws BundleLoadError when the tool's `parameters` do not compile as JSON Schema. */
  constructor(validators: Validators, tool: BundleTool) {
    const schema = argsSchema(tool);
    try {
      validators.get(schema);
    } catch (error) {
      throw new BundleLoadError(`tool ${tool.name}: its parameters are not a valid JSON Schema (${error instanceof Error ? error.message.slice(0, 200) : 'unknown error'})`);
    }
    const check = (value: unknown) => validators.check(schema, value);
    // The args schema every built bundle has (the standard envelope's): a few typeof checks
    // accept the common args without ajv; anything they do not accept is ajv's to judge and word.
    const standard = canonicalJson(schema) === canonicalJson(argsSchema({ ...tool, parameters: envelopeSchema(tool.name, tool.methods) }));
    this.validate = standard ? (value) => (isStandardArgs(value as Record<string, unknown>) ? undefined : check(value)) : check;
  }

  /** The checked args (a fresh object the runtime may change), or why they are malformed. */
  parse(raw: unknown): CallArgs | string {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return '`call` needs args `{method_id, params}`';
    const problem = this.validate(raw);
    if (problem !== undefined) return `\`call\` args: ${problem}`;
    const args = raw as Record<string, unknown>;
    const out: CallArgs = { method_id: args['method_id'] as string, params: (args['params'] ?? {}) as Record<string, unknown> };
    if (args['cursor'] !== undefined) out.cursor = args['cursor'] as string;
    if (args['dry_run'] !== undefined) out.dry_run = args['dry_run'] as boolean;
    if (args['idempotency_key'] !== undefined) out.idempotency_key = args['idempotency_key'] as string;
    return out;
  }
}

/** The schema of `args` in the tool's `parameters`, or of the standard envelope when the bundle has none. */
function argsSchema(tool: BundleTool): object {
  const declared = (tool.parameters as { properties?: { args?: unknown } }).properties?.args;
  const args = isObject(declared) && isObject(declared['properties']) ? declared : (envelopeSchema(tool.name, tool.methods) as { properties: { args: Record<string, unknown> } }).properties.args;
  const properties = { ...(args['properties'] as Record<string, unknown>) };
  properties['method_id'] = { type: 'string' };
  properties['params'] = { type: 'object' };
  return { ...args, type: 'object', additionalProperties: false, required: ['method_id'], properties };
}

/**
 * True only for args that the standard envelope's args schema (as `argsSchema` makes it) accepts:
 * no property but the five it lists, a string `method_id`, an object `params`, a string
 * `cursor`, a boolean `dry_run`, an `idempotency_key` of 1 to 200 UTF-16 code units (so of 1 to
 * 200 code points, as ajv counts). False does not mean invalid: ajv then decides.
 */
function isStandardArgs(args: Record<string, unknown>): boolean {
  for (const key of Object.keys(args)) {
    if (key !== 'method_id' && key !== 'params' && key !== 'cursor' && key !== 'dry_run' && key !== 'idempotency_key') return false;
  }
  const { method_id: methodId, params, cursor, dry_run: dryRun, idempotency_key: key } = args;
  return (
    typeof methodId === 'string' &&
    (params === undefined || isObject(params)) &&
    (cursor === undefined || typeof cursor === 'string') &&
    (dryRun === undefined || typeof dryRun === 'boolean') &&
    (key === undefined || (typeof key === 'string' && key.length >= 1 && key.length <= 200))
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
