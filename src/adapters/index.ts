/**
 * `botc/adapters`: serve one expert of a loaded bundle to the agent runtimes people use,
 * keeping the runtime's governance on every call. Named exports only.
 */
export { forModel, CONFIRMATION_TOKEN_PREFIX } from './result.ts';
export { AdapterError, IMPORTED_RECORDS_FUNCTION, type AdapterOptions } from './core.ts';
export { openaiAgentsTools } from './openai-agents.ts';
export { aiSdkTools } from './ai-sdk.ts';
export { mcpServer, McpBridge, type McpAdapterOptions } from './mcp.ts';
export { mcpHttpHandler, type McpHttpOptions } from './mcp-http.ts';
