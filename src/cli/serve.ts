import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { TOOL_STYLES, type ToolStyle } from '../agents/functions.ts';
import { AdapterError } from '../adapters/core.ts';
import { McpBridge } from '../adapters/mcp.ts';
import { mcpHttpHandler } from '../adapters/mcp-http.ts';
import { withRuntime } from './call.ts';
import type { Io } from './io.ts';
import { untilStopped } from './signals.ts';
import { UsageError } from './usage.ts';

const SERVE_OPTIONS = {
  root: { type: 'string' },
  tenant: { type: 'string', default: 'default' },
  credentials: { type: 'string' },
  state: { type: 'string' },
  approver: { type: 'string' },
  expert: { type: 'string' },
  style: { type: 'string', default: 'envelope' },
  http: { type: 'string' },
} as const;

/** The largest request body the HTTP endpoint reads (bytes); larger ones get 413. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * `botc serve mcp <bundle> --expert E [--http HOST:PORT]`: one expert as an MCP server, over
 * stdio (default) or stateless Streamable HTTP at `/mcp`. HTTP binds loopback unless told
 * otherwise; a non-loopback bind needs BOTC_MCP_TOKEN, which every request must then send as a
 * bearer token. Runs until stdin closes (stdio) or SIGINT/SIGTERM.
 */
export async function runServe(argv: string[], io: Io): Promise<number> {
  const [kind, ...rest] = argv;
  if (kind === 'webhooks') return (await import('./inbound.ts')).runServeWebhooks(rest, io);
  if (kind !== 'mcp') throw new UsageError('botc serve mcp <bundle> --expert E [--http HOST:PORT] [--tenant T] [--style S] [--root DIR] [--state URL]');
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: SERVE_OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError('botc serve mcp takes one bundle path');
  if (!(TOOL_STYLES as readonly string[]).includes(values.style)) throw new UsageError(`--style must be envelope or methods, not \`${values.style.slice(0, 40)}\``);
  const style = values.style as ToolStyle;
  const bind = values.http === undefined ? undefined : parseBind(values.http);
  const token = io.env.BOTC_MCP_TOKEN || undefined;
  if (bind && !isLoopback(bind.host) && token === undefined) {
    throw new UsageError(`--http ${values.http} is not a loopback address: set BOTC_MCP_TOKEN so every request must carry it as a bearer token`);
  }
  if (token !== undefined && token.length < 16) throw new UsageError('BOTC_MCP_TOKEN must be at least 16 characters');
  const allowed = bind ? allowedHosts(bind.host, io.env.BOTC_MCP_ALLOWED_HOSTS) : undefined;
  const adapter = {
    ...(values.expert !== undefined ? { expert: values.expert } : {}),
    tenant: values.tenant,
    style,
    ...(values.approver !== undefined ? { approver: values.approver } : {}),
  };
  return withRuntime(positionals[0]!, values, io, async (runtime) => {
    const bridge = adapterFor(() => new McpBridge(runtime, adapter));
    if (!bind) {
      io.stderr(`botc: serving expert ${bridge.expert.expert.name} of ${runtime.bundle.bot.id} over stdio\n`);
      const handle = serveStdio(bridge.factory(), { onerror: (error) => io.stderr(`botc: mcp: ${error.message}\n`) });
      await untilStopped(process.stdin);
      await handle.close();
      return 0;
    }
    const handler = mcpHttpHandler(bridge, {
      ...(allowed ? { allowedHostnames: allowed } : {}),
      ...(token !== undefined ? { bearerToken: token } : {}),
    });
    const server = await listenMcpHttp(handler, bind.host, bind.port);
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : bind.port;
    io.stderr(`botc: serving ${runtime.bundle.bot.id} at http://${bind.host.includes(':') ? `[${bind.host}]` : bind.host}:${port}/mcp\n`);
    await untilStopped();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return 0;
  });
}

/** Creates the adapter; a refused configuration (unknown expert, no approver) is the user's mistake. */
function adapterFor(create: () => McpBridge): McpBridge {
  try {
    return create();
  } catch (error) {
    if (error instanceof AdapterError) {
      throw new UsageError(error.message, 'pass --approver NAME, or set "runtime": {"any_approver": true} in botc.config.json to let any person of the tenant approve');
    }
    throw error;
  }
}

/** `HOST:PORT`, `[v6]:PORT` or `PORT` (loopback). */
export function parseBind(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))?:?(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new UsageError(`--http takes HOST:PORT (for example 127.0.0.1:8765), not \`${text.slice(0, 60)}\``);
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}

/**
 * The names the Host header may carry: the loopback names for a loopback bind (the SDK's
 * default), else the bound address and BOTC_MCP_ALLOWED_HOSTS (comma-separated). A wildcard bind
 * has no name of its own, so it needs the list.
 */
function allowedHosts(host: string, extra: string | undefined): string[] | undefined {
  const listed = (extra ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  if (isLoopback(host)) return listed.length > 0 ? ['localhost', '127.0.0.1', '[::1]', ...listed] : undefined;
  const own = host === '0.0.0.0' || host === '::' ? [] : [host.includes(':') ? `[${host}]` : host];
  const names = [...own, ...listed];
  if (names.length === 0) throw new UsageError(`--http ${host} binds every address: set BOTC_MCP_ALLOWED_HOSTS to the host names clients use (the Host header is checked against them)`);
  return names;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * Serves a fetch-style MCP handler over `node:http` at `/mcp`; resolves once listening. Requests
 * are read whole (at most 4 MiB) before the handler sees them; responses are streamed.
 */
export function listenMcpHttp(handler: (request: Request) => Promise<Response>, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    serveOne(handler, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

async function serveOne(handler: (request: Request) => Promise<Response>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://botc.invalid');
  if (url.pathname !== '/mcp') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the MCP endpoint is /mcp\n');
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('request body too large\n');
      req.destroy();
      return;
    }
    chunks.push(chunk);
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  const method = req.method ?? 'GET';
  const request = new Request(new URL(url.pathname + url.search, `http://${req.headers.host ?? 'localhost'}`), {
    method,
    headers,
    signal: abort.signal,
    ...(method === 'GET' || method === 'HEAD' ? {} : { body: Buffer.concat(chunks) }),
  });
  const response = await handler(request);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) {
    res.end();
    return;
  }
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
  res.end();
}

