import type { FunctionTool } from '@openai/agents';
import { toOpenAIStrict, toPlainJsonSchema } from '../agents/schema-rewrite.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { ExpertBridge, IMPORTED_RECORDS_FUNCTION, isObject, type AdapterOptions } from './core.ts';

/**
 * Tools for the OpenAI Agents SDK (`@openai/agents`, an optional peer dependency loaded on
 * first use): one `tool()` per function of the expert, with the strict-mode parameters of
 * `botc export --target openai-responses --strict` (plain parameters, strict off, for a function
 * whose schema cannot be made strict). What the model sends is mapped back to the method's real
 * params (a `null` for an optional property means absent) before the runtime validates it.
 *
 * An outbound write has `needsApproval`: the run stops with an interruption; after
 * `result.state.approve(item)` and a new `run(agent, result.state)`, the tool's execution
 * proposes the write and confirms it as `opts.approver`. The tool output is the runtime's
 * IntegrationResult passed through `forModel`, as JSON text: it never holds a confirmation token.
 *
 * @throws AdapterError when the expert is unknown.
 */
export async function openaiAgentsTools(runtime: Runtime, options: AdapterOptions): Promise<FunctionTool[]> {
  const { tool } = await import('@openai/agents');
  const bridge = new ExpertBridge(runtime, options, 'agent-host');
  return bridge.functions.map((fn) => {
    // Strict where this function's schema can be made strict (as `botc export --strict` does it).
    const strict = fn.name === IMPORTED_RECORDS_FUNCTION ? { schema: fn.inputSchema, problems: [] } : toOpenAIStrict(fn.inputSchema);
    const parameters = strict.problems.length === 0 ? strict.schema : undefined;
    const needsApproval = async (_context: unknown, input: unknown) => bridge.needsApproval(fn.name, input);
    const execute = async (input: unknown) => JSON.stringify(await bridge.runApproved(fn.name, parseInput(input)));
    // The SDK's option types are generic over the schema; these tools take JSON Schema objects.
    const options = parameters
      ? { name: fn.name, description: fn.description, parameters, strict: true, needsApproval, execute }
      : { name: fn.name, description: fn.description, parameters: toPlainJsonSchema(fn.inputSchema), strict: false, needsApproval, execute };
    return tool(options as unknown as Parameters<typeof tool>[0]) as unknown as FunctionTool;
  });
}

/** The SDK hands JSON Schema tools the parsed arguments; a string is parsed defensively. */
function parseInput(input: unknown): unknown {
  if (typeof input !== 'string') return input;
  try {
    const parsed: unknown = JSON.parse(input);
    return isObject(parsed) ? parsed : input;
  } catch {
    return input;
  }
}
