import { z } from 'zod';
import { SIGNATURE_SCHEMES } from './signatures.ts';

/**
 * Where a webhook event's id or type is read: a request header (lower-case name), or a JSON
 * Pointer (RFC 6901) into the verified payload.
 */
export type FieldSource = { header: string } | { pointer: string };

/**
 * What an integration with mode `webhook` receives, declared in its registry entry
 * (integrations/manifest.json, key `webhook`; see docs/inbound.md):
 * - `scheme`: how deliveries are signed (`github`, `slack`, `stripe`, `standard`);
 * - `event_id`: where the delivery or event id is, the deduplication key;
 * - `event_type`: where the event's type is (recorded with the queued event);
 * - `payload_schema`: a JSON Schema 2020-12 object every verified payload must meet.
 */
export interface WebhookDeclaration {
  scheme: (typeof SIGNATURE_SCHEMES)[number];
  event_id: FieldSource;
  event_type: FieldSource;
  payload_schema: Record<string, unknown>;
}

/**
 * One stream of an integration with mode `polling_sync` (registry key `streams`): `name` is
 * the stream's name (the cursor's key), `method_id` the integration's `import` method the sync
 * calls page by page, `interval_seconds` how often it runs, `record_id` a JSON Pointer into
 * each record to its id at the provider (the upsert key), `params` the method's params.
 */
export interface StreamDeclaration {
  name: string;
  method_id: string;
  interval_seconds: number;
  record_id: string;
  /** The method's params on every page (checked against its input schema when the stream runs); default `{}`. */
  params?: Record<string, unknown>;
}

/** A JSON Pointer (RFC 6901): empty, or `/`-separated tokens where `~` only escapes `0` or `1`. */
const POINTER = /^(\/([^~/]|~[01])*)*$/;
const HEADER = /^[a-z0-9][a-z0-9-]{0,63}$/;

const fieldSourceSchema = z.union([
  z.strictObject({ header: z.string().regex(HEADER, 'must be a lower-case HTTP header name') }),
  z.strictObject({ pointer: z.string().regex(POINTER, 'must be a JSON Pointer such as `/id`').min(1, 'must point into the payload') }),
]);

export const webhookDeclarationSchema = z.strictObject({
  scheme: z.enum(SIGNATURE_SCHEMES),
  event_id: fieldSourceSchema,
  event_type: fieldSourceSchema,
  payload_schema: z.record(z.string(), z.unknown()),
});

export const streamDeclarationSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be lower-case letters, digits and `_`, starting with a letter'),
  method_id: z.string().min(1),
  // At least a minute: a shorter interval would hammer the provider and the schedule alike.
  interval_seconds: z.number().int().min(60, 'must be at least 60 seconds').max(31 * 24 * 3600, 'must be at most 31 days'),
  record_id: z.string().regex(POINTER, 'must be a JSON Pointer such as `/id`').min(1, 'must point into the record'),
  params: z.record(z.string(), z.unknown()).optional(),
});

/**
 * The value at a JSON Pointer (RFC 6901) in `value`, or undefined when the path does not exist.
 * Own properties only; array indexes are decimal without leading zeros.
 */
export function atPointer(value: unknown, pointer: string): unknown {
  if (pointer === '') return value;
  let current = value;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      current = current[Number(token)];
    } else if (current !== null && typeof current === 'object' && Object.hasOwn(current, token)) {
      current = (current as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return current;
}

/** A field's value as a record id or event type: a non-empty string of at most 256 characters, or a safe integer. */
export function idValue(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0 && value.length <= 256) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}
