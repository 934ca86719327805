import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the fake provider received it. The authorization value is never kept. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased request headers, without `authorization`. */
  headers: Record<string, string>;
  /** How the request authenticated: no header, the expected token, or something else. */
  auth: 'missing' | 'valid' | 'invalid';
  /** The parsed JSON body, the raw text when it is not JSON, or null when empty. */
  body: unknown;
}

/** What a route answers. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/**
 * A one-shot behaviour for the next request: an answer instead of the route's (`reply`),
 * no answer at all (`hang`), or the normal answer after a delay (`slow`).
 */
export type Fault = { kind: 'reply'; reply: Reply } | { kind: 'hang' } | { kind: 'slow'; ms: number };

export interface FakeServerOptions {
  /** The credential the server accepts, checked by `authenticate`. */
  token: string;
  /** Extracts the token from the Authorization header (`null`: no usable header). */
  authenticate?: (authorization: string | undefined) => string | null;
}

export type Route = (request: RecordedRequest, server: FakeServer) => Reply;

const bearer = (authorization: string | undefined): string | null => {
  const match = /^(?:Bearer|token)\s+(\S+)$/i.exec(authorization ?? '');
  return match ? match[1]! : null;
};

/**
 * A real `node:http` server on 127.0.0.1 (port 0) standing in for a provider API. Provider
 * modules give it a route; tests queue faults and read `requests`.
 */
export class FakeServer {
  readonly requests: RecordedRequest[] = [];
  private readonly faults: Fault[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private server: Server | undefined;
  private serial = 0;
  baseUrl = '';

  constructor(
    private readonly route: Route,
    readonly options: FakeServerOptions,
  ) {}

  /** Starts listening and returns the base URL (`http://127.0.0.1:<port>`). */
  async start(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  /** Stops the server, dropping hanging requests and open connections. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Headers sent on every answer (request ids, rate-limit budget); `serial` counts from 1. */
  protected commonHeaders(_request: RecordedRequest, _serial: number): Record<string, string> {
    return {};
  }

  /** Queues faults for the next requests, one each, in order. */
  next(...faults: Fault[]): this {
    this.faults.push(...faults);
    return this;
  }

  /** The next request gets this status (and headers/body) instead of the route's answer. */
  failNext(status: number, options: { headers?: Record<string, string>; body?: unknown } = {}): this {
    return this.next({ kind: 'reply', reply: { status, ...options } });
  }

  /** The next request is never answered. */
  hangNext(): this {
    return this.next({ kind: 'hang' });
  }

  /** The next request is answered normally after `ms`. */
  slowNext(ms: number): this {
    return this.next({ kind: 'slow', ms });
  }

  /** Forgets recorded requests and queued faults. */
  reset(): void {
    this.requests.length = 0;
    this.faults.length = 0;
  }

  /** Requests whose path is `path`. */
  received(path?: string): RecordedRequest[] {
    return path === undefined ? [...this.requests] : this.requests.filter((r) => r.path === path);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers)) {
      if (key === 'authorization' || value === undefined) continue;
      headers[key] = Array.isArray(value) ? value.join(', ') : value;
    }
    const token = (this.options.authenticate ?? bearer)(req.headers.authorization);
    let body: unknown = null;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      auth: req.headers.authorization === undefined ? 'missing' : token === this.options.token ? 'valid' : 'invalid',
      body,
    };
    this.requests.push(recorded);
    const serial = ++this.serial;
    const fault = this.faults.shift();
    if (fault?.kind === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (fault?.kind === 'slow') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, fault.ms);
        this.timers.add(timer);
      });
      if (res.destroyed) return;
    }
    let reply: Reply;
    try {
      reply = fault?.kind === 'reply' ? fault.reply : this.route(recorded, this);
    } catch (error) {
      reply = { status: 500, body: { message: `fake server route failed: ${(error as Error).message}` } };
    }
    const common = this.commonHeaders(recorded, serial);
    const out: Record<string, string> = { ...common, ...reply.headers };
    let payload = '';
    if (reply.body !== undefined) {
      payload = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      out['content-type'] ??= 'application/json; charset=utf-8';
    }
    res.writeHead(reply.status, out);
    res.end(payload);
  }
}

/**
 * Provider configuration for a fake server on loopback: its `base_url`, plus the documented
 * opt-ins a deployment would need to reach such an address (`allowed_hosts` for a host the
 * integration does not declare, `allow_private_network` for a loopback address). Production
 * defaults refuse both.
 */
export function loopbackConfig(baseUrl: string): { base_url: string; allowed_hosts: string; allow_private_network: true } {
  return { base_url: baseUrl, allowed_hosts: new URL(baseUrl).hostname, allow_private_network: true };
}

/** The same opt-ins as environment variables for `botc call` (`BOTC_PROVIDER_<PROVIDER>_<KEY>`). */
export function loopbackEnv(provider: string, baseUrl: string): Record<string, string> {
  const prefix = `BOTC_PROVIDER_${provider.toUpperCase()}_`;
  return { [`${prefix}BASE_URL`]: baseUrl, [`${prefix}ALLOWED_HOSTS`]: new URL(baseUrl).hostname, [`${prefix}ALLOW_PRIVATE_NETWORK`]: 'true' };
}

/** Starts a fake server; `stop()` it in `afterAll`. */
export async function startFake<S extends FakeServer>(server: S): Promise<S> {
  await server.start();
  return server;
}
