import type { Bundle, BundleExpert } from '../bundle/format.ts';
import { expertFunctions, type AgentFunction, type ToolStyle } from './functions.ts';

type Json = Record<string, unknown>;

/** A tool call ready for `Runtime.callTool` (without expert, tenant and approver, which the host adds). */
export interface MappedCall {
  tool: string;
  op: string;
  args?: Record<string, unknown>;
}

/**
 * Maps what a model sent for an exported function back to the tool call of the bundle, undoing
 * the export's rewrites before the runtime validates against the method's real input schema:
 * a `null` for a property the real schema makes optional (and does not let be null) means
 * "absent" and is removed; a `methods`-style function becomes `{op: "call", args: {method_id,
 * params}}`. Anything the model got wrong is left for the runtime to report as VALIDATION_FAILED.
 *
 * @param functions the expert's functions in that style, when the caller already has them.
 * @returns undefined when `name` is none of the expert's functions in that style.
 */
export function mapFunctionCall(
  bundle: Bundle,
  expert: BundleExpert,
  style: ToolStyle,
  name: string,
  input: unknown,
  functions: readonly AgentFunction[] = expertFunctions(bundle, expert, style),
): MappedCall | undefined {
  const fn = functions.find((f) => f.name === name);
  if (!fn) return undefined;
  if (fn.origin.method_id !== undefined) {
    const spec = bundle.methods[fn.origin.method_id]!;
    return { tool: fn.origin.tool, op: 'call', args: { method_id: spec.method_id, params: undoNulls(input, spec.input_schema, spec.input_schema) as Json } };
  }
  const envelope = isObject(input) ? input : {};
  const call: MappedCall = { tool: fn.origin.tool, op: typeof envelope['op'] === 'string' ? envelope['op'] : String(envelope['op']) };
  const args = envelope['args'];
  if (!isObject(args)) return call;
  const out: Json = {};
  for (const [key, value] of Object.entries(args)) {
    if (value === null && key !== 'params') continue; // optional envelope fields are never null for real
    out[key] = value;
  }
  const spec = typeof out['method_id'] === 'string' ? bundle.methods[out['method_id']] : undefined;
  if (spec && out['params'] !== undefined) out['params'] = undoNulls(out['params'], spec.input_schema, spec.input_schema);
  if (out['params'] === null) delete out['params'];
  call.args = out;
  return call;
}

/** Removes `null`s that stand for absent optional properties, following the real schema. */
export function undoNulls(value: unknown, schema: unknown, root: unknown): unknown {
  const node = resolve(schema, root);
  if (!isObject(node)) return value;
  if (Array.isArray(value)) {
    const items = node['items'];
    return items === undefined ? value : value.map((v) => undoNulls(v, items, root));
  }
  if (!isObject(value)) return value;
  const branches = (node['anyOf'] ?? node['oneOf']) as unknown[] | undefined;
  if (Array.isArray(branches)) {
    const keys = Object.keys(value);
    const fitting = branches.find((b) => {
      const props = resolve(b, root);
      return isObject(props) && isObject(props['properties']) && keys.every((k) => k in (props['properties'] as Json));
    });
    if (fitting !== undefined) return undoNulls(value, fitting, root);
  }
  const properties = isObject(node['properties']) ? node['properties'] : {};
  const required = new Set(Array.isArray(node['required']) ? (node['required'] as string[]) : []);
  const out: Json = {};
  for (const [key, child] of Object.entries(value)) {
    const childSchema = key in properties ? properties[key] : node['additionalProperties'];
    if (child === null && !required.has(key) && !allowsNull(childSchema, root)) continue;
    out[key] = undoNulls(child, childSchema, root);
  }
  return out;
}

function allowsNull(schema: unknown, root: unknown): boolean {
  const node = resolve(schema, root);
  if (node === undefined || node === true) return true;
  if (!isObject(node)) return false;
  const type = node['type'];
  if (type === 'null' || (Array.isArray(type) && type.includes('null'))) return true;
  if (Array.isArray(node['enum']) && node['enum'].includes(null)) return true;
  if ('const' in node && node['const'] === null) return true;
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(node[key]) && (node[key] as unknown[]).some((b) => allowsNull(b, root))) return true;
  }
  return type === undefined && !('enum' in node) && !('const' in node) && !('anyOf' in node) && !('oneOf' in node) && !('properties' in node);
}

function resolve(schema: unknown, root: unknown): unknown {
  let node = schema;
  for (let hops = 0; isObject(node) && typeof node['$ref'] === 'string' && hops < 32; hops++) {
    const ref = node['$ref'];
    if (!ref.startsWith('#')) return node;
    let target: unknown = root;
    for (const raw of ref.slice(1).split('/').slice(1)) {
      const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      target = isObject(target) ? target[key] : undefined;
    }
    node = target;
  }
  return node;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
