import { randomBytes, randomUUID } from 'node:crypto';
import {
  acceptedContent,
  createRequestStateCodec,
  fromJsonSchema,
  inputRequired,
  McpServer,
  type CallToolResult,
  type jsonSchemaValidator,
  type JsonSchemaValidator,
  type McpRequestContext,
  type ServerContext,
  type StandardSchemaWithJSON,
} from '@modelcontextprotocol/server';
import { mcpTool } from '../agents/export.ts';
import type { AgentFunction } from '../agents/functions.ts';
import type { IntegrationResult } from '../integration/types.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { ExpertBridge, isObject, pendingConfirmation, type AdapterOptions, type PendingConfirmation } from './core.ts';
import { forModel } from './result.ts';

/** Options of the MCP adapter. */
export interface McpAdapterOptions extends AdapterOptions {
  /**
   * Ask the person through MCP elicitation when the client supports it (default true). Off, or
   * with a client that cannot elicit, an outbound write answers CONFIRMATION_REQUIRED (without
   * its token) and a person approves it out of band with `botc confirm`.
   */
  elicitation?: boolean;
  /**
   * The key (at least 32 bytes) that signs the `requestState` of an elicitation round trip.
   * Default: random per process, which suits one process serving every round (stdio, or one
   * HTTP server).
   */
  stateKey?: Uint8Array | string;
}

/** What the signed `requestState` of an elicitation round carries: a handle, never the token. */
interface ApprovalState {
  /** A random handle of the pending confirmation kept on the server. */
  h: string;
  /** The function the approval belongs to. */
  f: string;
}

interface Pending {
  confirmation: PendingConfirmation;
  fn: string;
  expires: number;
}

/** What `registerTool` takes for one function. */
interface ToolConfig {
  description: string;
  inputSchema: StandardSchemaWithJSON;
  outputSchema?: StandardSchemaWithJSON;
  annotations: Record<string, boolean>;
}

/** The elicitation field a person answers. */
const APPROVE = 'approve';
/** Keeps the table of pending approvals bounded even when clients never come back. */
const MAX_PENDING = 1000;

/**
 * The runtime's own validation is the one that counts (the method's real input schema after the
 * reverse mapping, and the output schema): the SDK advertises the schemas but does not validate
 * a second time, so a bad input comes back as botc's VALIDATION_FAILED result.
 */
const RUNTIME_VALIDATES: jsonSchemaValidator = {
  getValidator<T>() {
    const accept = (input: unknown) => ({ valid: true as const, data: input, errorMessage: undefined });
    return accept as JsonSchemaValidator<T>;
  },
};

/**
 * Serves one expert with the official MCP TypeScript SDK (v2). `build()` makes one `McpServer`;
 * every server of one `McpBridge` shares the pending approvals and the state key, as a stateless
 * HTTP endpoint needs (one server per request).
 */
export class McpBridge {
  readonly expert: ExpertBridge;
  private readonly pending = new Map<string, Pending>();
  private readonly codec;
  private readonly elicitation: boolean;

  constructor(runtime: Runtime, options: McpAdapterOptions) {
    this.expert = new ExpertBridge(runtime, options, 'mcp-client');
    this.elicitation = options.elicitation ?? true;
    this.codec = createRequestStateCodec<ApprovalState>({ key: options.stateKey ?? randomBytes(32), ttlSeconds: 15 * 60 });
    // Built once: a stateless HTTP endpoint builds a server per request.
    this.tools = this.expert.functions.map((fn) => {
      const described = mcpTool(fn) as { inputSchema: Record<string, unknown>; outputSchema?: Record<string, unknown>; annotations: Record<string, boolean> };
      const config = {
        description: fn.description,
        inputSchema: fromJsonSchema(described.inputSchema as never, RUNTIME_VALIDATES),
        ...(described.outputSchema ? { outputSchema: fromJsonSchema(described.outputSchema as never, RUNTIME_VALIDATES) } : {}),
        annotations: described.annotations,
      };
      return { fn, config };
    });
  }

  private readonly tools: { fn: AgentFunction; config: ToolConfig }[];

  /**
   * One server. `canElicit: false` keeps it from asking the person in-band (a 2025-era request
   * on stateless HTTP cannot receive the client's answer).
   */
  build(canElicit = true): McpServer {
    const { bundle, expert } = this.expert;
    const server = new McpServer(
      { name: `botc-${bundle.bot.id}-${expert.name}`.slice(0, 100), version: bundle.bot.version },
      {
        instructions: expert.system_prompt,
        jsonSchemaValidator: RUNTIME_VALIDATES,
        requestState: { verify: (state: string, ctx: ServerContext) => this.codec.verify(state, ctx) },
      },
    );
    for (const { fn, config } of this.tools) {
      server.registerTool(fn.name, config as never, (async (args: unknown, ctx: ServerContext) => this.handle(server, fn, args, ctx, canElicit)) as never);
    }
    server.registerPrompt(expert.name, { description: expert.description }, () => ({
      description: expert.description,
      messages: [{ role: 'user' as const, content: { type: 'text' as const, text: expert.system_prompt } }],
    }));
    return server;
  }

  /** A factory for `createMcpHandler` / `serveStdio`: in-band approval only where the answer can come back. */
  factory(): (ctx: McpRequestContext) => McpServer {
    return (ctx) => this.build(ctx.era === 'modern' || ctx.requestInfo === undefined);
  }

  private async handle(server: McpServer, fn: AgentFunction, args: unknown, ctx: ServerContext, canElicit: boolean): Promise<CallToolResult> {
    const state = ctx.mcpReq.requestState<ApprovalState>();
    if (state !== undefined) return this.resume(fn, state, ctx);
    const result = await this.expert.run(fn.name, args);
    const pending = pendingConfirmation(result);
    if (pending && this.elicitation && canElicit && clientCanElicit(server)) return this.ask(fn, result, pending, ctx);
    return toolResult(fn, result);
  }

  /** Keeps the token here and asks the person; the client echoes a signed handle back. */
  private async ask(fn: AgentFunction, result: IntegrationResult, pending: PendingConfirmation, ctx: ServerContext): Promise<CallToolResult> {
    this.prune();
    const handle = randomUUID();
    this.pending.set(handle, { confirmation: pending, fn: fn.name, expires: Date.parse(pending.expires_at) });
    const requestState = await this.codec.mint({ h: handle, f: fn.name }, ctx);
    const message = result.ok ? '' : result.error.message;
    return inputRequired({
      inputRequests: {
        [APPROVE]: inputRequired.elicit({
          message: `${message}\n\nThis request would be sent:\n${JSON.stringify(pending.preview, null, 2)}\n\nSend it?`,
          requestedSchema: {
            type: 'object',
            properties: { [APPROVE]: { type: 'boolean', title: 'Send this request', description: 'Yes sends it now; no drops it.' } },
            required: [APPROVE],
          },
        }),
      },
      requestState,
    }) as unknown as CallToolResult;
  }

  private async resume(fn: AgentFunction, state: ApprovalState, ctx: ServerContext): Promise<CallToolResult> {
    const pending = isObject(state) && typeof state.h === 'string' ? this.pending.get(state.h) : undefined;
    if (!pending || pending.fn !== fn.name || state.f !== fn.name || pending.expires <= Date.now()) {
      return errorToolResult('CONFIRMATION_REQUIRED', 'this approval is unknown, used or expired; call the tool again to preview the request');
    }
    this.pending.delete(state.h);
    const answer = acceptedContent(ctx.mcpReq.inputResponses, APPROVE);
    if (answer?.[APPROVE] !== true) {
      // The decision is recorded: the confirmation can no longer be approved out of band either.
      await this.expert.reject(pending.confirmation, 'declined through MCP elicitation');
      return errorToolResult('CONFIRMATION_REQUIRED', 'the person did not approve the request; nothing was sent');
    }
    return toolResult(fn, await this.expert.confirm(pending.confirmation));
  }

  private prune(): void {
    const now = Date.now();
    for (const [handle, entry] of this.pending) if (entry.expires <= now) this.pending.delete(handle);
    while (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
  }
}

/**
 * The MCP server of one expert (`@modelcontextprotocol/server` 2.x), as `botc serve mcp` runs it:
 * tools from the expert's functions with annotations from the bundle, `structuredContent` (with
 * `outputSchema` in the `methods` style), errors as `isError` results whose `structuredContent`
 * is `{code, message, retriable}`, the system prompt as `instructions` and as a prompt named
 * after the expert. An outbound write asks the person through elicitation when the client
 * supports it; the token stays on the server and the signed `requestState` holds only a handle.
 *
 * @throws AdapterError when the expert is unknown.
 */
export function mcpServer(runtime: Runtime, options: McpAdapterOptions): McpServer {
  return new McpBridge(runtime, options).build();
}

function clientCanElicit(server: McpServer): boolean {
  const elicitation = server.server.getClientCapabilities()?.elicitation;
  if (!isObject(elicitation)) return false;
  // An empty capability means form mode (the only mode used here).
  return Object.keys(elicitation).length === 0 || 'form' in elicitation;
}

/** An IntegrationResult as an MCP tool result; only what a model may see. */
export function toolResult(fn: AgentFunction, raw: IntegrationResult): CallToolResult {
  const result = forModel(raw);
  if (!result.ok) {
    const error = { code: result.error.code, message: outOfBand(result), retriable: result.error.retriable };
    return { isError: true, structuredContent: error, content: [{ type: 'text', text: JSON.stringify({ ...error, meta: result.meta }) }] };
  }
  const structured = isObject(result.data) ? result.data : { value: result.data };
  const text = JSON.stringify(fn.outputSchema ? result.data : { data: result.data, meta: result.meta });
  return { structuredContent: structured, content: [{ type: 'text', text }], _meta: { 'botc/meta': result.meta } };
}

/** The error message, with how a person approves a write the client could not ask about. */
function outOfBand(result: IntegrationResult & { ok: false }): string {
  if (result.error.code !== 'CONFIRMATION_REQUIRED') return result.error.message;
  const confirmation = result.meta['confirmation'];
  if (!isObject(confirmation)) return result.error.message;
  const id = typeof confirmation['id'] === 'string' ? confirmation['id'] : '<id from `botc confirm list`>';
  return `${result.error.message}. Nothing is sent until a person approves it out of band: \`botc confirm approve ${id} --approver NAME\`.`;
}

function errorToolResult(code: string, message: string): CallToolResult {
  const error = { code, message, retriable: false };
  return { isError: true, structuredContent: error, content: [{ type: 'text', text: JSON.stringify(error) }] };
}
