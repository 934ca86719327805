/**
 * The synchronous audit append of a tool call (issue 14, round 3): the memory store always
 * appends synchronously and SQLite does when nothing of its file is queued in this process, so
 * a read settles without a promise hop for its audit entry; a write queued before it keeps its
 * place in the chain; PostgreSQL has no synchronous append and the runtime awaits its write as
 * before; and a failed synchronous append fails the call exactly as a failed async one does.
 * Also the deadline queue's idle timer, unref'd once no call runs, on the next turn of the loop,
 * and which results the runtime trusts to be plain objects (only those the base class built).
 */
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { build } from '../src/build/build.ts';
import type { Bundle } from '../src/bundle/format.ts';
import type { BundleIntegration } from '../src/bundle/format.ts';
import { BaseIntegration, callInto, defineMethod, type CallReceiver, type MethodHandler } from '../src/integration/base.ts';
import type { CallContext, IntegrationCall, IntegrationResult, MethodSpec } from '../src/integration/types.ts';
import { Executor, type MethodPlan } from '../src/runtime/executor.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { Validators } from '../src/runtime/validators.ts';
import { DeadlineQueue } from '../src/runtime/deadline.ts';
import { MemoryStore } from '../src/state/memory.ts';
import type { SqlStore } from '../src/state/sql-store.ts';
import type { AuditInput, StateStore } from '../src/state/types.ts';
import { postgresBackend, PG_URL, sqliteBackend, type TestDb } from './helpers/stores.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures-runtime/', import.meta.url));
const call = { expert: 'operator', tool: 'reads', op: 'call', args: { method_id: 'probe.echo.get.v1', params: { tag: 'sync' } } };
const UNAUDITED = ['INTERNAL_ERROR', 'the call could not be audited; treat its outcome as unknown'];

const entry = (n: number, action = 'retry'): AuditInput => ({
  tenant: 'default', action, actor: 'runtime', integration: 'probe', method_id: 'probe.echo.get.v1', outcome: 'ok', trace_id: `t-${n}`, detail: { n },
});

let bundle: Bundle;
beforeAll(async () => {
  bundle = (await build({ root: FIXTURE, write: false })).built[0]!;
});

const opened: TestDb[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.dispose();
});

async function sqlite(): Promise<{ db: TestDb; store: SqlStore }> {
  const db = await sqliteBackend.open();
  opened.push(db);
  return { db, store: await db.connect() };
}

/** Spies on both appends of `store`, calling through. */
function spied(store: StateStore) {
  return { sync: vi.spyOn(store, 'appendAuditSync' as never), async: vi.spyOn(store, 'appendAudit') };
}

describe('the synchronous audit append of a tool call', () => {
  it('is used by the memory store: the call is audited without the async append', async () => {
    const store = new MemoryStore();
    const { sync, async } = spied(store);
    const runtime = await Runtime.load(bundle, { root: FIXTURE, store });
    const result = await runtime.callTool(call);
    expect(result.ok, JSON.stringify(result).slice(0, 200)).toBe(true);
    expect(sync).toHaveBeenCalledTimes(1);
    expect(async).not.toHaveBeenCalled();
    const entries = await store.listAudit({ tenant: 'default' });
    expect(entries.map((e) => [e.seq, e.action, e.outcome])).toEqual([[1, 'call', 'ok']]);
    expect(await store.verifyAudit()).toMatchObject({ ok: true });
  });

  it('is used by SQLite when nothing is queued, and leaves the chain an async append would', async () => {
    const { store } = await sqlite();
    const { sync, async } = spied(store);
    const runtime = await Runtime.load(bundle, { root: FIXTURE, store });
    for (let i = 0; i < 3; i++) expect((await runtime.callTool(call)).ok).toBe(true);
    expect(sync).toHaveBeenCalledTimes(3);
    expect(async).not.toHaveBeenCalled();
    // Both forms continue one chain.
    await store.appendAudit(entry(4));
    expect(store.appendAuditSync!(entry(5))).toMatchObject({ seq: 5 });
    const entries = await store.listAudit({ tenant: 'default' });
    expect(entries.map((e) => [e.seq, e.action])).toEqual([[1, 'call'], [2, 'call'], [3, 'call'], [4, 'retry'], [5, 'retry']]);
    expect(await store.verifyAudit()).toMatchObject({ ok: true });
  });

  it('on SQLite rebuilds a deleted chain head and says so, as the async append does', async () => {
    const { db, store } = await sqlite();
    await store.appendAudit(entry(1));
    await db.raw.all('DELETE FROM botc_audit_head WHERE tenant = ?', ['default']);
    expect(store.appendAuditSync!(entry(2))).toMatchObject({ seq: 3 });
    const entries = await store.listAudit({ tenant: 'default' });
    expect(entries.map((e) => [e.seq, e.action])).toEqual([[1, 'retry'], [2, 'audit.head_rebuilt'], [3, 'retry']]);
    expect(entries[1]!.detail).toMatchObject({ last_seq: 1, last_hash: entries[0]!.hash });
    expect(await store.verifyAudit()).toMatchObject({ ok: true });
  });

  it('on SQLite appends nothing while a write is queued, so the call\'s entry comes after it', async () => {
    const { store } = await sqlite();
    const first = store.appendAudit(entry(1));
    // Not yet written, and queued: the synchronous form declines instead of overtaking it.
    expect(store.appendAuditSync!(entry(99))).toBeUndefined();
    await first;
    const runtime = await Runtime.load(bundle, { root: FIXTURE, store });
    const { sync, async } = spied(store);
    // Many writes queued ahead: they take far more microtasks than the call does to reach its audit.
    const queued = Array.from({ length: 40 }, (_, i) => store.appendAudit(entry(i + 2)));
    const calling = runtime.callTool(call);
    expect((await calling).ok).toBe(true);
    await Promise.all(queued);
    expect(sync).toHaveReturnedWith(undefined);
    // 40 of the test's own, and the call's, which waited for its turn.
    expect(async).toHaveBeenCalledTimes(41);
    const entries = await store.listAudit({ tenant: 'default' });
    // The call's entry follows every write queued before its append; none is lost or doubled.
    expect(entries.map((e) => (e.action === 'call' ? 'call' : e.detail['n']))).toEqual([...Array.from({ length: 41 }, (_, i) => i + 1), 'call']);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 42 }, (_, i) => i + 1));
    expect(await store.verifyAudit()).toMatchObject({ ok: true });
    // Once the queue is empty the synchronous form is used again.
    sync.mockClear();
    async.mockClear();
    expect((await runtime.callTool(call)).ok).toBe(true);
    expect(sync).toHaveReturnedWith(expect.objectContaining({ seq: 43 }));
    expect(async).not.toHaveBeenCalled();
  });

  it('fails the call as a failed async append does (INTERNAL_ERROR, unaudited), without writing twice', async () => {
    for (const make of [
      async () => new MemoryStore(),
      async () => (await sqlite()).store,
    ]) {
      const store = await make();
      const async = vi.spyOn(store, 'appendAudit');
      Object.assign(store, { appendAuditSync: () => { throw new Error('disk full'); } });
      const runtime = await Runtime.load(bundle, { root: FIXTURE, store });
      const refused = await runtime.callTool(call);
      expect(refused.ok ? 'ok' : [refused.error.code, refused.error.message]).toEqual(UNAUDITED);
      expect(async).not.toHaveBeenCalled();
      expect(await store.listAudit({ tenant: 'default' })).toEqual([]);
    }
  });

  it('fails the call when the SQLite database refuses the entry, and rolls the entry back', async () => {
    const { db, store } = await sqlite();
    const runtime = await Runtime.load(bundle, { root: FIXTURE, store });
    expect((await runtime.callTool(call)).ok).toBe(true);
    // The chain head now points past the log: the append-only trigger refuses the next insert.
    await db.raw.all('UPDATE botc_audit_head SET seq = 7 WHERE tenant = ?', ['default']);
    const refused = await runtime.callTool(call);
    expect(refused.ok ? 'ok' : [refused.error.code, refused.error.message]).toEqual(UNAUDITED);
    expect((await store.listAudit({ tenant: 'default' })).map((e) => e.seq)).toEqual([1]);
    expect((await db.raw.all<{ seq: number }>('SELECT seq FROM botc_audit_head'))[0]!.seq).toBe(7);
  });
});

describe.skipIf(!PG_URL)('PostgreSQL', () => {
  it('has no synchronous append: the runtime awaits the async one, as before', async () => {
    const db = await postgresBackend.open();
    opened.push(db);
    const store = await db.connect();
    expect(store.appendAuditSync).toBeUndefined();
    const async = vi.spyOn(store, 'appendAudit');
    const runtime = await Runtime.load(bundle, { root: FIXTURE, store });
    expect((await runtime.callTool(call)).ok).toBe(true);
    expect(async).toHaveBeenCalledTimes(1);
    expect((await store.listAudit({ tenant: 'default' })).map((e) => e.action)).toEqual(['call']);
  });
});

describe('the deadline queue of an idle runtime', () => {
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('keeps its timer ref\'d while a call runs, and unrefs it on the next turn of the event loop once none does', async () => {
    const queue = new DeadlineQueue();
    const first = queue.add(60_000, undefined, () => undefined);
    const timer = (queue as unknown as { timer: NodeJS.Timeout }).timer;
    expect(timer.hasRef()).toBe(true);
    first.settle();
    // Calls that follow each other before the loop turns share one ref'd timer.
    const second = queue.add(60_000, undefined, () => undefined);
    second.settle();
    expect(timer.hasRef()).toBe(true);
    await turn();
    expect(timer.hasRef()).toBe(false);
    const third = queue.add(60_000, undefined, () => undefined);
    expect(timer.hasRef()).toBe(true);
    await turn();
    // Still running: still ref'd.
    expect(timer.hasRef()).toBe(true);
    third.settle();
    await turn();
    expect(timer.hasRef()).toBe(false);
  });

  it('tells an object\'s `expired` once when the deadline passes unsettled, and drops it when settled', () => {
    const queue = new DeadlineQueue();
    const target = { expired: vi.fn() };
    const fired = queue.add(60_000, undefined, target);
    fired.fire();
    fired.fire();
    expect(target.expired).toHaveBeenCalledTimes(1);
    const settled = queue.add(60_000, undefined, target);
    settled.settle();
    settled.fire();
    expect(target.expired).toHaveBeenCalledTimes(1);
  });
});

describe('the result BaseIntegration builds', () => {
  const SPEC = defineMethod({
    method_id: 'own.things.get.v1',
    description: 'Gets a thing.',
    input_schema: { type: 'object', additionalProperties: false, properties: {} },
    output_schema: { type: 'object', properties: {} },
    capabilities: ['read'],
    idempotency: 'safe_read',
  });
  const proxied = () => new Proxy({ ok: true, data: {}, meta: {} }, { get: (target, key) => Reflect.get(target, key) });

  class Own extends BaseIntegration {
    describeMethods(): MethodSpec[] {
      return [SPEC];
    }
    protected handlers(): Record<string, MethodHandler> {
      return { [SPEC.method_id]: async () => ({ data: { n: 1 } }) };
    }
  }

  /** Overrides the callback form: the runtime then calls `call`, and judges what it gets like any integration's. */
  class OwnCallback extends Own {
    override [callInto](_req: IntegrationCall, _ctx: CallContext, receiver: CallReceiver): void {
      receiver.answered(proxied() as unknown as IntegrationResult);
    }
  }

  /** Replaces what a subclass could: the base's result builders are not methods. */
  class OwnBuilders extends Own {
    succeeded(): unknown {
      return proxied();
    }
    failed(): unknown {
      return proxied();
    }
  }

  const run = (instance: BaseIntegration) => {
    const executor = new Executor({ validators: new Validators(), timeout_ms: 1000, retry_policy: { max_attempts: 1, backoff_ms: 0, max_backoff_ms: 0 }, credentials: undefined, store: new MemoryStore() });
    const plan: MethodPlan = { spec: SPEC, integration: { classification: 'read_only', lifecycle: 'active' } as unknown as BundleIntegration, instance, governance: { ok: true, kind: 'read' } };
    return executor.invoke({ plan, args: { method_id: SPEC.method_id, params: {} }, tenant: 't', traceId: 'tr', credential: undefined, started: performance.now(), record: undefined });
  };

  it('is trusted as plain only from the base\'s own callback form: an overridden one is judged like any result', async () => {
    const plain = await run(new Own({ provider: 'own', config: {} }));
    expect(plain.ok && plain.data).toEqual({ n: 1 });
    const overridden = await run(new OwnCallback({ provider: 'own', config: {} }));
    expect(overridden.ok ? 'ok' : overridden.error.code).toBe('PROVIDER_ERROR');
    const builders = await run(new OwnBuilders({ provider: 'own', config: {} }));
    expect(builders.ok && builders.data).toEqual({ n: 1 });
  });
});
