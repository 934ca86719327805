import { ERROR_CODES, type ErrorCode, type IntegrationResult, type ResultMeta } from '../integration/types.ts';
import { assertPlainObject, plainFields, toPlain } from './plain.ts';
import { secretScrubber } from './scrub.ts';

export function emptyMeta(sourceType: string, sourceRef: string | null, latency = 0): ResultMeta {
  return {
    provider_request_id: null,
    latency_ms: latency,
    next_cursor: null,
    rate_limit_remaining: null,
    cost_units: null,
    provenance: { source_type: sourceType, source_ref: sourceRef },
  };
}

export function errorResult(
  code: ErrorCode,
  message: string,
  meta: ResultMeta,
  extra: { retriable?: boolean; http_status?: number | null; provider_code?: string | null } = {},
): IntegrationResult {
  return {
    ok: false,
    error: { code, message, provider_code: extra.provider_code ?? null, http_status: extra.http_status ?? null, retriable: extra.retriable ?? false },
    meta,
  };
}

export function okResult(data: unknown, meta: ResultMeta): IntegrationResult {
  return { ok: true, data, meta };
}

const CODES = new Set<string>(ERROR_CODES);
// Called as `HAS_OWN.call(object, name)`, which V8 compiles to a cheap check (`Object.hasOwn` is not).
const HAS_OWN = Object.prototype.hasOwnProperty;
const MALFORMED = 'the integration returned a malformed result';

/**
 * Accepts only a well-formed IntegrationResult from an integration; anything else becomes
 * PROVIDER_ERROR. One pass copies what the result carries into plain JSON data and scrubs
 * every string of it of the tenant's secret in its common encodings (`secretScrubber`): `data`
 * whole (`toPlain`: no getters run later, no Proxy, no class instance, no cycle; object keys
 * scrubbed too), and the contract's fields of the error and of `meta`, each read once. Error
 * messages are bounded. `raw`, and anything else the integration added, is never read.
 * Never throws: whatever the value does while it is read (a getter that throws, a Proxy
 * trap) ends as PROVIDER_ERROR.
 *
 * `built`: the result, its meta and its provenance are object literals that BaseIntegration's
 * own callback form (`callInto`, not overridden) built around what the handler returned, so
 * those three are known to be plain objects and are not checked again (three Proxy and
 * prototype checks fewer per call). Every value in them is still read and judged as above, and
 * `data` and the error are checked and copied whole.
 */
export function sanitizeResult(value: unknown, sourceType: string, secret: string | undefined, built = false): IntegrationResult {
  try {
    return sanitize(value, sourceType, secretScrubber(secret), built);
  } catch {
    return errorResult('PROVIDER_ERROR', `${MALFORMED}: it is not plain JSON data`, emptyMeta(sourceType, null));
  }
}

function sanitize(value: unknown, sourceType: string, clean: (text: string) => string, built: boolean): IntegrationResult {
  // Each field of the contract is read once, straight into a local: no getter runs twice.
  let ok: unknown;
  let data: unknown;
  let rawError: unknown;
  let rawMeta: unknown;
  try {
    plainUnlessBuilt(value, built);
    // Own fields only, as `ownField`, written out: a constant name here is a cheap property load.
    ok = HAS_OWN.call(value, 'ok') ? value['ok'] : undefined;
    data = HAS_OWN.call(value, 'data') ? value['data'] : undefined;
    rawError = HAS_OWN.call(value, 'error') ? value['error'] : undefined;
    rawMeta = HAS_OWN.call(value, 'meta') ? value['meta'] : undefined;
  } catch {
    return errorResult('PROVIDER_ERROR', MALFORMED, emptyMeta(sourceType, null));
  }
  if (typeof ok !== 'boolean') return errorResult('PROVIDER_ERROR', MALFORMED, emptyMeta(sourceType, null));
  const meta = sanitizeMeta(rawMeta, sourceType, clean, built);
  if (ok) return { ok: true, data: toPlain(data, clean), meta };
  // Only the fields of the contract are read: whatever else the error object holds (a stack, a
  // `cause`) is never touched, let alone returned.
  // Each read once; strings scrubbed before they are cut, so a cut never splits an unscrubbed secret.
  const error = isRecord(rawError) ? plainFields(rawError, ERROR_FIELDS) : {};
  const code = typeof error['code'] === 'string' && CODES.has(error['code']) ? (error['code'] as ErrorCode) : 'PROVIDER_ERROR';
  const message = typeof error['message'] === 'string' ? clean(error['message']).slice(0, 500) : 'the provider failed';
  return errorResult(code, message, meta, {
    retriable: error['retriable'] === true,
    http_status: numberOrNull(error['http_status']),
    provider_code: typeof error['provider_code'] === 'string' ? clean(error['provider_code']).slice(0, 100) : null,
  });
}

const ERROR_FIELDS = ['code', 'message', 'provider_code', 'http_status', 'retriable'] as const;

/**
 * The meta fields of the contract, each read once and kept only when it is a string or a finite
 * number (strings scrubbed); whatever else the integration put there is never read.
 */
function sanitizeMeta(value: unknown, sourceType: string, clean: (text: string) => string, built: boolean): ResultMeta {
  if (typeof value !== 'object' || value === null) return emptyMeta(sourceType, null);
  plainUnlessBuilt(value, built);
  // Own fields only (see `sanitize`).
  const provenance = HAS_OWN.call(value, 'provenance') ? value['provenance'] : undefined;
  let sourceRef: unknown;
  let source: unknown;
  if (isRecord(provenance)) {
    plainUnlessBuilt(provenance, built);
    source = HAS_OWN.call(provenance, 'source_type') ? provenance['source_type'] : undefined;
    sourceRef = HAS_OWN.call(provenance, 'source_ref') ? provenance['source_ref'] : undefined;
  }
  const out: ResultMeta = {
    provider_request_id: stringOr(HAS_OWN.call(value, 'provider_request_id') ? value['provider_request_id'] : undefined, null, clean),
    latency_ms: 0,
    next_cursor: stringOr(HAS_OWN.call(value, 'next_cursor') ? value['next_cursor'] : undefined, null, clean),
    rate_limit_remaining: numberOrNull(HAS_OWN.call(value, 'rate_limit_remaining') ? value['rate_limit_remaining'] : undefined),
    cost_units: numberOrNull(HAS_OWN.call(value, 'cost_units') ? value['cost_units'] : undefined),
    provenance: { source_type: stringOr(source, sourceType, clean), source_ref: stringOr(sourceRef, null, clean) },
  };
  const retryAfter = numberOrNull(HAS_OWN.call(value, 'retry_after_ms') ? value['retry_after_ms'] : undefined);
  if (retryAfter !== null) out['retry_after_ms'] = retryAfter;
  return out;
}

/** `assertPlainObject`, unless the object is one BaseIntegration built (`sanitizeResult`'s `built`). */
function plainUnlessBuilt(value: unknown, built: boolean): asserts value is Record<string, unknown> {
  if (!built) assertPlainObject(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function stringOr<T>(value: unknown, otherwise: T, clean: (text: string) => string): string | T {
  return typeof value === 'string' ? clean(value) : otherwise;
}

/** The text with the secret, and its common encodings, replaced by `[redacted]`. */
export function scrub(text: string, secret: string | undefined): string {
  return secretScrubber(secret)(text);
}
