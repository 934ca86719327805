/**
 * Governance across real processes, on SQLite (one file) and PostgreSQL (one schema): each
 * runtime runs in a worker process of its own (test/helpers/gov-worker.mjs, over lib/), against
 * the loopback mail API of test/servers/mailer.ts, which counts what really left.
 *
 * - One idempotency key runs once: N processes confirming one write under one key send one
 *   request; the others replay its result.
 * - kill -9 while a confirmed write is at the provider leaves "attempted" in the audit log and an
 *   idempotency claim whose outcome is reported as unknown, never retried.
 *
 * Needs lib/ (`npm run build:lib`), as test/concurrency.test.ts does.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import type { Bundle } from '../src/bundle/format.ts';
import type { IntegrationResult } from '../src/integration/types.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import type { SqlStore } from '../src/state/sql-store.ts';
import { CredentialVault } from '../src/state/vault.ts';
import { confirmationOf } from './helpers/governance.ts';
import { describeStores, type TestDb } from './helpers/stores.ts';
import { tier } from './helpers/tier.ts';
import { tempDir } from './helpers/workspace.ts';
import { MAILER_TOKEN, startMailer, type MailerFake } from './servers/mailer.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures-governance/', import.meta.url));
const LIB = fileURLToPath(new URL('../lib/runtime/index.js', import.meta.url));
const WORKER = fileURLToPath(new URL('./helpers/gov-worker.mjs', import.meta.url));
const KEY = randomBytes(32);
const SEND = 'mailer.message.send.v1';
/** Processes racing on one key: 2 in the fast tier, 4 with BOTC_FULL=1. */
const PROCESSES = tier(2, 4);

let bundle: Bundle;
let bundlePath: string;
let mailer: MailerFake;

beforeAll(async () => {
  if (!existsSync(LIB)) throw new Error('lib/ is missing: run `npm run build:lib` first');
  const result = await build({ root: FIXTURE, write: false });
  expect(result.diagnostics).toEqual([]);
  bundle = result.built[0]!;
  bundlePath = path.join(tempDir('botc-gov-proc-'), 'govbot.bundle.json');
  writeFileSync(bundlePath, JSON.stringify(bundle));
  mailer = await startMailer();
});

afterAll(async () => {
  await mailer?.stop();
});

/** A runtime in a process of its own, answering calls and confirmations over IPC. */
class Worker {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (result: IntegrationResult) => void>();
  private next = 0;
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor() {
    this.child = fork(WORKER, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (message: { type: string; id?: number; result?: IntegrationResult }) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'result') this.waiting.get(message.id!)?.(message.result!);
      });
      void this.exited.then(({ code, signal }) => reject(new Error(`worker exited (${signal ?? code}) before it was ready`)));
    });
    this.child.send({ lib: LIB, root: FIXTURE, bundlePath, keyHex: KEY.toString('hex'), baseUrl: mailer.baseUrl });
  }

  private ask(message: Record<string, unknown>): Promise<IntegrationResult> {
    const id = ++this.next;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.send({ ...message, id });
    });
  }

  /** Connects to the store at `state` (a SQLite file or a PostgreSQL URL) and loads the bundle. */
  async open(state: string): Promise<void> {
    await this.ask({ type: 'open', state });
  }

  call(call: Record<string, unknown>): Promise<IntegrationResult> {
    return this.ask({ type: 'call', call });
  }

  confirm(request: Record<string, unknown>): Promise<IntegrationResult> {
    return this.ask({ type: 'confirm', request });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async close(): Promise<void> {
    if (this.alive) await this.ask({ type: 'close' });
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.send({ type: 'exit' });
    await this.exited;
  }
}

/** Worker processes, started once for the file (starting Node and loading lib/ is the slow part). */
let pool: Worker[] = [];
/** One more process per store for the kill -9 test, which needs one it may kill. */
let victims: Worker[] = [];

beforeAll(async () => {
  pool = Array.from({ length: PROCESSES }, () => new Worker());
  victims = Array.from({ length: 2 }, () => new Worker());
  await Promise.all([...pool, ...victims].map((w) => w.ready));
}, 120_000);

afterAll(async () => {
  await Promise.all([...pool, ...victims].map((w) => w.stop()));
});

const sendCall = (text: string, key: string) => ({
  expert: 'operator', tool: 'mail', op: 'call', tenant: 'acme', approver: 'alice',
  args: { method_id: SEND, params: { to: 'ops@example.com', text }, idempotency_key: key },
});

const posts = () => mailer.requests.filter((r) => r.method === 'POST' && r.path === '/messages');

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describeStores('idempotency and the audit log across processes', (backend) => {
  let db: TestDb;
  let store: SqlStore;
  let workers: Worker[] = [];

  beforeEach(async () => {
    db = await backend.open();
    store = await db.connect();
    await new CredentialVault(store, KEY).add('acme', 'mailer', MAILER_TOKEN, ['mail:send'], 'user:admin');
    mailer.reset();
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await db.dispose();
  });

  /** Workers connected to this test's store. */
  const start = async (chosen: Worker[]) => {
    workers.push(...chosen);
    await Promise.all(chosen.map((w) => w.open(db.url)));
    return chosen;
  };

  it(`${PROCESSES} processes confirming one non-idempotent write under one key send it once`, async () => {
    const all = await start(pool);
    const key = `once-${randomBytes(4).toString('hex')}`;
    // Each process proposes the same write under the same key, and holds its own token.
    const tokens: string[] = [];
    for (const w of all) tokens.push(confirmationOf(await w.call(sendCall('Exactly once.', key))).token);
    // The first send is slow at the provider, so the others arrive while it is in flight.
    mailer.slowNext(300);
    const results = await Promise.all(all.map((w, i) => w.confirm({ token: tokens[i], tenant: 'acme', approver: 'alice' })));

    expect(posts()).toHaveLength(1);
    expect(mailer.messages).toHaveLength(1);
    for (const r of results) expect(r.ok, JSON.stringify(r)).toBe(true);
    const data = results.map((r) => (r.ok ? r.data : null));
    for (const d of data) expect(d).toEqual(data[0]);
    expect(results.filter((r) => r.meta['idempotent_replay'] !== true)).toHaveLength(1);
    const [row] = await db.raw.all<{ state: string }>('SELECT state FROM botc_idempotency WHERE idem_key = ?', [key]);
    expect(row?.state).toBe('done');
    // Every process recorded its decision; one attempt reached the provider.
    expect(await store.listAudit({ tenant: 'acme', action: 'call.attempted' })).toHaveLength(1);
    expect(await store.listAudit({ tenant: 'acme', action: 'confirmation.used' })).toHaveLength(PROCESSES);
    expect(await store.verifyAudit('acme')).toMatchObject({ ok: true });
  }, 30_000);

  it('kill -9 while a confirmed write is at the provider leaves "attempted" in the log, and the key reports its outcome as unknown', async () => {
    const [worker] = await start([victims.shift()!]);
    const key = `crash-${randomBytes(4).toString('hex')}`;
    const token = confirmationOf(await worker!.call(sendCall('Sent, then killed.', key))).token;
    const trace = `trace-${randomBytes(4).toString('hex')}`;
    mailer.hangNext();
    void worker!.confirm({ token, tenant: 'acme', approver: 'alice', trace_id: trace });
    await until(() => posts().length === 1, 'the write to reach the provider');
    worker!.kill();
    expect((await worker!.exited).signal).toBe('SIGKILL');

    // The log says the write was attempted, and nothing says how it ended.
    const entries = (await store.listAudit({ tenant: 'acme' })).filter((e) => e.trace_id === trace);
    expect(entries.map((e) => `${e.action}:${e.outcome}`)).toEqual(['confirmation.used:ok', 'call.attempted:pending']);
    expect(entries[1]).toMatchObject({
      actor: 'user:alice', method_id: SEND,
      detail: { idempotency_key: key, bot: bundle.bot.id, bundle_digest: bundle.digest, confirmation_id: expect.stringMatching(/^conf_[0-9a-f]{32}$/) },
    });
    expect(await store.verifyAudit('acme')).toMatchObject({ ok: true });
    const [row] = await db.raw.all<{ state: string }>('SELECT state FROM botc_idempotency WHERE idem_key = ?', [key]);
    expect(row?.state).toBe('in_flight');

    // Later, once the claim's lease is over: the key answers "outcome unknown" and sends nothing.
    const later = await Runtime.load(bundle, {
      root: FIXTURE, store, credentials: new CredentialVault(store, KEY), providerConfig: { mailer: { base_url: `${mailer.baseUrl}/`, allow_private_network: true } },
      now: () => Date.now() + 60 * 60 * 1000,
    });
    const again = await later.callTool(sendCall('Sent, then killed.', key) as never);
    expect(again.ok).toBe(false);
    if (again.ok) throw new Error('unreachable');
    expect(again.error).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', retriable: false });
    expect(again.error.message).toMatch(/never recorded its outcome/);
    expect(again.meta['idempotency']).toMatchObject({ state: 'outcome_unknown' });
    expect(posts()).toHaveLength(1);
  }, 30_000);
});
