import { ERROR_CODES, type ErrorCode, type IntegrationResult, type ResultMeta } from '../integration/types.ts';

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

/**
 * Accepts only a well-formed IntegrationResult from an integration; anything else becomes
 * PROVIDER_ERROR. Error messages are bounded and scrubbed of the tenant's secret.
 */
export function sanitizeResult(value: unknown, sourceType: string, secret: string | undefined): IntegrationResult {
  if (typeof value !== 'object' || value === null || typeof (value as { ok?: unknown }).ok !== 'boolean') {
    return errorResult('PROVIDER_ERROR', 'the integration returned a malformed result', emptyMeta(sourceType, null));
  }
  const raw = value as Record<string, unknown>;
  const meta = sanitizeMeta(raw['meta'], sourceType, secret);
  if (raw['ok'] === true) return { ok: true, data: raw['data'], meta };
  const error = (raw['error'] ?? {}) as Record<string, unknown>;
  const code = typeof error['code'] === 'string' && CODES.has(error['code']) ? (error['code'] as ErrorCode) : 'PROVIDER_ERROR';
  const message = typeof error['message'] === 'string' ? scrub(error['message'], secret).slice(0, 500) : 'the provider failed';
  return errorResult(code, message, meta, {
    retriable: error['retriable'] === true,
    http_status: typeof error['http_status'] === 'number' ? error['http_status'] : null,
    provider_code: typeof error['provider_code'] === 'string' ? scrub(error['provider_code'], secret).slice(0, 100) : null,
  });
}

function sanitizeMeta(value: unknown, sourceType: string, secret: string | undefined): ResultMeta {
  if (typeof value !== 'object' || value === null) return emptyMeta(sourceType, null);
  const meta = value as Record<string, unknown>;
  const provenance = (meta['provenance'] ?? {}) as Record<string, unknown>;
  // Provider-chosen strings are scrubbed of the tenant's secret like error messages are.
  const out: ResultMeta = {
    provider_request_id: stringOr(meta['provider_request_id'], null, secret),
    latency_ms: 0,
    next_cursor: stringOr(meta['next_cursor'], null, secret),
    rate_limit_remaining: numberOrNull(meta['rate_limit_remaining']),
    cost_units: numberOrNull(meta['cost_units']),
    provenance: {
      source_type: stringOr(provenance['source_type'], sourceType, secret),
      source_ref: stringOr(provenance['source_ref'], null, secret),
    },
  };
  const retryAfter = numberOrNull(meta['retry_after_ms']);
  if (retryAfter !== null) out['retry_after_ms'] = retryAfter;
  return out;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function stringOr<T>(value: unknown, otherwise: T, secret: string | undefined): string | T {
  return typeof value === 'string' ? scrub(value, secret) : otherwise;
}

export function scrub(text: string, secret: string | undefined): string {
  return secret && secret.length >= 4 ? text.split(secret).join('[redacted]') : text;
}
