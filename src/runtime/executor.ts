import { setTimeout as sleep } from 'node:timers/promises';
import type { CallContext, Classification, Integration, IntegrationCall, IntegrationResult, MethodSpec, RetryPolicy } from '../integration/types.ts';
import type { Credential } from '../integration/credentials.ts';
import { DeadlineQueue, type Deadline } from './deadline.ts';
import { emptyMeta, errorResult, sanitizeResult } from './results.ts';

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
  onRetry?: ((attempt: number, waitMs: number, code: string) => Promise<void>) | undefined;
}

/**
 * Runs one integration call: each attempt bounded by the call's timeout, retried only as the
 * call's retry policy declares, only for retriable errors, and never for a non-idempotent
 * write without an idempotency key. Whatever the integration does, a result comes back.
 */
export class Executor {
  private readonly deadlines = new DeadlineQueue();

  async execute(input: ExecuteInput): Promise<Execution> {
    const { spec, request } = input;
    const policy = request.retry_policy;
    const mayRetry = spec.idempotency !== 'non_idempotent_write' || request.idempotency_key !== undefined;
    const attempts: AttemptRecord[] = [];
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const result = await this.attempt(input);
      attempts.push({ attempt, ok: result.ok, code: result.ok ? null : result.error.code, latency_ms: elapsed(started) });
      if (result.ok || !result.error.retriable || !mayRetry || attempt >= policy.max_attempts) return { result, attempts };
      const wait = backoff(policy, attempt, result.meta['retry_after_ms']);
      if (wait === undefined) return { result, attempts };
      await input.onRetry?.(attempt + 1, wait, result.error.code);
      await sleep(wait);
    }
  }

  private attempt(input: ExecuteInput): Promise<IntegrationResult> {
    const { request, credential } = input;
    const provider = input.spec.provider;
    return new Promise<IntegrationResult>((resolve) => {
      const deadline = this.deadlines.add(request.timeout_ms, () =>
        resolve(errorResult('TIMEOUT', `${provider} did not answer within ${request.timeout_ms} ms`, emptyMeta(provider, null), { retriable: true })),
      );
      const ctx = new AttemptContext(input.tenant, request.trace_id, input.classification, deadline, credential);
      let pending: Promise<unknown>;
      try {
        // Promise.resolve: a non-promise or a thenable whose `then` throws becomes a rejection here.
        pending = Promise.resolve(input.integration.call(request, ctx));
      } catch {
        pending = Promise.reject(new Error('the integration threw synchronously'));
      }
      pending.then(
        (value) => {
          if (deadline.done) return;
          deadline.settle();
          // Copied into plain data and scrubbed in one pass; never throws, whatever `value` does.
          resolve(sanitizeResult(value, provider, credential?.secret));
        },
        () => {
          if (deadline.done) return;
          deadline.settle();
          // Never the exception itself: no stack, no message that might carry a secret.
          resolve(errorResult('PROVIDER_ERROR', `${provider} failed unexpectedly`, emptyMeta(provider, null)));
        },
      );
    });
  }
}

/** The wait before the next attempt, or undefined when the provider asks for longer than the policy allows. */
export function backoff(policy: RetryPolicy, attempt: number, retryAfter: unknown): number | undefined {
  const exponential = Math.min(policy.max_backoff_ms, policy.backoff_ms * 2 ** (attempt - 1));
  if (typeof retryAfter !== 'number') return exponential;
  return retryAfter > policy.max_backoff_ms ? undefined : Math.max(exponential, retryAfter);
}

export function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
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
