/**
 * The integration contract (README.md, "MethodSpec" and "Writing an integration"). Wire
 * objects keep snake_case field names because runtimes in other languages read them.
 */
import { z } from 'zod';

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

/**
 * A JSON Schema 2020-12 schema as a MethodSpec carries it: a JSON object. The build checks
 * that the top level is `type: "object"` and that the schema compiles (ajv, draft 2020-12);
 * the shape here is only "an object with string keys".
 */
export type JsonSchema = Record<string, unknown>;

const nonEmptyString = z.string().refine((s) => s.trim().length > 0, 'must not be empty');
const positiveNumber = z.number().positive();

/**
 * The MethodSpec contract as a zod schema: what describeMethods() must return for each
 * method (README, MethodSpec), checked by the build on every declared method and by the
 * runtime on every method a bundle records. The `MethodSpec` type is inferred from it, so
 * the type and the check cannot drift apart. Unknown keys are refused (a strict object).
 */
export const methodSpecSchema = z.strictObject({
  method_id: z.string(),
  provider: z.string(),
  description: nonEmptyString,
  input_schema: z.record(z.string(), z.unknown()),
  output_schema: z.record(z.string(), z.unknown()),
  capabilities: z
    .array(z.enum(CAPABILITIES))
    .min(1, 'declare at least one capability')
    .refine((caps) => new Set(caps).size === caps.length, 'lists a capability twice'),
  auth_scopes: z.array(nonEmptyString),
  rate_limit_hint: z.strictObject({ max_calls: positiveNumber.int(), per_seconds: positiveNumber }).nullable(),
  idempotency: z.enum(IDEMPOTENCY),
  cost_hint: z.strictObject({ units: z.number().nonnegative(), unit: nonEmptyString }).nullable(),
  deprecated: z.boolean(),
  replacement_method_id: z.string().nullable(),
});

/**
 * One method of an integration (README, MethodSpec): its id (`<provider>.<name…>.v<N>`), the
 * JSON Schemas of its params and result, what it does (`capabilities`, `idempotency`), the
 * OAuth scopes it needs, and hints for callers (calls per `per_seconds` seconds; cost units).
 * Inferred from `methodSpecSchema`.
 */
export type MethodSpec = z.infer<typeof methodSpecSchema>;

/** How often a failed retriable call is tried (`max_attempts`, the first included) and the backoff between tries, in ms (doubling from `backoff_ms` up to `max_backoff_ms`). */
export interface RetryPolicy {
  max_attempts: number;
  backoff_ms: number;
  max_backoff_ms: number;
}

/** One call of a method as the runtime hands it to `Integration.call`; `timeout_ms` is its timeout, in ms. */
export interface IntegrationCall {
  trace_id: string;
  method_id: string;
  args: Record<string, unknown>;
  timeout_ms: number;
  retry_policy: RetryPolicy;
  cursor?: string;
  dry_run?: boolean;
  idempotency_key?: string;
}

/** Where a result's data came from: the kind of source and, when known, its reference (a URL, an id). */
export interface Provenance {
  source_type: string;
  source_ref: string | null;
}

/** Metadata of every result: the provider's request id, latency in ms, next cursor, rate limit remaining, cost units, provenance. */
export interface ResultMeta {
  provider_request_id: string | null;
  latency_ms: number;
  next_cursor: string | null;
  rate_limit_remaining: number | null;
  cost_units: number | null;
  provenance: Provenance;
  /** Runtime additions beyond the fields above (warnings, attempts, retry_after_ms). */
  [extra: string]: unknown;
}

/** A failed call: a closed `code`, a message for people, the provider's own code and HTTP status when there are any, and whether retrying may help. */
export interface IntegrationError {
  code: ErrorCode;
  message: string;
  provider_code: string | null;
  http_status: number | null;
  retriable: boolean;
}

/** What every call returns, never a throw: `data` on success, `error` on failure, `meta` always; `raw` only where the integration supplies it. */
export type IntegrationResult =
  | { ok: true; data: unknown; raw?: unknown; meta: ResultMeta }
  | { ok: false; error: IntegrationError; raw?: unknown; meta: ResultMeta };

/** Whether the tenant's credential authenticates with the provider (`op: status`). */
export interface AuthStatus {
  authenticated: boolean;
  /** Scopes the current credential grants, when the provider can tell. */
  scopes?: string[];
  detail?: string;
}

/**
 * What an integration's constructor receives. At build time `phase` is "build",
 * `credentials` is absent and the constructor must not do I/O.
 */
export interface IntegrationContext {
  phase: 'build' | 'runtime';
  provider: string;
  /** Provider configuration (base URL and the like); never secrets at build time. */
  config: Record<string, unknown>;
}

/** Per-call context handed to authStatus() and call() at run time. */
export interface CallContext {
  tenant: string;
  trace_id: string;
  signal: AbortSignal;
  /** The tenant's credential secret for this provider, when one is configured. */
  credential?: { secret: string; scopes: string[] };
  /** The integration's registered classification; writes are refused for `read_only`. */
  classification?: Classification;
}

/** The shape every registered export constructs to. */
export interface Integration {
  describeMethods(): MethodSpec[];
  authStatus(ctx: CallContext): Promise<AuthStatus>;
  call(req: IntegrationCall, ctx: CallContext): Promise<IntegrationResult>;
}

/** A registered export: constructed with an IntegrationContext, once per build and once per runtime. */
export interface IntegrationConstructor {
  new (context: IntegrationContext): Integration;
}
