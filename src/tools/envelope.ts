import { sortKeys } from '../bundle/canonical.ts';

/** The operations every tool answers (README, Running bundles, docs/governance.md, modes and tool composition). */
export const TOOL_OPS = ['help', 'status', 'list_methods', 'list_providers', 'call'] as const;
export type ToolOp = (typeof TOOL_OPS)[number];

/** The optional arguments of `call` besides `method_id` and `params`, as JSON Schema properties. */
export const CALL_OPTIONS = {
  cursor: { type: 'string', description: 'The `next_cursor` of a previous page, to fetch the next one.' },
  dry_run: { type: 'boolean', description: 'Describe what a write would send without sending it.' },
  idempotency_key: {
    type: 'string',
    minLength: 1,
    maxLength: 200,
    description: 'A caller-chosen key: a repeated call with the same key returns the first result.',
  },
} as const;

/**
 * The JSON Schema of a tool's `{op, args}` envelope, usable as-is as the input schema of
 * an LLM function or an MCP tool. Per-method parameters are described by `help`. Every object
 * lists its members in key order, as a bundle stores them: the build then keeps it as it is,
 * and a runtime validating against it reports problems in the order a bundle's copy gives.
 */
export function envelopeSchema(toolName: string, methods: readonly string[]): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    additionalProperties: false,
    properties: {
      args: {
        additionalProperties: false,
        description: 'Arguments of `call`; the other operations take none.',
        properties: {
          // In key order, and new objects each time: no two bundles share them.
          ...(sortKeys(CALL_OPTIONS) as typeof CALL_OPTIONS),
          method_id: { description: 'The method to run.', enum: [...methods], type: 'string' },
          params: { description: "The method's parameters; `help` shows each method's input schema.", type: 'object' },
        },
        type: 'object',
      },
      op: {
        description: `What to do with the \`${toolName}\` tool: \`help\` describes its methods and their parameters, \`status\` reports provider authentication, \`list_methods\` and \`list_providers\` enumerate, \`call\` runs one method.`,
        enum: [...TOOL_OPS],
        type: 'string',
      },
    },
    required: ['op'],
    type: 'object',
  };
}
