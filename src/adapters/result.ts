import type { IntegrationResult } from '../integration/types.ts';

/** The prefix of every confirmation token the runtime mints; nothing a model sees may carry one. */
export const CONFIRMATION_TOKEN_PREFIX = 'botc_confirm_';
const TOKEN_PATTERN = /botc_confirm_[A-Za-z0-9_-]*/g;

/**
 * The result a model may see. A `CONFIRMATION_REQUIRED` result carries the secret token that
 * authorizes the write in `meta.confirmation.token`; a model holding it could approve its own
 * write, so the token is removed (the preview, approver, expiry and public `id` stay, so a
 * person can be shown what would be sent and act on it by id). As a second line of defence any
 * string that still contains the token prefix is redacted. The input is never changed: a result
 * that needs filtering is copied, one that does not is returned as it is.
 */
export function forModel(result: IntegrationResult): IntegrationResult {
  // Most results carry no confirmation and no token: they are handed on without a copy.
  if (result.meta['confirmation'] === undefined && !containsToken(result)) return result;
  const copy = structuredClone(result);
  const confirmation = copy.meta['confirmation'];
  if (isObject(confirmation)) delete confirmation['token'];
  return redact(copy) as IntegrationResult;
}

function containsToken(value: unknown): boolean {
  if (typeof value === 'string') return value.includes(CONFIRMATION_TOKEN_PREFIX);
  if (Array.isArray(value)) return value.some(containsToken);
  if (isObject(value)) {
    for (const key in value) if (containsToken(value[key])) return true;
  }
  return false;
}

function redact(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('botc_confirm_') ? value.replace(TOKEN_PATTERN, '[redacted confirmation token]') : value;
  if (Array.isArray(value)) return value.map(redact);
  if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) value[key] = redact(child);
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
