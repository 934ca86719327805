import { createHmac, timingSafeEqual } from 'node:crypto';
import { verify as verifyGithub } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';

/**
 * Webhook signature schemes. Each verifies the request's raw bytes, before anything parses
 * them, in constant time with lengths compared first, and refuses a timestamp outside the
 * replay window for the schemes that sign one:
 *
 * - `github`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>` (verified with
 *   GitHub's own @octokit/webhooks-methods); the delivery id is `X-GitHub-Delivery`.
 * - `slack`: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:" + ts + ":" + body)>` with
 *   `X-Slack-Request-Timestamp: ts` (Unix seconds), Slack's "Verifying requests" scheme.
 * - `stripe`: `Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256(secret, ts + "." + body)>[,v1=...]`,
 *   Stripe's scheme; any one `v1` may match (secret rotation).
 * - `standard`: Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`),
 *   verified with the specification's own `standardwebhooks` library.
 */
export const SIGNATURE_SCHEMES = ['github', 'slack', 'stripe', 'standard'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

/** The replay window of timestamped schemes: Slack's and Stripe's documented five minutes. */
export const REPLAY_WINDOW_SECONDS = 300;

export interface SignedRequest {
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
  /** The signing secret (for `standard`, the `whsec_...` base64 secret). */
  secret: string;
  /** Current time in milliseconds (for tests). */
  now?: number;
}

/** Why a request was refused: `missing` and `malformed` are 400, `mismatch` and `stale` 401. */
export type SignatureFailure = 'missing' | 'malformed' | 'mismatch' | 'stale';

export type SignatureCheck =
  | { ok: true; /** The provider's delivery or message id, when the scheme carries one. */ deliveryId: string | undefined }
  | { ok: false; failure: SignatureFailure; reason: string };

/** Verifies one webhook request under a scheme. Never throws for bad input; reads no more than the headers and body. */
export async function verifySignature(scheme: SignatureScheme, request: SignedRequest): Promise<SignatureCheck> {
  switch (scheme) {
    case 'github':
      return verifyGithubRequest(request);
    case 'slack':
      return verifySlack(request);
    case 'stripe':
      return verifyStripe(request);
    case 'standard':
      return verifyStandard(request);
  }
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

async function verifyGithubRequest({ headers, body, secret }: SignedRequest): Promise<SignatureCheck> {
  const signature = headers['x-hub-signature-256'];
  if (!signature) return refuse('missing', 'no X-Hub-Signature-256 header');
  if (!/^sha256=[0-9a-f]{64}$/.test(signature)) return refuse('malformed', 'X-Hub-Signature-256 is not sha256=<64 hex digits>');
  if (body.length === 0) return refuse('malformed', 'the body is empty');
  const ok = await verifyGithub(secret, body.toString('utf8'), signature);
  // The library compares strings; a body that is not UTF-8 would not survive that round trip.
  if (!ok || !Buffer.from(body.toString('utf8'), 'utf8').equals(body)) return refuse('mismatch', 'the signature does not match the body');
  return { ok: true, deliveryId: headers['x-github-delivery'] };
}

function verifySlack({ headers, body, secret, now = Date.now() }: SignedRequest): SignatureCheck {
  const signature = headers['x-slack-signature'];
  const timestamp = headers['x-slack-request-timestamp'];
  if (!signature || !timestamp) return refuse('missing', 'no X-Slack-Signature or X-Slack-Request-Timestamp header');
  if (!/^v0=[0-9a-f]{64}$/.test(signature) || !/^\d{1,12}$/.test(timestamp)) return refuse('malformed', 'the Slack signature headers are malformed');
  const stale = staleness(Number(timestamp), now);
  if (stale) return stale;
  const expected = hmacHex(secret, Buffer.concat([Buffer.from(`v0:${timestamp}:`), body]));
  return equalHex(signature.slice(3), expected) ? { ok: true, deliveryId: undefined } : refuse('mismatch', 'the signature does not match the body');
}

function verifyStripe({ headers, body, secret, now = Date.now() }: SignedRequest): SignatureCheck {
  const header = headers['stripe-signature'];
  if (!header) return refuse('missing', 'no Stripe-Signature header');
  if (header.length > 4096) return refuse('malformed', 'Stripe-Signature is too long');
  let timestamp: string | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.split('=', 2);
    if (key === 't') timestamp = value;
    else if (key === 'v1' && value !== undefined) candidates.push(value);
  }
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp) || candidates.length === 0) return refuse('malformed', 'Stripe-Signature lacks t= or v1=');
  const stale = staleness(Number(timestamp), now);
  if (stale) return stale;
  const expected = hmacHex(secret, Buffer.concat([Buffer.from(`${timestamp}.`), body]));
  // Every candidate is compared, so the time taken does not say which one matched.
  let match = false;
  for (const candidate of candidates) match = equalHex(candidate, expected) || match;
  return match ? { ok: true, deliveryId: undefined } : refuse('mismatch', 'no v1 signature matches the body');
}

function verifyStandard({ headers, body, secret, now = Date.now() }: SignedRequest): SignatureCheck {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signature = headers['webhook-signature'];
  if (!id || !timestamp || !signature) return refuse('missing', 'no webhook-id, webhook-timestamp or webhook-signature header');
  if (!/^\d{1,12}$/.test(timestamp) || id.length > 256 || signature.length > 4096) return refuse('malformed', 'the Standard Webhooks headers are malformed');
  // The library checks the window against the wall clock; check it here too, against `now`.
  const stale = staleness(Number(timestamp), now);
  if (stale) return stale;
  let webhook: StandardWebhook;
  try {
    webhook = new StandardWebhook(secret);
  } catch {
    return refuse('malformed', 'the signing secret is not a Standard Webhooks secret (whsec_<base64>)');
  }
  try {
    webhook.verify(body, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature }, { jsonParse: false });
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    return /timestamp/i.test(message) ? refuse('stale', 'the timestamp is outside the replay window') : refuse('mismatch', 'no signature matches the body');
  }
  return { ok: true, deliveryId: id };
}

function staleness(timestampSeconds: number, nowMs: number): SignatureCheck | undefined {
  return Math.abs(nowMs / 1000 - timestampSeconds) > REPLAY_WINDOW_SECONDS
    ? refuse('stale', `the timestamp is more than ${REPLAY_WINDOW_SECONDS} s from now; replays are refused`)
    : undefined;
}

function hmacHex(secret: string, data: Buffer): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}

/** Constant-time comparison of two hex digests; unequal lengths are refused before comparing. */
function equalHex(given: string, expected: string): boolean {
  if (!HEX_SHA256.test(given) || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(expected, 'hex'));
}

function refuse(failure: SignatureFailure, reason: string): SignatureCheck {
  return { ok: false, failure, reason };
}
