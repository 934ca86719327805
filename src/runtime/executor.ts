// Over 300 lines: an attempt, its retries, its credential renewal and how it settles read together here.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallContext, Classification, Integration, IntegrationCall, IntegrationResult, MethodSpec, RetryPolicy } from '../integration/types.ts';
import type { BundleIntegration } from '../bundle/format.ts';
import type { StateStore } from '../state/types.ts';
import { CredentialUnavailableError, type Credential, type CredentialSource } from '../integration/credentials.ts';
import { BaseIntegration, callInto, type CallReceiver } from '../integration/base.ts';
import { checkScopes } from './scopes.ts';
import { DeadlineQueue, type Deadline } from './deadline.ts';
import type { Governance } from './governance.ts';
import type { CallArgs } from './params.ts';
import { emptyMeta, errorResult, sanitizeResult } from './results.ts';
import type { ValidateFunction } from 'ajv';
import { describeErrors, type Validators } from './validators.ts';

/** One method of the bundle with what running it needs: its spec, integration, module instance and governance. */
export interface MethodPlan {
  spec: MethodSpec;
  integration: BundleIntegration;
  instance: Integration;
  governance: Governance;
  /** The compiled `input_schema` and `output_schema`, looked up once on the method's first call. */
  validateInput?: ValidateFunction;
  validateOutput?: ValidateFunction;
}

/**
 * Undefined when `value` is valid, else the problems as `Validators.check` (`fromCaller`) or
 * `Validators.checkOutput` word them, with an already compiled validator.
 */
export function problemsOf(validate: ValidateFunction, value: unknown, fromCaller: boolean): string | undefined {
  return validate(value) ? undefined : describeErrors(validate.errors ?? [], { fromCaller });
}

/** What the audit entry of one tool call records besides its outcome. */
export interface CallRecord {
  method_id: string | null;
  provider: string | null;
  detail: Record<string, unknown>;
}

/** One governed integration call in progress: what runs, for whom, and where it is recorded. */
export interface Invocation {
  plan: MethodPlan;
  args: CallArgs;
  tenant: string;
  traceId: string;
  credential: Credential | undefined;
  /** `performance.now()` when the call entered the runtime, for `meta.latency_ms`. */
  started: number;
  /**
   * When the first attempt's timeout starts counting, if not now: `started`, when nothing was
   * waited for since the call entered the runtime (its steps ran synchronously, a few
   * microseconds), which spares a clock read.
   */
  begun?: number | undefined;
  /** The audit record of the tool call this belongs to, when there is one. */
  record: CallRecord | undefined;
  /** Applied to the finished result before it is returned (a tool call seals the next cursor here). */
  last?: (result: IntegrationResult) => IntegrationResult;
  /**
   * When set, the promise `invoke` returns settles through this instead
   * of with the finished result: it gets that result, or undefined when the runtime failed while
   * finishing it, and the promise's `resolve`, which it calls once; it never throws, and the
   * promise then never rejects. A tool call writes its audit entry here (runtime.ts), so that
   * the caller's one promise settles once the entry is written, without a hop of its own.
   */
  deliver?: ((result: IntegrationResult | undefined, resolve: (result: IntegrationResult) => void) => void) | undefined;
}

export interface AttemptRecord {
  attempt: number;
  ok: boolean;
  code: string | null;
  latency_ms: number;
}

export interface Execution {
  result: IntegrationResult;
  attempts: AttemptRecord[];
}

export interface ExecuteInput {
  spec: MethodSpec;
  integration: Integration;
  classification: Classification;
  request: IntegrationCall;
  tenant: string;
  credential: Credential | undefined;
  /** Called before each retry, so that it is recorded (audited) before it happens. */
  onRetry?: ((attempt: number, waitMs: number, code: string) => Promise<unknown>) | undefined;
}

/** What every call of one runtime shares: its timeout and retry policy, validators, credentials and store. */
export interface ExecutorSettings {
  validators: Validators;
  timeout_ms: number;
  retry_policy: RetryPolicy;
  credentials: CredentialSource | undefined;
  /** Where retries are audited. */
  store: StateStore;
}

/**
 * Runs one integration call: each attempt bounded by the call's timeout, retried only as the
 * call's retry policy declares, only for retriable errors, and never for a non-idempotent
 * write without an idempotency key. Whatever the integration does, a result comes back.
 */
export class Executor {
  /** The one timer queue of this runtime: call attempts and `status` probes share it. */
  readonly deadlines = new DeadlineQueue();

  constructor(private readonly settings: ExecutorSettings) {}

  /**
   * Calls the integration for one invocation (timeout, declared retries, one renewal of a
   * rejected credential) and validates what comes back: the method's output schema for
   * everything but the preview of an outbound write. Sets `meta.latency_ms`, `meta.attempts`,
   * `meta.dry_run` and a deprecation warning. Never throws for anything the integration does.
   */
  invoke(invocation: Invocation): Promise<IntegrationResult> {
    const { plan, args, tenant, traceId, credential } = invocation;
    const { retry_policy: policy, store } = this.settings;
    const request: IntegrationCall = { trace_id: traceId, method_id: plan.spec.method_id, args: args.params, timeout_ms: this.settings.timeout_ms, retry_policy: policy };
    if (args.cursor !== undefined) request.cursor = args.cursor;
    if (args.dry_run !== undefined) request.dry_run = args.dry_run;
    if (args.idempotency_key !== undefined) request.idempotency_key = args.idempotency_key;
    if (policy.max_attempts > 1) {
      const input: ExecuteInput = {
        spec: plan.spec,
        integration: plan.instance,
        classification: plan.integration.classification,
        request,
        tenant,
        credential,
        onRetry: (attempt, wait, code) =>
          store.appendAudit({ tenant, action: 'retry', actor: 'runtime', integration: plan.spec.provider, method_id: plan.spec.method_id, outcome: code, trace_id: traceId, detail: { attempt, wait_ms: wait } }),
      };
      const settled = this.execute(input).then(({ result, attempts }) => this.settle(invocation, request, result, attempts));
      const deliver = invocation.deliver;
      if (deliver === undefined) return settled;
      return new Promise((resolve) => settled.then((result) => deliver(result, resolve), () => deliver(undefined, resolve)));
    }
    // One attempt and nothing to retry: no loop, no async frame and no promise of its own; the
    // attempt settles the invocation as soon as the integration answers. The clock is read once
    // at the start (or not at all: see `Invocation.begun`) and once at the end, for both latencies.
    const begun = invocation.begun ?? performance.now();
    return new Attempt(this, request, plan.spec.provider, plan.instance, plan.integration.classification, tenant, credential, begun, invocation).run();
  }

  /**
   * The only attempt of `invocation` ended with `result` (started at `begun`): the invocation's
   * last step, as `settle`, with the attempt's latency from the same clock reading as the call's.
   * For `Attempt` only.
   */
  settleOnly(invocation: Invocation, request: IntegrationCall, result: IntegrationResult, begun: number): IntegrationResult | Promise<IntegrationResult> {
    const attempt: AttemptRecord = { attempt: 1, ok: result.ok, code: result.ok ? null : result.error.code, latency_ms: 0 };
    if (renewable(invocation, result)) {
      attempt.latency_ms = elapsed(begun);
      return this.settle(invocation, request, result, [attempt]);
    }
    return this.finish(invocation, result, [attempt], attempt, begun);
  }

  /** An invocation's last step: a renewed credential after a 401, output validation and the runtime's meta. */
  private settle(invocation: Invocation, request: IntegrationCall, result: IntegrationResult, attempts: AttemptRecord[]): IntegrationResult | Promise<IntegrationResult> {
    if (renewable(invocation, result)) {
      return this.renewed(invocation, request, result).then((renewed) => this.finish(invocation, renewed, attempts));
    }
    return this.finish(invocation, result, attempts);
  }

  /**
   * Output validation and the runtime's meta. `open`, when given, is the one attempt whose
   * latency (from `begun`) is taken from the same clock reading as the call's.
   */
  private finish(invocation: Invocation, result: IntegrationResult, attempts: AttemptRecord[], open?: AttemptRecord, begun?: number): IntegrationResult {
    const { plan, args, started, record } = invocation;
    let final = result;
    // A dry run of an outbound write returns a preview of the request, not method output;
    // everything else (reads, and imports, whose dry run is validated but not returned) is validated.
    const isPreview = args.dry_run === true && plan.governance.ok && plan.governance.kind === 'outbound_write';
    if (final.ok && !isPreview) {
      const invalid = problemsOf((plan.validateOutput ??= this.settings.validators.get(plan.spec.output_schema)), final.data, false);
      if (invalid) final = errorResult('OUTPUT_INVALID', `the provider's output does not match ${plan.spec.method_id}: ${invalid}`, final.meta);
    }
    const now = performance.now();
    final.meta.latency_ms = roundMs(now - started);
    if (open) open.latency_ms = roundMs(now - begun!);
    final.meta['attempts'] = attempts;
    if (args.dry_run) final.meta['dry_run'] = true;
    if (plan.integration.lifecycle === 'deprecated') {
      final.meta['warnings'] = [`integration \`${plan.spec.provider}\` is deprecated; plan a migration before it reaches end of support`];
    }
    if (record) record.detail['attempts'] = attempts;
    return invocation.last ? invocation.last(final) : final;
  }

  /**
   * The provider answered 401 to a call made with a credential: once per call, asks the source
   * to renew it (an OAuth refresh, one in flight per credential across processes) and runs the
   * call again with the renewed credential, still checked for least privilege. A 401 means the
   * provider did not act on the request, so running it again sends it once. A failed renewal
   * is AUTH_REQUIRED with its reason (it says to log in again).
   */
  private async renewed(invocation: Invocation, request: IntegrationCall, rejected: IntegrationResult): Promise<IntegrationResult> {
    const source = this.settings.credentials;
    const { plan, tenant, credential } = invocation;
    if (!source?.refreshAfterRejection || !credential) return rejected;
    let renewed: Credential | undefined;
    try {
      renewed = await source.refreshAfterRejection(tenant, plan.spec.provider, credential);
    } catch (error) {
      if (error instanceof CredentialUnavailableError) return errorResult('AUTH_REQUIRED', error.message, rejected.meta);
      throw error;
    }
    if (!renewed || renewed.secret === credential.secret) return rejected;
    const checked = checkScopes(tenant, plan.spec, renewed);
    if ('code' in checked) return errorResult(checked.code, checked.message, rejected.meta);
    const { result } = await this.execute({
      spec: plan.spec, integration: plan.instance, classification: plan.integration.classification, request, tenant, credential: checked.value, onRetry: undefined,
    });
    return result;
  }

  async execute(input: ExecuteInput): Promise<Execution> {
    const { spec, request } = input;
    const policy = request.retry_policy;
    const mayRetry = spec.idempotency !== 'non_idempotent_write' || request.idempotency_key !== undefined;
    const attempts: AttemptRecord[] = [];
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const result = await new Attempt(this, request, spec.provider, input.integration, input.classification, input.tenant, input.credential, started, undefined).run();
      attempts.push({ attempt, ok: result.ok, code: result.ok ? null : result.error.code, latency_ms: elapsed(started) });
      if (result.ok || !result.error.retriable || !mayRetry || attempt >= policy.max_attempts) return { result, attempts };
      const wait = backoff(policy, attempt, result.meta['retry_after_ms']);
      if (wait === undefined) return { result, attempts };
      await input.onRetry?.(attempt + 1, wait, result.error.code);
      await sleep(wait);
    }
  }

}

/** The wait before the next attempt, or undefined when the provider asks for longer than the policy allows. */
export function backoff(policy: RetryPolicy, attempt: number, retryAfter: unknown): number | undefined {
  const exponential = Math.min(policy.max_backoff_ms, policy.backoff_ms * 2 ** (attempt - 1));
  if (typeof retryAfter !== 'number') return exponential;
  return retryAfter > policy.max_backoff_ms ? undefined : Math.max(exponential, retryAfter);
}

export function elapsed(started: number): number {
  return roundMs(performance.now() - started);
}

/** Milliseconds rounded to the microsecond, as latencies are reported. */
function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** A 401 to a call made with a credential, which the source may renew once (`Executor.renewed`). */
function renewable(invocation: Invocation, result: IntegrationResult): boolean {
  return !result.ok && result.error.code === 'AUTH_REQUIRED' && invocation.credential !== undefined;
}

/** `BaseIntegration`'s own `call` and its callback form, which a subclass may override (then `call` is called). */
const baseCall = BaseIntegration.prototype.call;
const baseCallInto = BaseIntegration.prototype[callInto];

/**
 * One attempt, bounded by the call's timeout counted from `begun` (`performance.now()`): its
 * state in one object, which is also what the deadline and the integration's callback form
 * (`callInto`) report to, instead of a closure each. With an `invocation` (its only attempt),
 * the attempt settles it as soon as the integration answers (`Executor.settleOnly`) and hands
 * the result to its `deliver`; without, `run` resolves with the attempt's own result.
 */
class Attempt implements CallReceiver {
  private resolve!: (result: IntegrationResult | Promise<IntegrationResult>) => void;
  private reject!: (error: unknown) => void;
  private deadline!: Deadline;

  constructor(
    private readonly executor: Executor,
    private readonly request: IntegrationCall,
    private readonly provider: string,
    private readonly integration: Integration,
    private readonly classification: Classification,
    private readonly tenant: string,
    private readonly credential: Credential | undefined,
    private readonly begun: number,
    private readonly invocation: Invocation | undefined,
  ) {}

  /** Calls the integration; the promise settles once it answered, failed or timed out. A throw of the runtime's own rejects it (no `deliver`). */
  run(): Promise<IntegrationResult> {
    return new Promise<IntegrationResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.start();
    });
  }

  private start(): void {
    const request = this.request;
    this.deadline = this.executor.deadlines.add(request.timeout_ms, this.begun, this);
    const ctx = new AttemptContext(this.tenant, request.trace_id, this.classification, this.deadline, this.credential);
    const integration = this.integration as Integration & Partial<Pick<BaseIntegration, typeof callInto>>;
    try {
      if (integration.call === baseCall && integration[callInto] === baseCallInto) {
        // The base class's own `call`: its callback form answers without a promise of its own,
        // and untimed, since `finish` sets meta.latency_ms from the runtime's own clock readings.
        integration[callInto](request, ctx, this, false);
      } else {
        // Promise.resolve: a non-promise or a thenable whose `then` throws becomes a rejection here.
        Promise.resolve(integration.call(request, ctx)).then((value) => this.received(value, false), () => this.failed());
      }
    } catch {
      // The integration threw synchronously.
      this.failed();
    }
  }

  /**
   * The base class's own callback form answered (`CallReceiver`, called only by it): a result
   * it built itself (`sanitizeResult`'s `built`).
   */
  answered(result: IntegrationResult): void {
    this.received(result, true);
  }

  /** In time, the value is copied into plain data and scrubbed in one pass; never throws, whatever `value` does. */
  private received(value: unknown, built: boolean): void {
    if (this.deadline.done) return;
    this.deadline.settle();
    this.complete(sanitizeResult(value, this.provider, this.credential?.secret, built));
  }

  /** The integration threw or rejected: never the exception itself (no stack, no message that might carry a secret). */
  private failed(): void {
    if (this.deadline.done) return;
    this.deadline.settle();
    this.complete(errorResult('PROVIDER_ERROR', `${this.provider} failed unexpectedly`, emptyMeta(this.provider, null)));
  }

  /** The deadline passed unsettled (`OnExpire`). */
  expired(): void {
    this.complete(errorResult('TIMEOUT', `${this.provider} did not answer within ${this.request.timeout_ms} ms`, emptyMeta(this.provider, null), { retriable: true }));
  }

  /** The attempt's result, settled into its invocation when it has one; a throw there rejects the attempt, or is given to `deliver` as undefined. */
  private complete(result: IntegrationResult): void {
    const invocation = this.invocation;
    if (invocation === undefined) {
      this.resolve(result);
      return;
    }
    const deliver = invocation.deliver;
    try {
      const out = this.executor.settleOnly(invocation, this.request, result, this.begun);
      if (deliver === undefined) this.resolve(out);
      else if (out instanceof Promise) out.then((final: IntegrationResult) => deliver(final, this.resolve), () => deliver(undefined, this.resolve));
      else deliver(out, this.resolve);
    } catch (error) {
      if (deliver === undefined) this.reject(error);
      else deliver(undefined, this.resolve);
    }
  }
}

/** The CallContext of one attempt; its abort signal exists only once an integration reads it. */
class AttemptContext implements CallContext {
  readonly credential?: { secret: string; scopes: string[] };

  constructor(
    readonly tenant: string,
    readonly trace_id: string,
    readonly classification: Classification,
    private readonly deadline: Deadline,
    credential: Credential | undefined,
  ) {
    if (credential) this.credential = { secret: credential.secret, scopes: [...credential.scopes] };
  }

  get signal(): AbortSignal {
    return this.deadline.signal;
  }
}
