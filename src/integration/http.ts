// Over 300 lines: HttpIntegration is one class (request building, the read-only rule, redaction, capped streaming, status mapping); the helpers below are private to it.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import Link from 'http-link-header';
import { BaseIntegration, IntegrationFailure, type HandlerInput } from './base.ts';
import { WRITE_CAPABILITIES } from '../governance/policy.ts';
import { AddressRefused, addressRefusal, guardedLookup, hostAllowed } from './network.ts';
import type { CallContext, ErrorCode, IntegrationContext } from './types.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** One query value; `undefined` and `null` leave the key out. */
export type QueryScalar = string | number | boolean | undefined | null;
/** A query value: a scalar, or a list sent in the request's `QueryArrayStyle` (empty list: key left out). */
export type QueryValue = QueryScalar | readonly QueryScalar[];

/**
 * How a list in the query is written:
 * - `repeat` (default): the key once per item, `status=a&status=b`;
 * - `brackets`: the key with `[]` once per item, `statuses[]=a&statuses[]=b` (Rails, PHP);
 * - `comma`: one key with the items joined by commas, `labels=a,b`.
 * Keys and values are form-encoded on the wire (`[]` travels as `%5B%5D`).
 */
export type QueryArrayStyle = 'repeat' | 'brackets' | 'comma';

export interface HttpRequest {
  method: HttpMethod;
  /** Path below the base URL, starting with `/`. */
  path: string;
  query?: Record<string, QueryValue>;
  /** How lists in `query` are written; defaults to the integration's `queryArrayStyle`. */
  arrayStyle?: QueryArrayStyle;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * The most bytes this method's answer may have, when it differs from the integration's
   * `maxResponseBytes`. A provider configuration's `max_response_bytes` still caps it.
   */
  maxResponseBytes?: number;
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

/**
 * What a write would send: shown by `dry_run` and bound into confirmations. The tenant's
 * secret is replaced by `[redacted]` wherever it appears (headers, URL, body; raw,
 * percent-encoded and base64), and so is every header or query parameter the integration
 * declares sensitive (plus `STANDARD_SENSITIVE_HEADERS`).
 */
export interface RequestPreview {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** The provider configuration the transport works with, checked once by `connect()`. */
export interface ConnectionSettings {
  baseUrl: URL;
  /** Hosts requests may go to: the integration's `allowedHosts` plus the configuration's `allowed_hosts`. */
  allowedHosts: readonly string[];
  /** `allow_private_network`: loopback and private ranges may be reached. */
  allowPrivateNetwork: boolean;
  /** `max_response_bytes`, when the configuration sets it. */
  maxResponseBytes: number | null;
}

/** Header names whose values every preview hides, whatever the integration declares. */
export const STANDARD_SENSITIVE_HEADERS: readonly string[] = [
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key',
  'x-auth-token', 'x-access-token', 'private-token',
];

/** The response body limit when neither the integration nor the configuration sets one: 10 MiB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

const REDACTED = '[redacted]';

// No keep-alive: a pooled socket would skip the address check of the next connection.
const HTTP_AGENT = new HttpAgent({ keepAlive: false });
const HTTPS_AGENT = new HttpsAgent({ keepAlive: false });

/**
 * The base for providers that speak HTTP, on a connector lifecycle under the integration
 * contract of types.ts. Handlers normalize; the lifecycle steps do the raw work:
 *
 * - `connect(config)`: validate provider configuration (base URL, allowed hosts) once;
 * - `auth(ctx)`: the request headers that authenticate one tenant's call;
 * - `fetch(input, request)`: the read path: GET and HEAD only, POST only for methods the
 *   integration lists in `readViaPost` (pagination, rate limits, error mapping);
 * - `push(input, request)`: the write path: refused for read-only methods and integrations,
 *   and under `dry_run` it returns the exact request (secrets redacted) instead of sending it;
 * - `sync(input, request)`: one page of a polling sync from a cursor (the read path);
 * - `revoke(token)`: revoke a credential at the provider, when it supports that.
 *
 * The raw transport is private: nothing outside this class can send a request around them.
 * Every request goes to an allowed host over a checked address, and every answer is read
 * with a byte limit (docs/security.md, "The HTTP base and providers").
 */
export abstract class HttpIntegration extends BaseIntegration {
  /** The provider's public API root, used when the configuration names none. */
  protected abstract readonly defaultBaseUrl: string;
  /**
   * Hosts this provider's API lives on: exact names or `*.example.com`. Undefined: the host
   * of `defaultBaseUrl` only. A configured `base_url` elsewhere needs the deployment to add
   * its host with the provider configuration's `allowed_hosts`.
   */
  protected readonly allowedHosts: readonly string[] | undefined = undefined;
  /** Request headers (besides `STANDARD_SENSITIVE_HEADERS`) whose values previews hide. */
  protected readonly sensitiveHeaders: readonly string[] = [];
  /** Query parameters whose values previews hide. */
  protected readonly sensitiveQueryParams: readonly string[] = [];
  /** Most bytes of an answer body; more aborts the read with PROVIDER_ERROR. */
  protected readonly maxResponseBytes: number = DEFAULT_MAX_RESPONSE_BYTES;
  /** How lists in a query are written unless a request says otherwise. */
  protected readonly queryArrayStyle: QueryArrayStyle = 'repeat';
  /**
   * Method ids whose reads are POST requests (search endpoints that take their query in a
   * body). Only these may POST through `fetch`/`sync`, and only when they have no write
   * capability; the declaration is part of the module source that the bundle pins.
   */
  protected readonly readViaPost: readonly string[] = [];
  /** Response header carrying the provider's request id. */
  protected readonly requestIdHeader: string = 'x-request-id';
  /** Response header carrying the remaining rate-limit budget; `0` on a 403 answer is a rate limit. */
  protected readonly rateLimitHeader: string = 'x-ratelimit-remaining';
  /** Phrases (case-insensitive) in a 4xx error message that mean a rate limit. */
  protected readonly rateLimitMarkers: readonly string[] = [];

  private connection: ConnectionSettings | undefined;

  constructor(context: IntegrationContext) {
    super(context);
  }

  /**
   * Validates and keeps the provider configuration. Called lazily, never at build time.
   * Settings: `base_url`, `allowed_hosts` (comma-separated hosts added to the integration's),
   * `allow_private_network` (`true` admits loopback and private addresses), and
   * `max_response_bytes` (a positive integer). A refused setting is INTERNAL_ERROR naming it.
   */
  protected connect(config: Record<string, unknown>): ConnectionSettings {
    const provider = this.context.provider;
    const refuse = (message: string) => new IntegrationFailure('INTERNAL_ERROR', `provider ${provider}: ${message}`);
    const configured = config['base_url'];
    const raw = typeof configured === 'string' && configured.length > 0 ? configured : this.defaultBaseUrl;
    let baseUrl: URL;
    try {
      baseUrl = new URL(raw.endsWith('/') ? raw : `${raw}/`);
    } catch {
      throw refuse('base_url is not a URL');
    }
    if (baseUrl.protocol !== 'https:' && baseUrl.protocol !== 'http:') throw refuse('base_url must be http or https');
    if (baseUrl.username !== '' || baseUrl.password !== '') {
      throw refuse('base_url must not carry credentials (user:password@); credentials come from the credential store');
    }
    const allowPrivateNetwork = flag(config['allow_private_network']);
    if (allowPrivateNetwork === undefined) throw refuse('allow_private_network must be true or false');
    const extra = hostList(config['allowed_hosts']);
    if (extra === undefined) throw refuse('allowed_hosts must be a comma-separated list of host names');
    const declared = this.allowedHosts ?? [hostOf(this.defaultBaseUrl)];
    const allowedHosts = [...declared, ...extra];
    if (!hostAllowed(baseUrl.hostname, allowedHosts)) {
      throw refuse(`base_url host ${baseUrl.hostname} is not an allowed host (${allowedHosts.join(', ') || 'none'}); add it to allowed_hosts in the provider configuration`);
    }
    const refusal = addressRefusal(baseUrl.hostname, allowPrivateNetwork);
    if (refusal) throw refuse(`base_url refused: ${refusal}`);
    const limit = config['max_response_bytes'];
    let maxResponseBytes: number | null = null;
    if (limit !== undefined) {
      maxResponseBytes = typeof limit === 'string' && /^\d+$/.test(limit.trim()) ? Number(limit) : typeof limit === 'number' ? limit : NaN;
      if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes < 1) throw refuse('max_response_bytes must be a positive integer');
    }
    return { baseUrl, allowedHosts, allowPrivateNetwork, maxResponseBytes };
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

  /**
   * The read path: GET (default) or HEAD. A POST is sent only for a method listed in
   * `readViaPost` that has no write capability; anything else is READ_ONLY_VIOLATION before
   * a byte leaves the process. `dry_run` does not change a read: it has no effect to preview.
   */
  protected async fetch<T>(input: HandlerInput, request: Omit<HttpRequest, 'method'> & { method?: 'GET' | 'HEAD' | 'POST' }): Promise<HttpReply<T>> {
    const method: HttpMethod = request.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      const declared = method === 'POST' && this.readViaPost.includes(input.spec.method_id);
      const writes = input.spec.capabilities.some((c) => WRITE_CAPABILITIES.has(c));
      if (!declared || writes) {
        throw new IntegrationFailure('READ_ONLY_VIOLATION', `${input.spec.method_id} sent ${method} through the read path; only GET and HEAD (and POST for methods declared in readViaPost) may read`);
      }
    }
    const prepared = this.prepare({ ...request, method }, input);
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

  /** One page of a polling sync: the read path from a saved cursor (POST only as `fetch` allows it). */
  protected async sync<T>(input: HandlerInput, request: Omit<HttpRequest, 'method'> & { method?: 'GET' | 'HEAD' | 'POST' }): Promise<HttpReply<T>> {
    return this.fetch<T>(input, request);
  }

  /**
   * The next page's cursor. The default reads the Link header (RFC 8288, parsed by
   * `http-link-header`), takes the target of rel="next" and keeps only its query string, so
   * a cursor can never point a request at another host. A Link header that does not parse
   * is PROVIDER_ERROR rather than a silent last page.
   */
  protected cursorFrom(reply: { headers: Headers; body: unknown }): string | null {
    const header = reply.headers.get('link');
    if (header === null || header.trim() === '') return null;
    let target: string | undefined;
    try {
      target = Link.parse(header).rel('next')[0]?.uri;
    } catch {
      throw new IntegrationFailure('PROVIDER_ERROR', `${this.context.provider} answered a Link header that is not valid RFC 8288`);
    }
    if (target === undefined) return null;
    let search: string;
    try {
      search = new URL(target, this.settings().baseUrl).search;
    } catch {
      throw new IntegrationFailure('PROVIDER_ERROR', `${this.context.provider} answered a rel="next" link that is not a URL`);
    }
    return Buffer.from(search.slice(1), 'utf8').toString('base64url');
  }

  /**
   * Applies a cursor made by `cursorFrom()` to the query of the next request. Parameters the
   * request sets itself win (all their values): a cursor moves through pages, it never
   * widens or rescopes a query. Repeated keys in the cursor keep every value.
   */
  protected applyCursor(query: URLSearchParams, cursor: string): void {
    const own = new Set(query.keys());
    const decoded = new URLSearchParams(Buffer.from(cursor, 'base64url').toString('utf8'));
    for (const [key, value] of decoded) if (!own.has(key)) query.append(key, value);
  }

  /**
   * Whether a 4xx answer is the provider's rate limit, and how long it asked to wait (`null`:
   * it did not say). The default: 429; a 403 with the budget header (`rateLimitHeader`) at `0`
   * or with a valid `Retry-After`; or an error message containing one of `rateLimitMarkers`.
   * Override to read a provider's own signals (a reset-time header, an error code).
   */
  protected rateLimitFor(status: number, headers: Headers, body: unknown): { retry_after_ms: number | null } | undefined {
    const retryAfter = retryAfterMs(headers.get('retry-after'));
    const exhausted = status === 403 && headers.get(this.rateLimitHeader)?.trim() === '0';
    const message = (errorMessage(body) ?? '').toLowerCase();
    const marked = this.rateLimitMarkers.some((marker) => message.includes(marker.toLowerCase()));
    if (status === 429 || exhausted || marked || (status === 403 && retryAfter !== null)) return { retry_after_ms: retryAfter };
    return undefined;
  }

  /** Maps an HTTP failure to a closed error code. Override for provider-specific bodies. */
  protected failureFor(status: number, headers: Headers, body: unknown): IntegrationFailure {
    const detail = providerMessage(body);
    const options = { http_status: status, provider_code: providerCode(body) ?? String(status) };
    const message = `${this.context.provider} answered ${status}${detail ? `: ${detail}` : ''}`;
    const limited = status >= 400 && status < 500 ? this.rateLimitFor(status, headers, body) : undefined;
    if (limited) return new IntegrationFailure('RATE_LIMITED', message, { ...options, retriable: true, retry_after_ms: limited.retry_after_ms });
    const code = statusCode(status);
    const retriable = code === 'PROVIDER_UNAVAILABLE' || code === 'TIMEOUT';
    return new IntegrationFailure(code, message, { ...options, retriable, retry_after_ms: retryAfterMs(headers.get('retry-after')) });
  }

  private settings(): ConnectionSettings {
    return (this.connection ??= this.connect(this.context.config));
  }

  private prepare(request: HttpRequest, input: HandlerInput): Prepared {
    if (!request.path.startsWith('/') || request.path.startsWith('//') || request.path.includes('\\')) {
      throw new IntegrationFailure('INTERNAL_ERROR', 'request paths must be relative to the base URL');
    }
    // `.`/`..` segments (also percent-encoded) from arguments would climb above the base URL's path.
    if (request.path.split('/').some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment))) {
      throw new IntegrationFailure('VALIDATION_FAILED', 'a path segment of the request is `.` or `..`');
    }
    const settings = this.settings();
    // `./` keeps a first segment with a colon from being read as a URL scheme.
    const url = new URL(`./${request.path.slice(1)}`, settings.baseUrl);
    if (url.origin !== settings.baseUrl.origin) throw new IntegrationFailure('INTERNAL_ERROR', 'request paths must stay on the base URL');
    appendQuery(url.searchParams, request.query ?? {}, request.arrayStyle ?? this.queryArrayStyle);
    if (input.cursor) this.applyCursor(url.searchParams, input.cursor);
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers, ...this.auth(input.ctx) };
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    if (body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    const limit = request.maxResponseBytes === undefined
      ? settings.maxResponseBytes ?? this.maxResponseBytes
      : Math.min(request.maxResponseBytes, settings.maxResponseBytes ?? Infinity);
    return {
      url, method: request.method, headers, body, limit, allowPrivateNetwork: settings.allowPrivateNetwork,
      preview: this.previewOf(url, request.method, headers, request.body, input.ctx),
    };
  }

  /**
   * The request as a person may see it: the tenant's secret replaced wherever it appears,
   * and the values of sensitive headers and query parameters hidden by name.
   */
  private previewOf(url: URL, method: HttpMethod, headers: Record<string, string>, body: unknown, ctx: CallContext): RequestPreview {
    const redact = redactor(ctx.credential?.secret);
    const hiddenHeaders = new Set([...STANDARD_SENSITIVE_HEADERS, ...this.sensitiveHeaders].map((h) => h.toLowerCase()));
    const shown = new URL(url.href);
    for (const name of this.sensitiveQueryParams) {
      if (!shown.searchParams.has(name)) continue;
      const count = shown.searchParams.getAll(name).length;
      shown.searchParams.delete(name);
      for (let i = 0; i < count; i += 1) shown.searchParams.append(name, REDACTED);
    }
    return {
      method,
      url: redact(shown.href),
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, hiddenHeaders.has(k.toLowerCase()) ? REDACTED : redact(v)])),
      body: body === undefined ? null : redactDeep(JSON.parse(JSON.stringify(body)) as unknown, redact),
    };
  }

  async #transport(prepared: Prepared, ctx: CallContext): Promise<RawReply> {
    const provider = this.context.provider;
    const secure = prepared.url.protocol === 'https:';
    const headers: OutgoingHttpHeaders = { ...prepared.headers, 'accept-encoding': 'identity' };
    if (prepared.body !== undefined) headers['content-length'] = Buffer.byteLength(prepared.body);
    return new Promise<RawReply>((resolve, reject) => {
      let settled = false;
      const finish = (outcome: RawReply | IntegrationFailure) => {
        if (settled) return;
        settled = true;
        if (outcome instanceof IntegrationFailure) reject(outcome);
        else resolve(outcome);
      };
      const tooLarge = () => new IntegrationFailure('PROVIDER_ERROR', `${provider} answered more than ${prepared.limit} bytes; the answer was dropped (the limit is max_response_bytes)`);
      const brokeOff = () => new IntegrationFailure(ctx.signal.aborted ? 'TIMEOUT' : 'PROVIDER_UNAVAILABLE', `${provider} broke off its answer`, { retriable: true });
      const onResponse = (res: IncomingMessage) => {
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > prepared.limit) {
          finish(tooLarge());
          res.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > prepared.limit) {
            finish(tooLarge());
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => finish({ status: res.statusCode ?? 0, headers: headersOf(res), text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', () => finish(brokeOff()));
        res.on('close', () => {
          if (!res.complete) finish(brokeOff());
        });
      };
      const options = {
        method: prepared.method,
        headers,
        signal: ctx.signal,
        agent: secure ? HTTPS_AGENT : HTTP_AGENT,
        lookup: guardedLookup(prepared.allowPrivateNetwork),
      };
      const req = secure ? httpsRequest(prepared.url, options, onResponse) : httpRequest(prepared.url, options, onResponse);
      req.on('error', (error) => {
        if (error instanceof AddressRefused) {
          finish(new IntegrationFailure('INTERNAL_ERROR', `provider ${provider}: refused to connect: ${error.message}`));
        } else if (ctx.signal.aborted) {
          finish(new IntegrationFailure('TIMEOUT', `${provider} did not answer in time`, { retriable: true }));
        } else {
          finish(new IntegrationFailure('PROVIDER_UNAVAILABLE', `${provider} could not be reached`, { retriable: true }));
        }
      });
      req.end(prepared.body);
    });
  }

  private async send<T>(prepared: Prepared, ctx: CallContext): Promise<HttpReply<T>> {
    const response = await this.#transport(prepared, ctx);
    const text = response.text;
    const ok = response.status >= 200 && response.status < 300;
    let body: unknown = text;
    if (text.length > 0 && /json/i.test(response.headers.get('content-type') ?? 'application/json')) {
      try {
        body = JSON.parse(text);
      } catch {
        if (ok) throw new IntegrationFailure('PROVIDER_ERROR', `${this.context.provider} answered with malformed JSON`, { http_status: response.status });
      }
    }
    if (!ok) throw this.failureFor(response.status, response.headers, body);
    const remaining = response.headers.get(this.rateLimitHeader);
    const reply = {
      status: response.status,
      body: body as T,
      headers: response.headers,
      provider_request_id: response.headers.get(this.requestIdHeader),
      rate_limit_remaining: remaining !== null && remaining.trim() !== '' && Number.isFinite(Number(remaining)) ? Number(remaining) : null,
      next_cursor: null as string | null,
    };
    reply.next_cursor = this.cursorFrom(reply);
    return reply;
  }
}

/** A request ready to send, with the limits that apply to it and what a preview shows. */
interface Prepared {
  url: URL;
  method: HttpMethod;
  headers: Record<string, string>;
  body: string | undefined;
  /** Most bytes of the answer body. */
  limit: number;
  allowPrivateNetwork: boolean;
  preview: RequestPreview;
}

/** An answer as read from the wire, before any parsing. */
interface RawReply {
  status: number;
  headers: Headers;
  text: string;
}

function headersOf(res: IncomingMessage): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    try {
      headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
    } catch {
      // A header that the Fetch standard's Headers refuses is left out, as fetch() would.
    }
  }
  return headers;
}

/** Writes `query` into `params`; lists follow `style` (see `QueryArrayStyle`). */
function appendQuery(params: URLSearchParams, query: Record<string, QueryValue>, style: QueryArrayStyle): void {
  for (const [key, value] of Object.entries(query)) {
    if (!isList(value)) {
      if (value !== undefined && value !== null) params.append(key, String(value));
      continue;
    }
    const items = value.filter((item) => item !== undefined && item !== null).map(String);
    if (items.length === 0) continue;
    if (style === 'comma') {
      params.append(key, items.join(','));
      continue;
    }
    const name = style === 'brackets' && !key.endsWith('[]') ? `${key}[]` : key;
    for (const item of items) params.append(name, item);
  }
}

function isList(value: QueryValue): value is readonly QueryScalar[] {
  return Array.isArray(value);
}

/**
 * Replaces the secret in a string: as written, percent-encoded (path and form styles) and
 * base64 (standard and URL-safe), the forms in which an integration puts it in a request.
 */
function redactor(secret: string | undefined): (text: string) => string {
  if (secret === undefined || secret.length === 0) return (text) => text;
  const forms = [...new Set([
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    Buffer.from(secret, 'utf8').toString('base64'),
    Buffer.from(secret, 'utf8').toString('base64').replace(/=+$/, ''),
    Buffer.from(secret, 'utf8').toString('base64url'),
  ])].sort((a, b) => b.length - a.length);
  return (text) => forms.reduce((out, form) => out.split(form).join(REDACTED), text);
}

/** `redact` applied to every string (and object key) of a JSON value. */
function redactDeep(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactDeep(v, redact)]));
  }
  return value;
}

/** A configuration flag: a boolean, or `true`/`false`/`1`/`0` as text (environment variables); undefined when neither. */
function flag(value: unknown): boolean | undefined {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|1)$/i.test(value.trim())) return true;
  if (typeof value === 'string' && /^(false|0|)$/i.test(value.trim())) return false;
  return undefined;
}

/** `allowed_hosts`: a comma-separated string or a list of host names; undefined when malformed. */
function hostList(value: unknown): string[] | undefined {
  if (value === undefined) return [];
  const items = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : undefined;
  if (items === undefined || !items.every((item): item is string => typeof item === 'string')) return undefined;
  const hosts = items.map((item) => item.trim().toLowerCase()).filter((item) => item.length > 0);
  return hosts.every((host) => /^(\*\.)?[a-z0-9.:[\]-]+$/.test(host)) ? hosts : undefined;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

function statusCode(status: number): ErrorCode {
  if (status === 401) return 'AUTH_REQUIRED';
  if (status === 403) return 'AUTH_FORBIDDEN';
  if (status === 404 || status === 410) return 'NOT_FOUND';
  if (status === 409 || status === 412) return 'CONFLICT';
  if (status === 400 || status === 422) return 'VALIDATION_FAILED';
  if (status === 408 || status === 504) return 'TIMEOUT';
  if (status === 429) return 'RATE_LIMITED';
  if (status >= 500) return 'PROVIDER_UNAVAILABLE';
  return 'PROVIDER_ERROR';
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const LONG_WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = `(?:${WEEKDAYS.join('|')})`;
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^(?:${LONG_WEEKDAYS.join('|')}), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`);

/**
 * An HTTP-date (RFC 9110 section 5.6.7) in milliseconds since the epoch: IMF-fixdate, or the
 * obsolete RFC 850 and asctime forms that recipients must accept. Anything else, or a date
 * that does not exist (31 Feb), is undefined.
 */
export function parseHttpDate(value: string, now = Date.now()): number | undefined {
  let parts: { day: string; month: string; year: number; time: [string, string, string] };
  let m: RegExpExecArray | null;
  if ((m = IMF_FIXDATE.exec(value))) {
    parts = { day: m[1]!, month: m[2]!, year: Number(m[3]), time: [m[4]!, m[5]!, m[6]!] };
  } else if ((m = RFC850_DATE.exec(value))) {
    // A two-digit year more than 50 years ahead is the most recent past year with those digits.
    let year = 2000 + Number(m[3]);
    if (year > new Date(now).getUTCFullYear() + 50) year -= 100;
    parts = { day: m[1]!, month: m[2]!, year, time: [m[4]!, m[5]!, m[6]!] };
  } else if ((m = ASCTIME_DATE.exec(value))) {
    parts = { day: m[2]!, month: m[1]!, year: Number(m[6]), time: [m[3]!, m[4]!, m[5]!] };
  } else {
    return undefined;
  }
  const day = Number(parts.day.trim());
  const [h, min, s] = parts.time.map(Number) as [number, number, number];
  if (h > 23 || min > 59 || s > 60) return undefined;
  // A leap second (:60) is read as :59; Date cannot hold it.
  const time = Date.UTC(parts.year, MONTHS.indexOf(parts.month), day, h, min, Math.min(s, 59));
  return new Date(time).getUTCDate() === day ? time : undefined;
}

/**
 * `Retry-After` (RFC 9110 section 10.2.3) in milliseconds: delay-seconds (digits only) or an
 * HTTP-date (a past date is 0). Any other value is null: it is ignored, not guessed.
 */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, Number.MAX_SAFE_INTEGER);
  const date = parseHttpDate(trimmed, now);
  return date === undefined ? null : Math.max(0, date - now);
}

function providerMessage(body: unknown): string | undefined {
  return firstString(body, ['message', 'error_description', 'error'], 200);
}

/** The whole error message of a JSON error body, for rate-limit markers. */
function errorMessage(body: unknown): string | undefined {
  return firstString(body, ['message', 'error_description', 'error'], 2000);
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
