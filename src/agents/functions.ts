import type { Bundle, BundleExpert, BundleTool } from '../bundle/format.ts';
import type { MethodSpec } from '../integration/types.ts';
import { CALL_OPTIONS, TOOL_OPS } from '../tools/envelope.ts';

/**
 * The functions an agent sees for one expert, in one of two styles:
 *
 * - `envelope`: one function per allowed bot tool, input `{op, args}`; `args` is one branch per
 *   method (`method_id` fixed by `const`, `params` its input schema), so the model needs no
 *   `help` round trip to learn the parameters;
 * - `methods`: one function per method of each allowed tool, named `<tool>__<method>` with the
 *   method id's dots as underscores, whose input is the method's own input schema.
 *
 * Each function remembers where it came from, so a call can be mapped back to a tool call.
 */
export type ToolStyle = 'envelope' | 'methods';
export const TOOL_STYLES: readonly ToolStyle[] = ['envelope', 'methods'];

export interface AgentFunction {
  name: string;
  description: string;
  /** The function's input, as JSON Schema 2020-12 (before any target rewrite). */
  inputSchema: Record<string, unknown>;
  /** The method's output schema (methods style only). */
  outputSchema?: Record<string, unknown>;
  origin: { tool: string; method_id?: string };
  /** What the function may do, for annotations and approval. */
  effects: Effects;
}

/** What a function's methods may do. */
export interface Effects {
  /** Every method is a `safe_read`. */
  readOnly: boolean;
  /** Some method has the `delete` capability. */
  destructive: boolean;
  /** Every method is `safe_read` or `idempotent_write`. */
  idempotent: boolean;
  /** Some method is an outbound write, which waits for a person's confirmation. */
  needsApproval: boolean;
}

/** The name of a method's function in the `methods` style: `issues__github_issues_list_v1`. */
export function methodFunctionName(tool: string, methodId: string): string {
  return `${tool}__${methodId.replace(/\./g, '_')}`;
}

/** One expert of a bundle by name; the only expert when `name` is omitted and there is one. */
export function findExpert(bundle: Bundle, name: string | undefined): BundleExpert | string {
  if (name === undefined) {
    return bundle.experts.length === 1 ? bundle.experts[0]! : `bot ${bundle.bot.id} has ${bundle.experts.length} experts: pass --expert (${bundle.experts.map((e) => e.name).join(', ')})`;
  }
  return bundle.experts.find((e) => e.name === name) ?? `bot ${bundle.bot.id} has no expert \`${name.slice(0, 64)}\`; experts: ${bundle.experts.map((e) => e.name).join(', ')}`;
}

/** The functions of one expert, in the order of its allowed tools and their methods. */
export function expertFunctions(bundle: Bundle, expert: BundleExpert, style: ToolStyle): AgentFunction[] {
  const tools = expert.tools.map((name) => bundle.tools.find((t) => t.name === name)).filter((t): t is BundleTool => t !== undefined);
  if (style === 'envelope') return tools.map((tool) => envelopeFunction(bundle, tool));
  return tools.flatMap((tool) =>
    tool.methods.map((id) => {
      const spec = bundle.methods[id]!;
      return {
        name: methodFunctionName(tool.name, id),
        description: spec.description,
        inputSchema: spec.input_schema,
        outputSchema: spec.output_schema,
        origin: { tool: tool.name, method_id: id },
        effects: effectsOf(bundle, [spec]),
      };
    }),
  );
}

function envelopeFunction(bundle: Bundle, tool: BundleTool): AgentFunction {
  const specs = tool.methods.map((id) => bundle.methods[id]!);
  const branch = (spec: MethodSpec) => ({
    type: 'object',
    additionalProperties: false,
    required: ['method_id', 'params'],
    properties: {
      method_id: { const: spec.method_id, description: spec.description },
      params: withoutSchemaKeyword(spec.input_schema),
      ...CALL_OPTIONS,
    },
  });
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['op'],
      properties: {
        op: {
          type: 'string',
          enum: [...TOOL_OPS],
          description: '`call` runs one method (args: method_id and params); `help`, `status`, `list_methods` and `list_providers` take no args.',
        },
        args: { description: 'The arguments of `call`: one method and its params.', anyOf: specs.map(branch) },
      },
    },
    origin: { tool: tool.name },
    effects: effectsOf(bundle, specs),
  };
}

function effectsOf(bundle: Bundle, specs: MethodSpec[]): Effects {
  return {
    readOnly: specs.every((s) => s.idempotency === 'safe_read'),
    destructive: specs.some((s) => s.capabilities.includes('delete')),
    idempotent: specs.every((s) => s.idempotency !== 'non_idempotent_write'),
    needsApproval: specs.some((s) => s.idempotency !== 'safe_read' && bundle.integrations[s.provider]?.classification === 'outbound'),
  };
}

function withoutSchemaKeyword(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}
