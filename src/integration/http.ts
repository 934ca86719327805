import { BaseIntegration, IntegrationFailure, type HandlerInput } from './base.ts';
import { WRITE_CAPABILITIES } from '../governance/policy.ts';
import type { CallContext, ErrorCode, IntegrationContext } from './types.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type QueryValue = string | number | boolean | undefined | null;

export interface HttpRequest {
  method: HttpMethod;
  /** Path below the base URL, starting with `/`. */
  path: string;
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface HttpReply<T> {
  status: number;
  body: T;
  headers: Headers;
  provider_request_id: string | null;
  rate_limit_remaining: number | null;
  /** The opaque cursor of the next page, from the Link header or `cursorFrom()`. */
  next_cursor: string | null;
}

/** What a write would send: shown by `dry_run` and bound into confirmations. Secrets redacted. */
export interface RequestPreview {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

export interface ConnectionSettings {
  baseUrl: URL;
}

/**
 * The base for providers that speak HTTP, on seed 001's connector lifecycle under seed 003's
 * contract. Handlers normalize; the lifecycle steps do the raw work:
 *
 * - `connect(config)`: validate provider configuration (base URL) once, at construction;
 * - `auth(ctx)`: the request headers that authenticate one tenant's call;
 * - `fetch(input, request)`: the read path (pagination, rate limits, error mapping);
 * - `push(input, request)`: the write path: refused for read-only methods and integrations,
 *   and under `dry_run` it returns the exact request instead of sending it;
 * - `sync(input, request)`: one page of a polling sync from a cursor;
 * - `revoke(token)`: revoke a credential at the provider, when it supports that.
 *
 * The raw transport is private: nothing outside this class can send a request around them.
 */
export abstract class HttpIntegration extends BaseIntegration {
  /** The provider's public API root, used when the configuration names none. */
  protected abstract readonly defaultBaseUrl: string;
  /** Response header carrying the provider's request id. */
  protected readonly requestIdHeader: string = 'x-request-id';
  /** Response header carrying the remaining rate-limit budget. */
  protected readonly rateLimitHeader: string = 'x-ratelimit-remaining';

  private connection: ConnectionSettings | undefined;

  constructor(context: IntegrationContext) {
    super(context);
  }

  /** Validates and keeps the provider configuration. Called lazily, never at build time. */
  protected connect(config: Record<string, unknown>): ConnectionSettings {
    const configured = config['base_url'];
    const raw = typeof configured === 'string' && configured.length > 0 ? configured : this.defaultBaseUrl;
    let baseUrl: URL;
    try {
      baseUrl = new URL(raw.endsWith('/') ? raw : `${raw}/`);
    } catch {
      throw new IntegrationFailure('INTERNAL_ERROR', `provider ${this.context.provider}: base_url is not a URL`);
    }
    if (baseUrl.protocol !== 'https:' && baseUrl.protocol !== 'http:') {
      throw new IntegrationFailure('INTERNAL_ERROR', `provider ${this.context.provider}: base_url must be http or https`);
    }
    return { baseUrl };
  }

  /** Headers that authenticate a call; the default sends the tenant's secret as a bearer token. */
  protected auth(ctx: CallContext): Record<string, string> {
    if (!ctx.credential) {
      throw new IntegrationFailure('AUTH_REQUIRED', `no ${this.context.provider} credential is configured for this tenant`);
    }
    return { authorization: `Bearer ${ctx.credential.secret}` };
  }

  /** Revokes a credential at the provider. Providers without remote revocation return false. */
  async revoke(_token: string, _ctx: CallContext): Promise<boolean> {
    return false;
  }

  /** The read path. */
  protected async fetch<T>(input: HandlerInput, request: Omit<HttpRequest, 'method'> & { method?: 'GET' | 'POST' }): Promise<HttpReply<T>> {
    const prepared = this.prepare({ method: 'GET', ...request }, input);
    return this.send<T>(prepared, input.ctx);
  }

  /**
   * The write path. Refused for methods and integrations that may only read, whatever the
   * arguments; under `dry_run` nothing leaves the process and the preview is returned.
   */
  protected async push<T>(input: HandlerInput, request: HttpRequest): Promise<HttpReply<T> | { dry_run: true; preview: RequestPreview }> {
    const writes = input.spec.capabilities.some((c) => WRITE_CAPABILITIES.has(c) || c === 'import');
    if (input.ctx.classification === 'read_only' || !writes || input.spec.idempotency === 'safe_read') {
      throw new IntegrationFailure('READ_ONLY_VIOLATION', `${input.spec.method_id} may only read; the write was refused`);
    }
    const prepared = this.prepare(request, input);
    if (input.dry_run) return { dry_run: true, preview: prepared.preview };
    return this.send<T>(prepared, input.ctx);
  }

  /** One page of a polling sync: the read path from a saved cursor (POST for search-style reads). */
  protected async sync<T>(input: HandlerInput, request: Omit<HttpRequest, 'method'> & { method?: 'GET' | 'POST' }): Promise<HttpReply<T>> {
    return this.fetch<T>(input, request);
  }

  /**
   * The next page's cursor. The default reads a Link header's rel="next" and keeps only its
   * query string, so a cursor can never point a request at another host.
   */
  protected cursorFrom(reply: { headers: Headers; body: unknown }): string | null {
    const link = reply.headers.get('link');
    const next = link?.split(',').find((part) => /rel="?next"?/.test(part));
    const target = next?.slice(next.indexOf('<') + 1, next.indexOf('>'));
    if (!target) return null;
    try {
      return Buffer.from(new URL(target).search.slice(1), 'utf8').toString('base64url');
    } catch {
      return null;
    }
  }

  /**
   * Applies a cursor made by `cursorFrom()` to the query of the next request. Parameters the
   * request sets itself win: a cursor moves through pages, it never widens or rescopes a query.
   */
  protected applyCursor(query: URLSearchParams, cursor: string): void {
    const decoded = new URLSearchParams(Buffer.from(cursor, 'base64url').toString('utf8'));
    for (const [key, value] of decoded) if (!query.has(key)) query.set(key, value);
  }

  /** Maps an HTTP failure to a closed error code. Override for provider-specific bodies. */
  protected failureFor(status: number, headers: Headers, body: unknown): IntegrationFailure {
    const detail = providerMessage(body);
    const options = { http_status: status, provider_code: providerCode(body) ?? String(status) };
    const code = statusCode(status, headers, this.rateLimitHeader);
    const retriable = code === 'RATE_LIMITED' || code === 'PROVIDER_UNAVAILABLE' || code === 'TIMEOUT';
    return new IntegrationFailure(code, `${this.context.provider} answered ${status}${detail ? `: ${detail}` : ''}`, {
      ...options,
      retriable,
      retry_after_ms: retryAfterMs(headers.get('retry-after')),
    });
  }

  private settings(): ConnectionSettings {
    return (this.connection ??= this.connect(this.context.config));
  }

  private prepare(request: HttpRequest, input: HandlerInput): { url: URL; init: RequestInit; preview: RequestPreview } {
    if (!request.path.startsWith('/') || request.path.startsWith('//') || request.path.includes('\\')) {
      throw new IntegrationFailure('INTERNAL_ERROR', 'request paths must be relative to the base URL');
    }
    // `.`/`..` segments (also percent-encoded) from arguments would climb above the base URL's path.
    if (request.path.split('/').some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment))) {
      throw new IntegrationFailure('VALIDATION_FAILED', 'a path segment of the request is `.` or `..`');
    }
    const { baseUrl } = this.settings();
    // `./` keeps a first segment with a colon from being read as a URL scheme.
    const url = new URL(`./${request.path.slice(1)}`, baseUrl);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    if (input.cursor) this.applyCursor(url.searchParams, input.cursor);
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers, ...this.auth(input.ctx) };
    if (request.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    const init: RequestInit = { method: request.method, headers, signal: input.ctx.signal, redirect: 'error' };
    if (request.body !== undefined) init.body = JSON.stringify(request.body);
    const shown = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, /^(authorization|cookie|x-api-key)$/i.test(k) ? '[redacted]' : v]));
    return { url, init, preview: { method: request.method, url: url.href, headers: shown, body: request.body ?? null } };
  }

  async #transport(url: URL, init: RequestInit, ctx: CallContext): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (error) {
      if (ctx.signal.aborted) throw new IntegrationFailure('TIMEOUT', `${this.context.provider} did not answer in time`, { retriable: true });
      throw new IntegrationFailure('PROVIDER_UNAVAILABLE', `${this.context.provider} could not be reached`, { retriable: true });
    }
  }

  private async send<T>(prepared: { url: URL; init: RequestInit }, ctx: CallContext): Promise<HttpReply<T>> {
    const response = await this.#transport(prepared.url, prepared.init, ctx);
    let text: string;
    try {
      text = await response.text();
    } catch {
      throw new IntegrationFailure(ctx.signal.aborted ? 'TIMEOUT' : 'PROVIDER_UNAVAILABLE', `${this.context.provider} broke off its answer`, { retriable: true });
    }
    let body: unknown = text;
    if (text.length > 0 && /json/i.test(response.headers.get('content-type') ?? 'application/json')) {
      try {
        body = JSON.parse(text);
      } catch {
        if (response.ok) throw new IntegrationFailure('PROVIDER_ERROR', `${this.context.provider} answered with malformed JSON`, { http_status: response.status });
      }
    }
    if (!response.ok) throw this.failureFor(response.status, response.headers, body);
    const remaining = response.headers.get(this.rateLimitHeader);
    const reply = {
      status: response.status,
      body: body as T,
      headers: response.headers,
      provider_request_id: response.headers.get(this.requestIdHeader),
      rate_limit_remaining: remaining !== null && Number.isFinite(Number(remaining)) ? Number(remaining) : null,
      next_cursor: null as string | null,
    };
    reply.next_cursor = this.cursorFrom(reply);
    return reply;
  }
}

function statusCode(status: number, headers: Headers, rateLimitHeader: string): ErrorCode {
  if (status === 401) return 'AUTH_REQUIRED';
  if (status === 403) return headers.get(rateLimitHeader) === '0' ? 'RATE_LIMITED' : 'AUTH_FORBIDDEN';
  if (status === 404 || status === 410) return 'NOT_FOUND';
  if (status === 409 || status === 412) return 'CONFLICT';
  if (status === 400 || status === 422) return 'VALIDATION_FAILED';
  if (status === 408 || status === 504) return 'TIMEOUT';
  if (status === 429) return 'RATE_LIMITED';
  if (status >= 500) return 'PROVIDER_UNAVAILABLE';
  return 'PROVIDER_ERROR';
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function providerMessage(body: unknown): string | undefined {
  return firstString(body, ['message', 'error_description', 'error'], 200);
}

function providerCode(body: unknown): string | undefined {
  return firstString(body, ['code', 'error', 'category'], 100);
}

/** The first of `keys` that holds a string in a JSON error body, cut to `max` characters. */
function firstString(body: unknown, keys: readonly string[], max: number): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const key = keys.find((k) => typeof record[k] === 'string');
  return key === undefined ? undefined : (record[key] as string).slice(0, max);
}
