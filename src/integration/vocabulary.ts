/** The closed value sets of the integration contract (README, MethodSpec and Error codes). */

/** What a method may do; `capabilities` lists at least one, and governance follows them (README, MethodSpec). */
export const CAPABILITIES = [
  'read', 'write', 'delete', 'import', 'deliver', 'notify', 'workflow', 'intelligence',
] as const;
/** One of `CAPABILITIES`. */
export type Capability = (typeof CAPABILITIES)[number];

/** Whether a method only reads, writes so that repeating it is harmless, or writes so that repeating it is not. */
export const IDEMPOTENCY = ['safe_read', 'idempotent_write', 'non_idempotent_write'] as const;
/** One of `IDEMPOTENCY`. */
export type Idempotency = (typeof IDEMPOTENCY)[number];

/** An integration's class in the registry: `read_only` never writes, `inbound` imports (review queue), `outbound` writes (confirmation). */
export const CLASSIFICATIONS = ['read_only', 'inbound', 'outbound'] as const;
/** One of `CLASSIFICATIONS`. */
export type Classification = (typeof CLASSIFICATIONS)[number];

/** The integration modes any registry entry may declare. */
export const STANDARD_MODES = [
  'request_response', 'webhook', 'polling_sync', 'oauth', 'internal_events',
] as const;
/** The modes a registry entry may declare only with approval (`mode-not-approved` otherwise). */
export const ADVANCED_MODES = ['streaming', 'queue', 'bidirectional_sync'] as const;
/** One of `STANDARD_MODES` or `ADVANCED_MODES`. */
export type Mode = (typeof STANDARD_MODES)[number] | (typeof ADVANCED_MODES)[number];

/** An integration's lifecycle stage; each later stage restricts more (`end_of_support` does not build). */
export const LIFECYCLES = ['active', 'maintenance', 'deprecated', 'end_of_support'] as const;
/** One of `LIFECYCLES`. */
export type Lifecycle = (typeof LIFECYCLES)[number];

/** The closed set of error codes every failed result carries (README, Error codes and what a caller should do). */
export const ERROR_CODES = [
  'AUTH_REQUIRED', 'AUTH_FORBIDDEN', 'RATE_LIMITED', 'TIMEOUT', 'VALIDATION_FAILED',
  'OUTPUT_INVALID', 'NOT_FOUND', 'CONFLICT', 'PROVIDER_UNAVAILABLE', 'PROVIDER_ERROR',
  'UNKNOWN_METHOD', 'UNKNOWN_OP', 'TOOL_NOT_ALLOWED', 'CONFIRMATION_REQUIRED',
  'REVIEW_REQUIRED', 'READ_ONLY_VIOLATION', 'IDEMPOTENCY_CONFLICT', 'INTEGRATION_DISABLED',
  'INTERNAL_ERROR',
] as const;
/** One of `ERROR_CODES`. */
export type ErrorCode = (typeof ERROR_CODES)[number];
