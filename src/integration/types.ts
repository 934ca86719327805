/**
 * The integration contract (README.md, "MethodSpec" and "Writing an integration"). Wire
 * objects keep snake_case field names because runtimes in other languages read them.
 * Loads no schema library: the MethodSpec schema is in method-spec.ts, and this module only
 * takes its type, so `botc/integration` stays light for the modules that import it.
 */
export {
  ADVANCED_MODES, CAPABILITIES, CLASSIFICATIONS, ERROR_CODES, IDEMPOTENCY, LIFECYCLES, STANDARD_MODES,
  type Capability, type Classification, type ErrorCode, type Idempotency, type Lifecycle, type Mode,
} from './vocabulary.ts';
import type { Classification, ErrorCode } from './vocabulary.ts';
import type { MethodSpec } from './method-spec.ts';
export type { JsonSchema, MethodSpec } from './method-spec.ts';

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
