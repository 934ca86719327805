/**
 * The fewer promise hops of a read (issue 14, round 2): the executor uses the callback form of
 * `BaseIntegration.call` only when `call` is the base's own, a handler's failures end as the
 * same closed codes through it, and `Invocation.deliver` settles the call's one promise (the
 * tool call's audit entry is written there) however the attempt ends.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { build } from '../src/build/build.ts';
import type { Bundle } from '../src/bundle/format.ts';
import type { BundleIntegration } from '../src/bundle/format.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { BaseIntegration, IntegrationFailure, defineMethod, type MethodHandler } from '../src/integration/base.ts';
import type { CallContext, IntegrationCall, IntegrationResult, MethodSpec } from '../src/integration/types.ts';
import { DeadlineQueue } from '../src/runtime/deadline.ts';
import { Executor, type Invocation, type MethodPlan } from '../src/runtime/executor.ts';
import { Validators } from '../src/runtime/validators.ts';
import { MemoryStore } from '../src/state/memory.ts';

const SPEC = defineMethod({
  method_id: 'hop.things.get.v1',
  description: 'Gets a thing.',
  input_schema: { type: 'object', additionalProperties: false, properties: {} },
  output_schema: { type: 'object', additionalProperties: false, required: ['n'], properties: { n: { type: 'integer' } } },
  capabilities: ['read'],
  idempotency: 'safe_read',
});

class Hop extends BaseIntegration {
  constructor(private readonly handler: MethodHandler) {
    super({ provider: 'hop', config: {} });
  }
  describeMethods(): MethodSpec[] {
    return [SPEC];
  }
  protected handlers(): Record<string, MethodHandler> {
    return { [SPEC.method_id]: this.handler };
  }
}

class OwnCall extends Hop {
  override call(req: IntegrationCall, ctx: CallContext): Promise<IntegrationResult> {
    return super.call(req, ctx).then((result) => (result.ok ? { ...result, data: { n: 99 } } : result));
  }
}

function setup(instance: BaseIntegration, timeout_ms = 1000) {
  const executor = new Executor({ validators: new Validators(), timeout_ms, retry_policy: { max_attempts: 1, backoff_ms: 0, max_backoff_ms: 0 }, credentials: undefined, store: new MemoryStore() });
  const plan: MethodPlan = { spec: SPEC, integration: { classification: 'read_only', lifecycle: 'active' } as unknown as BundleIntegration, instance, governance: { ok: true, kind: 'read' } };
  const invocation = (): Invocation => ({ plan, args: { method_id: SPEC.method_id, params: {} }, tenant: 't', traceId: 'tr', credential: undefined, started: performance.now(), record: undefined });
  return { executor, invocation };
}

/** Microtask ticks until `promise` settles. */
async function ticksUntil(promise: Promise<unknown>): Promise<number> {
  let ticks = 0;
  let done = false;
  const tick = (): void => {
    if (done) return;
    ticks++;
    queueMicrotask(tick);
  };
  queueMicrotask(tick);
  await promise;
  done = true;
  return ticks;
}

describe('the callback form of BaseIntegration.call', () => {
  it('is used when `call` is the base\'s own, and answers in fewer hops than the promise form', async () => {
    const { executor, invocation } = setup(new Hop(async () => ({ data: { n: 1 } })));
    const direct = executor.invoke(invocation());
    const directTicks = await ticksUntil(direct);
    expect((await direct).ok && (await direct).data).toEqual({ n: 1 });
    // The same base `call`, reached through an override: the promise form, one hop more.
    const generic = setup(new OwnCall(async () => ({ data: { n: 1 } })));
    expect(await ticksUntil(generic.executor.invoke(generic.invocation()))).toBeGreaterThan(directTicks);
  });

  it('is untimed for the runtime, which measures the call itself; `call` still reports its latency', async () => {
    const slow = new Hop(() => new Promise((resolve) => setTimeout(() => resolve({ data: { n: 5 } }), 15)));
    const ctx = { tenant: 't', trace_id: 'tr', classification: 'read_only', signal: new AbortController().signal } as CallContext;
    const direct = await slow.call({ trace_id: 'tr', method_id: SPEC.method_id, args: {}, timeout_ms: 1000, retry_policy: { max_attempts: 1, backoff_ms: 0, max_backoff_ms: 0 } }, ctx);
    expect(direct.meta.latency_ms).toBeGreaterThanOrEqual(10);
    const { executor, invocation } = setup(slow);
    const viaRuntime = await executor.invoke(invocation());
    expect(viaRuntime.ok && viaRuntime.data).toEqual({ n: 5 });
    expect(viaRuntime.meta.latency_ms).toBeGreaterThanOrEqual(10);
    expect((viaRuntime.meta['attempts'] as { latency_ms: number }[])[0]!.latency_ms).toBeGreaterThanOrEqual(10);
  });

  it('is not used when a subclass overrides `call`: the override runs', async () => {
    const { executor, invocation } = setup(new OwnCall(async () => ({ data: { n: 1 } })));
    const result = await executor.invoke(invocation());
    expect(result.ok && result.data).toEqual({ n: 99 });
  });

  it('turns what a handler throws, rejects or returns malformed into the same closed codes', async () => {
    const cases: [MethodHandler, string][] = [
      [async () => { throw new IntegrationFailure('RATE_LIMITED', 'slow down', { retriable: true }); }, 'RATE_LIMITED'],
      [() => { throw new Error('secret sk_live_1'); }, 'PROVIDER_ERROR'],
      [async () => { throw new Error('secret sk_live_1'); }, 'PROVIDER_ERROR'],
      [async () => null as never, 'PROVIDER_ERROR'],
      [async () => ({ data: { n: 'x' } }), 'OUTPUT_INVALID'],
    ];
    for (const [handler, code] of cases) {
      const { executor, invocation } = setup(new Hop(handler));
      const result = await executor.invoke(invocation());
      expect(result.ok ? 'ok' : result.error.code).toBe(code);
      expect(JSON.stringify(result)).not.toContain('sk_live_1');
    }
  });
});

describe('Invocation.deliver', () => {
  it('settles the call\'s promise with what it resolves, once the integration answered', async () => {
    const { executor, invocation } = setup(new Hop(async () => ({ data: { n: 2 } })));
    const delivered: unknown[] = [];
    const result = await executor.invoke({
      ...invocation(),
      deliver: (finished, resolve) => {
        delivered.push(finished);
        queueMicrotask(() => resolve({ ...finished!, meta: { ...finished!.meta, audited: true } }));
      },
    });
    expect(delivered).toHaveLength(1);
    expect(result.meta['audited']).toBe(true);
  });

  it('is given the TIMEOUT result when the integration never answers', async () => {
    const { executor, invocation } = setup(new Hop(() => new Promise(() => undefined)), 20);
    const deliver = vi.fn((finished: IntegrationResult | undefined, resolve: (r: IntegrationResult) => void) => resolve(finished!));
    const result = await executor.invoke({ ...invocation(), deliver });
    expect(result.ok ? 'ok' : result.error.code).toBe('TIMEOUT');
    expect(deliver).toHaveBeenCalledTimes(1);
  });

  it('is given undefined, never a rejection, when finishing the result fails', async () => {
    const { executor, invocation } = setup(new Hop(async () => ({ data: { n: 3 } })));
    const deliver = vi.fn((finished: IntegrationResult | undefined, resolve: (r: IntegrationResult) => void) =>
      resolve(finished ?? ({ ok: false, error: { code: 'INTERNAL_ERROR', message: 'x', provider_code: null, http_status: null, retriable: false }, meta: {} } as unknown as IntegrationResult)));
    const result = await executor.invoke({ ...invocation(), last: () => { throw new Error('bug'); }, deliver });
    expect(result.ok ? 'ok' : result.error.code).toBe('INTERNAL_ERROR');
    expect(deliver).toHaveBeenCalledWith(undefined, expect.any(Function));
  });
});

describe('a settled deadline', () => {
  it('lets go of its call at once, not only when the queue drops it', () => {
    const queue = new DeadlineQueue();
    const onExpire = vi.fn();
    const deadline = queue.add(60_000, undefined, onExpire);
    deadline.settle();
    // The queue still holds it until the next `add`; the call's closure is no longer reachable from it.
    expect((deadline as unknown as { onExpire: unknown }).onExpire).toBeUndefined();
    deadline.fire();
    expect(onExpire).not.toHaveBeenCalled();
  });

  it('still runs its expiry once when it fires unsettled', () => {
    const queue = new DeadlineQueue();
    const onExpire = vi.fn();
    const deadline = queue.add(60_000, undefined, onExpire);
    deadline.fire();
    deadline.fire();
    expect(onExpire).toHaveBeenCalledTimes(1);
    expect(deadline.signal.aborted).toBe(true);
  });
});

describe('a tool call\'s audit entry on the read path', () => {
  const FIXTURE = fileURLToPath(new URL('./fixtures-runtime/', import.meta.url));
  const call = { expert: 'operator', tool: 'reads', op: 'call', args: { method_id: 'probe.echo.get.v1', params: { tag: 'audit' } } };
  let bundle: Bundle;
  beforeAll(async () => {
    const result = await build({ root: FIXTURE, write: false });
    bundle = result.built[0]!;
  });

  it('is written before the call answers, and a failed write makes the call INTERNAL_ERROR (unaudited)', async () => {
    const store = new MemoryStore();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const append = store.appendAudit.bind(store);
    // The async append is the one under test here: the synchronous one is hidden (test/dispatch3-audit-sync.test.ts covers it).
    const slow = Object.assign(store, { appendAudit: async (entry: Parameters<MemoryStore['appendAudit']>[0]) => { await gate; return append(entry); }, appendAuditSync: undefined });
    const runtime = await Runtime.load(bundle, { root: FIXTURE, store: slow });
    let answered = false;
    const pending = runtime.callTool(call).then((result) => { answered = true; return result; });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answered).toBe(false);
    release();
    const result = await pending;
    expect(result.ok, JSON.stringify(result).slice(0, 200)).toBe(true);
    expect((await store.listAudit({ tenant: 'default' })).map((e) => e.action)).toEqual(['call']);
    for (const failing of [async () => { throw new Error('disk full'); }, () => { throw new Error('disk full'); }]) {
      const broken = await Runtime.load(bundle, { root: FIXTURE, store: Object.assign(new MemoryStore(), { appendAudit: failing, appendAuditSync: undefined }) });
      const refused = await broken.callTool(call);
      expect(refused.ok ? 'ok' : [refused.error.code, refused.error.message]).toEqual(['INTERNAL_ERROR', 'the call could not be audited; treat its outcome as unknown']);
    }
  });
});
