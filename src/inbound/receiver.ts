import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ValidateFunction } from 'ajv';
import { NAME_PATTERN } from '../load/names.ts';
import { createAjv } from '../schema/ajv.ts';
import { newId } from '../state/sql-store.ts';
import type { AuditInput, ReviewItem, StateStore } from '../state/types.ts';
import { atPointer, idValue, type FieldSource, type WebhookDeclaration } from './declarations.ts';
import { verifySignature } from './signatures.ts';

/** The largest webhook body the receiver reads by default, in bytes (GitHub caps its payloads at 25 MB; most are far smaller). */
export const DEFAULT_WEBHOOK_BODY_BYTES = 1024 * 1024;

/** A tenant as it may appear in the webhook path: letters, digits, `_`, `.`, `-`, at most 64. */
const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ROUTE = /^\/webhooks\/([^/?#]+)\/([^/?#]+)\/?(?:\?.*)?$/;

/** The store namespace of delivery ids: one idempotency row per (tenant, provider, event id). */
export const webhookDedupeScope = (provider: string): string => `webhook:${provider}`;

export interface ReceiverOptions {
  store: StateStore;
  /** The webhook events each provider declares (from the registry); a provider not here answers 404. */
  declarations: ReadonlyMap<string, WebhookDeclaration>;
  /** The tenant's signing secret for a provider, or undefined when none is stored. */
  secretFor: (tenant: string, provider: string) => Promise<string | undefined>;
  /** Body cap in bytes (default `DEFAULT_WEBHOOK_BODY_BYTES`); a larger body is 413, unread. */
  maxBodyBytes?: number;
  /** Milliseconds since the epoch (tests). */
  now?: () => number;
}

type Outcome = { status: number; body: Record<string, unknown> };

/**
 * The webhook receiver: `POST /webhooks/<tenant>/<provider>` (docs/inbound.md). In order:
 * the route and its names; the body size, from Content-Length before reading and counted while
 * reading (413, the rest unread); the signature over the raw bytes under the provider's
 * declared scheme (400 missing or malformed, 401 mismatch or outside the replay window);
 * only then is the body parsed and validated against the declared payload schema (400); the
 * event id is claimed in the store, one row per (tenant, provider, id), so a replay answers 200
 * and changes nothing (409 while the first delivery is still being queued); the event goes to
 * the review queue as an untrusted record, never executed. Every acceptance and rejection is
 * audited with the tenant, provider, status and reason, never the body or the secret. Keeps no
 * state of its own: several receivers can share one store.
 */
export function webhookHandler(options: ReceiverOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const cap = options.maxBodyBytes ?? DEFAULT_WEBHOOK_BODY_BYTES;
  const now = options.now ?? Date.now;
  const validators = new Map<string, ValidateFunction>();
  const ajv = createAjv();
  for (const [provider, declaration] of options.declarations) validators.set(provider, ajv.compile(declaration.payload_schema));
  return (req, res) => {
    handle(req, options, cap, now, validators).then(
      (outcome) => send(res, outcome),
      () => send(res, { status: 500, body: { ok: false, error: 'internal error' } }),
    );
  };
}

function send(res: ServerResponse, { status, body }: Outcome): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...(status === 413 ? { connection: 'close' } : {}) });
  res.end(text);
}

async function handle(req: IncomingMessage, options: ReceiverOptions, cap: number, now: () => number, validators: Map<string, ValidateFunction>): Promise<Outcome> {
  const route = ROUTE.exec(req.url ?? '');
  if (!route) return drain(req, { status: 404, body: { ok: false, error: 'not found: POST /webhooks/<tenant>/<provider>' } });
  const [, tenant, provider] = route as unknown as [string, string, string];
  if (!TENANT_PATTERN.test(tenant) || !NAME_PATTERN.test(provider)) return drain(req, { status: 404, body: { ok: false, error: 'not found: the tenant or provider is not a valid name' } });
  const declaration = options.declarations.get(provider);
  // Unknown names are not audited under the tenant they claim: anyone can make up a path.
  if (!declaration) return drain(req, { status: 404, body: { ok: false, error: `provider ${provider} receives no webhooks` } });
  if (req.method !== 'POST') return drain(req, { status: 405, body: { ok: false, error: 'only POST' } });

  const reject = async (status: number, reason: string, detail: Record<string, unknown> = {}): Promise<Outcome> => {
    await audit(options.store, { tenant, provider, outcome: status === 413 ? 'VALIDATION_FAILED' : status === 401 ? 'AUTH_FORBIDDEN' : status === 409 ? 'CONFLICT' : 'VALIDATION_FAILED', action: 'webhook.rejected', detail: { status, reason, ...detail } });
    return { status, body: { ok: false, error: reason } };
  };

  const declared = Number(req.headers['content-length']);
  if (req.headers['content-length'] !== undefined && (!Number.isFinite(declared) || declared > cap)) {
    req.resume();
    return reject(413, `the body is larger than ${cap} bytes`, { content_length: Number.isFinite(declared) ? declared : null });
  }
  const body = await readCapped(req, cap);
  if (body === undefined) return reject(413, `the body is larger than ${cap} bytes`);

  const secret = await options.secretFor(tenant, provider);
  if (secret === undefined) return reject(401, 'no webhook secret is stored for this tenant and provider');
  const headers = lowerHeaders(req);
  const check = await verifySignature(declaration.scheme, { headers, body, secret, now: now() });
  if (!check.ok) return reject(check.failure === 'missing' || check.failure === 'malformed' ? 400 : 401, `signature ${check.failure}: ${check.reason}`, { scheme: declaration.scheme });

  // Verified: from here on the bytes come from the provider, but stay untrusted data.
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    return reject(400, 'the body is not JSON');
  }
  const validate = validators.get(provider)!;
  if (!validate(payload)) {
    const first = validate.errors?.[0];
    return reject(400, `the payload breaks the declared schema${first ? ` at ${first.instancePath || '/'}: ${first.message ?? ''}` : ''}`.slice(0, 300));
  }
  const eventId = fieldValue(declaration.event_id, headers, payload);
  if (eventId === undefined) return reject(400, `no event id (${describeSource(declaration.event_id)})`);
  const eventType = fieldValue(declaration.event_type, headers, payload) ?? null;

  const bodySha = createHash('sha256').update(body).digest('hex');
  const scope = webhookDedupeScope(provider);
  const claimId = randomUUID();
  const claim = await options.store.claimIdempotency(tenant, scope, eventId, { args_sha256: bodySha, claim_id: claimId, claimed_at: now() });
  if (!claim.claimed) {
    if (claim.existing.state === 'in_flight') return reject(409, 'this delivery is being queued by another request; retry later', { event_id: eventId });
    await audit(options.store, { tenant, provider, action: 'webhook.duplicate', outcome: 'ok', detail: { status: 200, event_id: eventId, event_type: eventType, body_sha256: bodySha } });
    return { status: 200, body: { ok: true, duplicate: true, event_id: eventId } };
  }
  let queued: ReviewItem[];
  try {
    const at = now();
    const item: ReviewItem = {
      id: newId('rev'),
      tenant,
      provider,
      method_id: `${provider}.webhook`,
      record_key: `event:${eventId}`,
      record_json: JSON.stringify({ event_id: eventId, event_type: eventType, payload }),
      record_sha256: bodySha,
      status: 'pending',
      batch_id: newId('batch'),
      created_at: at,
      decided_by: null,
      decided_at: null,
    };
    queued = await options.store.enqueueImport([item], null, { tenant, type: 'webhook.received', subject: `${provider}:${eventId}`, payload: { provider, event_id: eventId, event_type: eventType, review_id: item.id }, caused_by: null });
  } catch (error) {
    // Nothing was queued: give the id back so the provider's redelivery is not taken for a replay.
    await options.store.releaseIdempotency(tenant, scope, eventId, claimId);
    throw error;
  }
  const review = queued[0]!;
  await options.store.completeIdempotency(tenant, scope, eventId, claimId, {
    args_sha256: bodySha,
    result: { ok: true, data: { review_id: review.id }, meta: { provider_request_id: eventId, latency_ms: 0, next_cursor: null, rate_limit_remaining: null, cost_units: null, provenance: { source_type: 'webhook', source_ref: `${provider}:${eventId}` } } },
  });
  await audit(options.store, { tenant, provider, action: 'webhook.received', outcome: 'pending', detail: { status: 202, event_id: eventId, event_type: eventType, review_id: review.id, batch_id: review.batch_id, body_sha256: bodySha } });
  return { status: 202, body: { ok: true, event_id: eventId, review_id: review.id } };
}

async function audit(store: StateStore, entry: { tenant: string; provider: string; action: string; outcome: string; detail: Record<string, unknown> }): Promise<void> {
  const input: AuditInput = { tenant: entry.tenant, action: entry.action, actor: 'webhook', integration: entry.provider, method_id: null, outcome: entry.outcome, trace_id: null, detail: entry.detail };
  await store.appendAudit(input);
}

/** Reads the body, counting bytes; undefined (and the rest left unread) once it passes `cap`. */
function readCapped(req: IncomingMessage, cap: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > cap) {
        done = true;
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('error', (error) => {
      if (!done) {
        done = true;
        reject(error);
      }
    });
  });
}

/** Answers without reading the body: it is discarded, never buffered. */
function drain(req: IncomingMessage, outcome: Outcome): Outcome {
  req.resume();
  return outcome;
}

function lowerHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) out[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  return out;
}

function fieldValue(source: FieldSource, headers: Record<string, string | undefined>, payload: unknown): string | undefined {
  if ('header' in source) return idValue(headers[source.header]);
  return idValue(atPointer(payload, source.pointer));
}

function describeSource(source: FieldSource): string {
  return 'header' in source ? `header ${source.header}` : `JSON pointer ${source.pointer}`;
}
