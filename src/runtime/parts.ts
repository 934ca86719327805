import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Bundle, BundleTool } from '../bundle/format.ts';
import type { Integration, MethodSpec, RetryPolicy } from '../integration/types.ts';
import { MemoryStore } from '../state/memory.ts';
import type { StateStore } from '../state/types.ts';
import { CredentialUnavailableError, type Credential, type CredentialSource } from '../integration/credentials.ts';
import { checkScopes, type CredentialCheck } from './scopes.ts';
import { CursorSealer } from './cursors.ts';
import { Executor, type MethodPlan } from './executor.ts';
import { govern } from './governance.ts';
import { IdempotencyGate } from './idempotency.ts';
import { CallArgsValidator } from './params.ts';
import { Validators } from './validators.ts';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_CONFIRMATION_TTL_MS = 15 * 60 * 1000;
/** No retries unless the deployment declares them: failures surface, they are not hidden. */
export const NO_RETRIES: RetryPolicy = Object.freeze({ max_attempts: 1, backoff_ms: 0, max_backoff_ms: 0 });
/** Time for a call's outcome to be recorded once its last attempt ends. */
const LEASE_MARGIN_MS = 30_000;

/** `00` to `ff`: the counter of a trace id in hex without formatting a number per call. */
const HEX_BYTES = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A tool of the bundle with its methods as a set, and the validator of its `call` args. */
export type ToolEntry = BundleTool & { methodSet: Set<string>; args: CallArgsValidator };

/** The runtime options the dispatch reads (`RuntimeOptions`, runtime.ts, documents each). */
export interface DispatchSettings {
  credentials?: CredentialSource;
  store?: StateStore;
  timeout_ms?: number;
  retry_policy?: RetryPolicy;
  confirmation_ttl_ms?: number;
  cursor_key?: Uint8Array;
  any_approver?: boolean;
  bundle_path?: string;
  now?: () => number;
}

/**
 * Everything one loaded runtime dispatches with, built once at load time: the bundle's lookups
 * (experts, tools, method plans), the compiled validators, the executor, the stores. The
 * dispatch steps (steps.ts) and the confirmation, import and status modules read it; only the
 * `Runtime` facade creates it.
 */
export class RuntimeParts {
  readonly store: StateStore;
  readonly validators = new Validators();
  readonly executor: Executor;
  readonly tools: Map<string, ToolEntry>;
  readonly expertTools: Map<string, Set<string>>;
  readonly plans: Map<string, MethodPlan>;
  readonly gate: IdempotencyGate;
  readonly bundlePath: string | null;
  readonly now: () => number;
  readonly cursors: CursorSealer;

  constructor(
    readonly bundle: Bundle,
    readonly instances: Map<string, Integration>,
    readonly options: DispatchSettings,
  ) {
    this.store = options.store ?? new MemoryStore();
    this.now = options.now ?? Date.now;
    this.cursors = new CursorSealer(options.cursor_key);
    this.bundlePath = options.bundle_path === undefined ? null : path.resolve(options.bundle_path);
    this.gate = new IdempotencyGate(this.store, this.now, leaseMs(options));
    this.executor = new Executor({
      validators: this.validators,
      timeout_ms: options.timeout_ms ?? DEFAULT_TIMEOUT_MS,
      retry_policy: options.retry_policy ?? NO_RETRIES,
      credentials: options.credentials,
      store: this.store,
    });
    this.tools = new Map(bundle.tools.map((t) => [t.name, { ...t, methodSet: new Set(t.methods), args: new CallArgsValidator(this.validators, t) }]));
    this.expertTools = new Map(bundle.experts.map((e) => [e.name, new Set(e.tools)]));
    this.plans = new Map(
      Object.values(bundle.methods).map((spec) => {
        const integration = bundle.integrations[spec.provider]!;
        return [spec.method_id, { spec, integration, instance: instances.get(spec.provider)!, governance: govern(spec, integration) }];
      }),
    );
  }

  private traceBase = '';
  private traceCount = 0;

  /**
   * A new trace id for a call that brings none, shaped like a UUID: the first 32 characters of a
   * random UUID (over 100 random bits), drawn once per 65,536 ids, then a 4-hex-digit counter.
   * Unique across processes like a random UUID, without drawing and formatting random bytes on
   * every call. Trace ids correlate audit entries; they authorize nothing.
   */
  traceId(): string {
    const n = this.traceCount++ & 0xffff;
    if (n === 0) this.traceBase = randomUUID().slice(0, 32);
    return this.traceBase + HEX_BYTES[n >> 8]! + HEX_BYTES[n & 0xff]!;
  }

  /** The tenant's credential when the method needs one, checked for least privilege. */
  async credential(tenant: string, spec: MethodSpec): Promise<CredentialCheck> {
    const source = this.options.credentials;
    let credential: Credential | undefined;
    try {
      credential = source ? await source.get(tenant, spec.provider) : undefined;
    } catch (error) {
      // A store that cannot be read (a wrong BOTC_SECRET_KEY) is said as such, not as INTERNAL_ERROR.
      if (error instanceof CredentialUnavailableError) return { code: 'AUTH_REQUIRED', message: error.message };
      throw error;
    }
    return checkScopes(tenant, spec, credential);
  }
}

/**
 * The longest one call may take, after which a claim on its idempotency key counts as abandoned:
 * every attempt's timeout and the backoffs between them, plus time to record the outcome (the
 * store may wait for a lock).
 */
function leaseMs(options: DispatchSettings): number {
  const policy = options.retry_policy ?? NO_RETRIES;
  const attempts = Math.max(1, policy.max_attempts);
  return attempts * (options.timeout_ms ?? DEFAULT_TIMEOUT_MS) + (attempts - 1) * policy.max_backoff_ms + LEASE_MARGIN_MS;
}
