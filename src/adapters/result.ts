import type { IntegrationResult } from '../integration/types.ts';

/** The prefix of every confirmation token the runtime mints; nothing a model sees may carry one. */
export const CONFIRMATION_TOKEN_PREFIX = 'botc_confirm_';
const TOKEN_PATTERN = /botc_confirm_[A-Za-z0-9_-]*/g;

/**
 * The result a model may see. A `CONFIRMATION_REQUIRED` result carries the secret token that
 * authorizes the write in `meta.confirmation.token`; a model holding it could approve its own
 * write, so the token is removed (the preview, approver, expiry and public `id` stay, so a
 * person can be shown what would be sent and act on it by id). As a second line of defence any
 * string that still contains the token prefix is redacted. Returns a copy; the input is unchanged.
 */
export function forModel(result: IntegrationResult): IntegrationResult {
  const copy = structuredClone(result);
  const confirmation = copy.meta['confirmation'];
  if (isObject(confirmation)) delete confirmation['token'];
  return redact(copy) as IntegrationResult;
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
