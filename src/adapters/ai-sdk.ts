import type { Tool } from 'ai';
import type { Runtime } from '../runtime/runtime.ts';
import { ExpertBridge, type AdapterOptions } from './core.ts';
import { toPlainJsonSchema } from '../agents/schema-rewrite.ts';

/**
 * Tools for the Vercel AI SDK (`ai`, an optional peer dependency loaded on first use), keyed by
 * function name, ready for `generateText({tools})` or `ToolLoopAgent`. Inputs are the
 * functions' JSON Schemas (the runtime validates against the method's real schema after mapping
 * the call back). An outbound write has `needsApproval`: the SDK answers with a
 * `tool-approval-request`; once the host sends `tool-approval-response` with `approved: true`,
 * the tool's execution proposes the write and confirms it as `opts.approver`. Every output is the
 * IntegrationResult passed through `forModel`: it never holds a confirmation token.
 *
 * @throws AdapterError when the expert is unknown.
 */
export async function aiSdkTools(runtime: Runtime, options: AdapterOptions): Promise<Record<string, Tool>> {
  const { tool, jsonSchema } = await import('ai');
  const bridge = new ExpertBridge(runtime, options, 'agent-host');
  const tools: Record<string, Tool> = {};
  for (const fn of bridge.functions) {
    tools[fn.name] = tool({
      description: fn.description,
      inputSchema: jsonSchema<unknown>(toPlainJsonSchema(fn.inputSchema) as Parameters<typeof jsonSchema>[0]),
      needsApproval: async (input: unknown) => bridge.needsApproval(fn.name, input),
      execute: async (input: unknown) => bridge.runApproved(fn.name, input),
    }) as Tool;
  }
  return tools;
}
