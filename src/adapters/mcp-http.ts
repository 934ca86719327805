import { createHash, timingSafeEqual } from 'node:crypto';
import {
  createMcpHandler,
  hostHeaderValidationResponse,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  originValidationResponse,
} from '@modelcontextprotocol/server';
import type { Runtime } from '../runtime/runtime.ts';
import { McpBridge, type McpAdapterOptions } from './mcp.ts';

/** Options of the Streamable HTTP endpoint. */
export interface McpHttpOptions extends McpAdapterOptions {
  /**
   * Host names (no port) the `Host` header may name, and that an `Origin` header may come from.
   * Default: the loopback names (`localhost`, `127.0.0.1`, `[::1]`), which stops DNS rebinding.
   */
  allowedHostnames?: string[];
  /** When set, every request must carry `Authorization: Bearer <token>` (compared in constant time). */
  bearerToken?: string;
}

/**
 * A stateless Streamable HTTP endpoint for one expert, as a web-standard fetch handler
 * (`Request` → `Response`): the Host header must name an allowed host, a present Origin header
 * must be an allowed origin (403 otherwise), and a configured bearer token must match (401).
 * Each request gets a fresh server; pending approvals are shared across them. Given an
 * `McpBridge`, it serves that bridge (the adapter options of `options` are then not used).
 *
 * @throws AdapterError when the expert is unknown.
 */
export function mcpHttpHandler(runtime: Runtime | McpBridge, options: McpHttpOptions): (request: Request) => Promise<Response> {
  const bridge = runtime instanceof McpBridge ? runtime : new McpBridge(runtime, options);
  const handler = createMcpHandler(bridge.factory());
  const hosts = options.allowedHostnames ?? localhostAllowedHostnames();
  const origins = options.allowedHostnames ? [...options.allowedHostnames, ...localhostAllowedOrigins()] : localhostAllowedOrigins();
  const expected = options.bearerToken === undefined ? undefined : digest(options.bearerToken);
  return async (request) => {
    const refused = hostHeaderValidationResponse(request, hosts) ?? originValidationResponse(request, origins);
    if (refused) return refused;
    if (expected && !authorized(request.headers.get('authorization'), expected)) {
      return Response.json(
        { jsonrpc: '2.0', error: { code: -32001, message: 'Unauthorized: send Authorization: Bearer <token>' }, id: null },
        { status: 401, headers: { 'www-authenticate': 'Bearer' } },
      );
    }
    return handler.fetch(request);
  };
}

function authorized(header: string | null, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), expected);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
