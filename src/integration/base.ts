import type {
  AuthStatus, CallContext, ErrorCode, Integration, IntegrationCall, IntegrationContext,
  IntegrationResult, MethodSpec, ResultMeta,
} from './types.ts';

/** What a method handler returns on success; the base turns it into an IntegrationResult. */
export interface HandlerOutput {
  data: unknown;
  next_cursor?: string | null;
  provider_request_id?: string | null;
  rate_limit_remaining?: number | null;
  cost_units?: number | null;
  source_ref?: string | null;
  raw?: unknown;
}

/** What a method handler receives: the spec, the validated args, the call's options and its context. */
export interface HandlerInput {
  /** The spec of the method being called, as describeMethods() declares it. */
  spec: MethodSpec;
  args: Record<string, unknown>;
  cursor: string | undefined;
  dry_run: boolean;
  idempotency_key: string | undefined;
  ctx: CallContext;
}

/** One method's implementation in `BaseIntegration.handlers()`; throw IntegrationFailure for an expected failure. */
export type MethodHandler = (input: HandlerInput) => Promise<HandlerOutput>;

/** Thrown by handlers for an expected failure; becomes an error result, never escapes. */
export class IntegrationFailure extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly http_status: number | null;
  readonly provider_code: string | null;
  /** How long the provider asked us to wait (Retry-After), when it said. */
  readonly retry_after_ms: number | null;

  constructor(
    code: ErrorCode,
    message: string,
    options: { retriable?: boolean; http_status?: number | null; provider_code?: string | null; retry_after_ms?: number | null } = {},
  ) {
    super(message);
    this.name = 'IntegrationFailure';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.http_status = options.http_status ?? null;
    this.provider_code = options.provider_code ?? null;
    this.retry_after_ms = options.retry_after_ms ?? null;
  }
}

type MethodDeclaration = Pick<
  MethodSpec, 'method_id' | 'description' | 'input_schema' | 'output_schema' | 'capabilities' | 'idempotency'
> & Partial<Omit<MethodSpec, 'method_id' | 'provider'>>;

/** Declares a MethodSpec with the optional fields defaulted; `provider` is the id's first segment. */
export function defineMethod(declaration: MethodDeclaration): MethodSpec {
  return {
    provider: declaration.method_id.split('.')[0] ?? '',
    auth_scopes: [],
    rate_limit_hint: null,
    cost_hint: null,
    deprecated: false,
    replacement_method_id: null,
    ...declaration,
  };
}

/**
 * The key of `BaseIntegration`'s callback form of `call` (registered, so that every copy of
 * this module agrees on it). Internal to botc: the runtime's executor uses it.
 */
export const callInto: unique symbol = Symbol.for('botc.integration.callInto');

/** Who is given the result of `BaseIntegration`'s callback form of `call` (`callInto`): an object, so that no closure is made per call. */
export interface CallReceiver {
  /** Called once with the result, never with an exception. */
  answered(result: IntegrationResult): void;
}

/**
 * The base provider authors extend. A subclass declares its
 * methods and a handler per method id; the base dispatches, times the call and turns
 * every failure, expected or not, into an IntegrationResult with a closed error code.
 */
export abstract class BaseIntegration implements Integration {
  protected readonly context: IntegrationContext;

  constructor(context: IntegrationContext) {
    this.context = context;
  }

  abstract describeMethods(): MethodSpec[];

  /** Handlers keyed by method id. Called at run time only. */
  protected abstract handlers(): Record<string, MethodHandler>;

  /** Provenance `source_type` for results; defaults to the provider id. */
  protected get sourceType(): string {
    return this.context.provider;
  }

  async authStatus(ctx: CallContext): Promise<AuthStatus> {
    return ctx.credential
      ? { authenticated: true, scopes: [...ctx.credential.scopes] }
      : { authenticated: false, detail: 'no credential configured for this tenant' };
  }

  private specs: Map<string, MethodSpec> | undefined;
  private handlerTable: Record<string, MethodHandler> | undefined;

  call(req: IntegrationCall, ctx: CallContext): Promise<IntegrationResult> {
    return new Promise((resolve) => this[callInto](req, ctx, { answered: resolve }));
  }

  /**
   * What `call` does, handing the result to `receiver.answered` (called once, never with an
   * exception) instead of resolving a promise: the runtime calls this when `call` is the base's
   * own, which spares a promise and a microtask hop per call. Overriding `call` opts out of it.
   * With `timed` false, `meta.latency_ms` is 0 and no clock is read: the runtime measures the
   * call itself and replaces it.
   */
  [callInto](req: IntegrationCall, ctx: CallContext, receiver: CallReceiver, timed = true): void {
    const started = timed ? performance.now() : undefined;
    this.specs ??= new Map(this.describeMethods().map((m) => [m.method_id, m]));
    this.handlerTable ??= this.handlers();
    const spec = this.specs.get(req.method_id);
    const handler = Object.hasOwn(this.handlerTable, req.method_id) ? this.handlerTable[req.method_id] : undefined;
    if (!spec || !handler) {
      receiver.answered(failure('UNKNOWN_METHOD', `unknown method ${req.method_id}`, started, this.sourceType));
      return;
    }
    let pending: Promise<HandlerOutput>;
    try {
      pending = Promise.resolve(handler({
        spec,
        args: req.args,
        cursor: req.cursor,
        dry_run: req.dry_run ?? false,
        idempotency_key: req.idempotency_key,
        ctx,
      }));
    } catch (error) {
      receiver.answered(failed(error, ctx, started, this.sourceType));
      return;
    }
    pending.then(
      (out) => {
        let result: IntegrationResult;
        try {
          result = succeeded(out, started, this.sourceType);
        } catch (error) {
          result = failed(error, ctx, started, this.sourceType);
        }
        receiver.answered(result);
      },
      (error: unknown) => receiver.answered(failed(error, ctx, started, this.sourceType)),
    );
  }
}

/**
 * A handler's output as an ok result with its meta; throws when `out` is not an object. A
 * function of the module, not a method, as `failed` is: a subclass cannot replace what builds
 * the result `callInto` hands over (the runtime relies on its shape: results.ts, `built`).
 */
function succeeded(out: HandlerOutput, started: number | undefined, sourceType: string): IntegrationResult {
  const meta: ResultMeta = {
    provider_request_id: out.provider_request_id ?? null,
    latency_ms: elapsed(started),
    next_cursor: out.next_cursor ?? null,
    rate_limit_remaining: out.rate_limit_remaining ?? null,
    cost_units: out.cost_units ?? null,
    provenance: { source_type: sourceType, source_ref: out.source_ref ?? null },
  };
  return out.raw === undefined ? { ok: true, data: out.data, meta } : { ok: true, data: out.data, raw: out.raw, meta };
}

/** What a handler threw (or rejected with) as an error result with a closed code. */
function failed(error: unknown, ctx: CallContext, started: number | undefined, sourceType: string): IntegrationResult {
  if (error instanceof IntegrationFailure) {
    return failure(error.code, error.message, started, sourceType, error);
  }
  if (ctx.signal.aborted) {
    return failure('TIMEOUT', 'the call was aborted before the provider answered', started, sourceType);
  }
  // Never pass an unexpected exception (stack, secrets in messages) to the caller.
  return failure('PROVIDER_ERROR', 'the provider failed unexpectedly', started, sourceType);
}

/** Milliseconds since `started`, to the microsecond; 0 for an untimed call (`started` undefined). */
function elapsed(started: number | undefined): number {
  if (started === undefined) return 0;
  return Math.round((performance.now() - started) * 1000) / 1000;
}

function failure(
  code: ErrorCode, message: string, started: number | undefined, sourceType: string, from?: IntegrationFailure,
): IntegrationResult {
  return {
    ok: false,
    error: {
      code,
      message,
      provider_code: from?.provider_code ?? null,
      http_status: from?.http_status ?? null,
      retriable: from?.retriable ?? false,
    },
    meta: {
      provider_request_id: null,
      latency_ms: elapsed(started),
      next_cursor: null,
      rate_limit_remaining: null,
      cost_units: null,
      provenance: { source_type: sourceType, source_ref: null },
      ...(from?.retry_after_ms != null ? { retry_after_ms: from.retry_after_ms } : {}),
    },
  };
}
