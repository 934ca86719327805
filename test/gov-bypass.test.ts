/**
 * Ways around a person that must stay closed, on both SQL stores, with the workspace of
 * test/fixtures-governance/ (bot `govbot`: `mailer` outbound against a loopback mail API,
 * `feed` inbound with records the test sets in `globalThis.__govFeed`):
 *
 * - imported records reach the caller only after review: not through a dry run, nor a replay
 *   of a stored result, nor a confirmation;
 * - a confirmation binds the bot and the bundle digest besides tenant, approver, preview and
 *   expiry; "any person may approve" is a deployment setting, never a call argument; every
 *   confirmation has a public id the store can look up;
 * - a confirmed send records its attempt before it leaves, so a failure to record the outcome
 *   still leaves "attempted" in the log;
 * - a claim on an idempotency key whose outcome is never recorded is reported, not retried;
 * - state made by an older botc is upgraded in place.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import { canonicalJson, sha256 } from '../src/bundle/canonical.ts';
import { bundleDigest, type Bundle } from '../src/bundle/format.ts';
import type { ErrorCode, IntegrationResult } from '../src/integration/types.ts';
import { Runtime, type RuntimeOptions, type ToolCall } from '../src/runtime/runtime.ts';
import type { SqlStore } from '../src/state/sql-store.ts';
import type { StateStore } from '../src/state/types.ts';
import { CredentialVault } from '../src/state/vault.ts';
import { confirmationOf, proposeWrite } from './helpers/governance.ts';
import { describeStores, type TestDb } from './helpers/stores.ts';
import { MAILER_TOKEN, startMailer, type MailerFake } from './servers/mailer.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures-governance/', import.meta.url));
const KEY = randomBytes(32);
const SEND = 'mailer.message.send.v1';
const IMPORT = 'feed.records.import.v1';

const g = globalThis as { __govFeed?: { pages: Record<string, { records: unknown[]; next_cursor?: string | null }>; log: unknown[] } };
const feed = () => (g.__govFeed ??= { pages: {}, log: [] });
const SECRET_RECORD = { id: 'r1', name: 'Unreviewed-Zebra-7Q', amount: 42 };

let bundle: Bundle;
let mailer: MailerFake;
let sequence = 0;
const unique = (name: string) => `${name}-${++sequence}-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  const result = await build({ root: FIXTURE, write: false });
  expect(result.diagnostics).toEqual([]);
  bundle = result.built[0]!;
  mailer = await startMailer();
});

afterAll(async () => {
  await mailer?.stop();
});

/** The built bundle with `edit` applied and its digest recomputed: a valid bundle of another build. */
function rebuilt(edit: (bundle: Bundle) => void): Bundle {
  const copy = structuredClone(bundle);
  edit(copy);
  copy.digest = bundleDigest(copy);
  return copy;
}

function toolCall(tool: string, method_id: string, params: Record<string, unknown>, extra: Partial<ToolCall> & { dry_run?: boolean; idempotency_key?: string } = {}): ToolCall {
  const { dry_run, idempotency_key, ...call } = extra;
  return {
    expert: 'operator', tool, op: 'call', tenant: 'acme', ...call,
    args: { method_id, params, ...(dry_run !== undefined ? { dry_run } : {}), ...(idempotency_key !== undefined ? { idempotency_key } : {}) },
  };
}

const message = (text = 'Deploy finished.') => ({ to: 'ops@example.com', text });

function expectCode(result: IntegrationResult, code: ErrorCode): string {
  expect(result.ok, JSON.stringify(result).slice(0, 600)).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error.code, result.error.message).toBe(code);
  expect('data' in result).toBe(false);
  return result.error.message;
}

function expectOk(result: IntegrationResult): unknown {
  expect(result.ok, JSON.stringify(result).slice(0, 600)).toBe(true);
  if (!result.ok) throw new Error('unreachable');
  return result.data;
}

describeStores('governance bypasses', (backend) => {
  let db: TestDb;
  let store: SqlStore;
  let runtime: Runtime;

  const load = (options: Partial<RuntimeOptions> = {}, from: Bundle | string = bundle, on: StateStore = store) =>
    Runtime.load(from, {
      root: FIXTURE,
      store: on,
      credentials: new CredentialVault(on, KEY),
      providerConfig: { mailer: { base_url: `${mailer.baseUrl}/`, allow_private_network: true } },
      ...options,
    });

  beforeEach(async () => {
    db = await backend.open();
    store = await db.connect();
    await new CredentialVault(store, KEY).add('acme', 'mailer', MAILER_TOKEN, ['mail:send'], 'user:admin');
    runtime = await load();
    mailer.reset();
  });

  afterEach(async () => {
    await db.dispose();
  });

  const importCall = (source: string, extra: { dry_run?: boolean; idempotency_key?: string } = {}) => toolCall('feed', IMPORT, { source }, extra);

  it('a dry run of an import answers REVIEW_REQUIRED without the records, and queues or stores nothing', async () => {
    const source = unique('dry');
    feed().pages[source] = { records: [SECRET_RECORD, { id: 'r2', name: 'Other', amount: 1 }] };
    const result = await runtime.callTool(importCall(source, { dry_run: true }));
    expect(expectCode(result, 'REVIEW_REQUIRED')).toMatch(/dry run: 2 imported record\(s\) would wait for review; nothing was queued/);
    expect(result.meta['review']).toEqual({ batch_id: null, records: 2, pending: 0, queued: false });
    expect(result.meta['dry_run']).toBe(true);
    expect(JSON.stringify(result)).not.toContain(SECRET_RECORD.name);
    expect(await store.listReviews({ tenant: 'acme' })).toEqual([]);
    // Under an idempotency key neither the answer nor its replay carry the records, nor does the store.
    const keyed = await runtime.callTool(importCall(source, { dry_run: true, idempotency_key: unique('k') }));
    expectCode(keyed, 'REVIEW_REQUIRED');
    const key = (keyed as { meta: unknown }).meta;
    expect(JSON.stringify(key)).not.toContain(SECRET_RECORD.name);
    expect(JSON.stringify(await db.raw.all('SELECT * FROM botc_idempotency'))).not.toContain(SECRET_RECORD.name);
  });

  it('a stored import result replayed by its idempotency key answers REVIEW_REQUIRED without the records', async () => {
    const source = unique('replay');
    const key = unique('old-key');
    // A result stored under the key by an older botc, records included.
    const params = { source };
    const digest = sha256(canonicalJson({ params, cursor: null, dry_run: false }));
    const stored = { ok: true, data: { records: [SECRET_RECORD] }, meta: { provider_request_id: null, latency_ms: 1, next_cursor: null, rate_limit_remaining: null, cost_units: null, provenance: { source_type: 'feed', source_ref: null } } };
    expect((await store.putIdempotency('acme', IMPORT, key, { args_sha256: digest, result: stored as IntegrationResult })).args_sha256).toBe(digest);
    const replayed = await runtime.callTool(importCall(source, { idempotency_key: key }));
    expect(expectCode(replayed, 'REVIEW_REQUIRED')).toMatch(/1 imported record\(s\) are not reviewed/);
    expect(JSON.stringify(replayed)).not.toContain(SECRET_RECORD.name);
  });

  it('a confirmation can never run an import: its records would skip review', async () => {
    const source = unique('confirm');
    feed().pages[source] = { records: [SECRET_RECORD] };
    // A confirmation row for the import, as someone with write access to the store could plant.
    const token = `botc_confirm_${randomBytes(32).toString('base64url')}`;
    await store.createConfirmation({
      token_sha256: sha256(token), id: `conf_${randomBytes(16).toString('hex')}`, bot: bundle.bot.id, bundle_digest: bundle.digest, bundle_path: null,
      // The sha256 of what the import's dry run answered before: its records, so the preview matches.
      tenant: 'acme', approver: 'alice', expires_at: Date.now() + 60_000, preview_sha256: sha256(canonicalJson({ records: [SECRET_RECORD] })), expert: 'operator', tool: 'feed',
      method_id: IMPORT, call_json: canonicalJson({ params: { source } }), created_at: Date.now(),
    });
    const result = await runtime.confirm({ token, tenant: 'acme', approver: 'alice' });
    expect(expectCode(result, 'CONFLICT')).toMatch(/not an outbound write/);
    expect(JSON.stringify(result)).not.toContain(SECRET_RECORD.name);
  });

  it('a token proposed through one bot cannot be confirmed through another bot, nor with another build of the bundle', async () => {
    const otherBot = await load({}, rebuilt((b) => {
      b.bot.id = 'lookalike';
    }));
    const otherBuild = await load({}, rebuilt((b) => {
      b.bot.description = 'The same bot, built again with other rules.';
    }));
    const { confirmation } = await proposeWrite(runtime, toolCall('mail', SEND, message()), 'alice');
    const confirm = (rt: Runtime) => rt.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' });
    expect(expectCode(await confirm(otherBot), 'AUTH_FORBIDDEN')).toMatch(/proposed through bot `govbot`/);
    expect(expectCode(await confirm(otherBuild), 'CONFLICT')).toMatch(/proposed with bundle/);
    expect(mailer.requests).toEqual([]);
    // The refusals name what they refused; the token still works with its own bundle.
    const refused = await store.listAudit({ tenant: 'acme', action: 'confirmation.rejected' });
    expect(refused.map((e) => e.detail)).toEqual([
      expect.objectContaining({ bot: 'govbot', bundle_digest: bundle.digest, running_bot: 'lookalike' }),
      expect.objectContaining({ bot: 'govbot', bundle_digest: bundle.digest, running_bot: 'govbot' }),
    ]);
    expectOk(await confirm(runtime));
    expect(mailer.requests).toHaveLength(1);
  });

  it('a call cannot name approver "*" or otherwise widen who may approve; any person is a deployment setting', async () => {
    for (const approver of ['*', 'alice*', ' alice', '', 'x'.repeat(201), 'bob\u0000']) {
      const result = await runtime.callTool(toolCall('mail', SEND, message(), { approver }));
      expectCode(result, 'VALIDATION_FAILED');
    }
    // Without an approver, the default deployment refuses to propose.
    expect(expectCode(await runtime.callTool(toolCall('mail', SEND, message())), 'VALIDATION_FAILED')).toMatch(/needs the person who must approve/);
    expect(await db.raw.all('SELECT * FROM botc_confirmation')).toEqual([]);
    expect(mailer.requests).toEqual([]);
    // A deployment that lets any person of the tenant approve says so in its options.
    const anyone = await load({ any_approver: true });
    const open = confirmationOf(await anyone.callTool(toolCall('mail', SEND, message())));
    expect(open.approver).toBe('*');
    // Nor can the person confirming be a pattern.
    expectCode(await anyone.confirm({ token: open.token, tenant: 'acme', approver: '*' }), 'VALIDATION_FAILED');
    expectOk(await anyone.confirm({ token: open.token, tenant: 'acme', approver: 'dana' }));
    // Even there a call cannot name `*` itself.
    expectCode(await anyone.callTool(toolCall('mail', SEND, message(), { approver: '*' })), 'VALIDATION_FAILED');
    expect(mailer.requests).toHaveLength(1);
  });

  it('every confirmation has a public id, stored beside the token hash with the bot and bundle; the audit entries name them', async () => {
    const path = `${FIXTURE}dist/govbot.bundle.json`;
    const fromFile = await load({ bundle_path: path });
    const { confirmation } = await proposeWrite(fromFile, toolCall('mail', SEND, message()), 'alice');
    const pending = confirmation as typeof confirmation & { id: string; bot: string; bundle_digest: string };
    expect(pending.id).toMatch(/^conf_[0-9a-f]{32}$/);
    expect(pending).toMatchObject({ bot: 'govbot', bundle_digest: bundle.digest });
    const row = await store.getConfirmationById(pending.id);
    expect(row).toMatchObject({ id: pending.id, token_sha256: sha256(confirmation.token), bot: 'govbot', bundle_digest: bundle.digest, bundle_path: path, approver: 'alice', used_at: null });
    expect(JSON.stringify(row)).not.toContain(confirmation.token);
    expect(await store.getConfirmationById('conf_0')).toBeUndefined();
    expect(await store.getConfirmationById('')).toBeUndefined();

    expectOk(await fromFile.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }));
    const named = { confirmation_id: pending.id, bot: 'govbot', bundle_digest: bundle.digest };
    const entries = await store.listAudit({ tenant: 'acme', integration: 'mailer' });
    for (const action of ['confirmation.created', 'confirmation.used', 'call.attempted']) {
      expect(entries.find((e) => e.action === action)?.detail, action).toMatchObject(named);
    }
    expect(entries.find((e) => e.action === 'call' && e.actor === 'user:alice')?.detail).toMatchObject(named);
    expect((await store.getConfirmationById(pending.id))?.used_at).not.toBeNull();
  });

  it('a confirmed send records its attempt before it leaves: when its outcome cannot be recorded, the log still says "attempted"', async () => {
    // The store fails every append of a confirmed call's outcome, as a crash right after the send would.
    const failing = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'appendAudit') {
          return (entry: Parameters<SqlStore['appendAudit']>[0]) =>
            entry.action === 'call' && entry.actor.startsWith('user:') ? Promise.reject(new Error('disk full')) : target.appendAudit(entry);
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const rt = await load({}, bundle, failing);
    const { confirmation } = await proposeWrite(rt, toolCall('mail', SEND, message('Attempted.')), 'alice');
    const result = await rt.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice', trace_id: 'trace-attempt' });
    expect(expectCode(result, 'INTERNAL_ERROR')).toMatch(/outcome as unknown/);
    expect(mailer.requests).toHaveLength(1);
    const entries = (await store.listAudit({ tenant: 'acme' })).filter((e) => e.trace_id === 'trace-attempt');
    expect(entries.map((e) => `${e.action}:${e.outcome}`)).toEqual(['confirmation.used:ok', 'call.attempted:pending']);
    expect(entries[1]).toMatchObject({ actor: 'user:alice', method_id: SEND, detail: { expert: 'operator', tool: 'mail', bot: 'govbot' } });
  });

  it('when the attempt cannot be recorded, nothing is sent', async () => {
    const failing = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'appendAudit') {
          return (entry: Parameters<SqlStore['appendAudit']>[0]) => (entry.action === 'call.attempted' ? Promise.reject(new Error('disk full')) : target.appendAudit(entry));
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const rt = await load({}, bundle, failing);
    const { confirmation } = await proposeWrite(rt, toolCall('mail', SEND, message()), 'alice');
    expect(expectCode(await rt.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }), 'INTERNAL_ERROR')).toMatch(/nothing was sent/);
    expect(mailer.requests).toEqual([]);
  });

  it('a key whose call never recorded its outcome is reported as unknown and not run again; within the lease a second runtime waits for the outcome', async () => {
    const key = unique('lost');
    // The first runtime's store loses the outcome: the claim stays in flight, as after a crash.
    const losing = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'completeIdempotency') return () => Promise.reject(new Error('connection lost'));
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const rt = await load({}, bundle, losing);
    const { confirmation } = await proposeWrite(rt, toolCall('mail', SEND, message(), { idempotency_key: key }), 'alice');
    expectCode(await rt.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }), 'INTERNAL_ERROR');
    expect(mailer.requests).toHaveLength(1);
    expect(await db.raw.all('SELECT state FROM botc_idempotency')).toEqual([{ state: 'in_flight' }]);

    const later = await load({ now: () => Date.now() + 60 * 60 * 1000 }, bundle, await db.connect());
    const again = await later.callTool(toolCall('mail', SEND, message(), { idempotency_key: key, approver: 'alice' }));
    expect(expectCode(again, 'IDEMPOTENCY_CONFLICT')).toMatch(/never recorded its outcome/);
    expect(again.ok === false && again.error.retriable).toBe(false);
    expect(again.meta['idempotency']).toMatchObject({ state: 'outcome_unknown' });
    // With other arguments the key is simply taken.
    expect(expectCode(await later.callTool(toolCall('mail', SEND, message('other'), { idempotency_key: key, approver: 'alice' })), 'IDEMPOTENCY_CONFLICT')).toMatch(/other arguments/);
    expect(mailer.requests).toHaveLength(1);

    // A second runtime (another connection) that finds a claim in flight waits for its outcome.
    const other = await load({}, bundle, await db.connect());
    const waitKey = unique('wait');
    const first = (await proposeWrite(runtime, toolCall('mail', SEND, message('wait'), { idempotency_key: waitKey }), 'alice')).confirmation;
    const second = (await proposeWrite(other, toolCall('mail', SEND, message('wait'), { idempotency_key: waitKey }), 'alice')).confirmation;
    mailer.slowNext(300);
    const [a, b] = await Promise.all([
      runtime.confirm({ token: first.token, tenant: 'acme', approver: 'alice' }),
      new Promise((resolve) => setTimeout(resolve, 100)).then(() => other.confirm({ token: second.token, tenant: 'acme', approver: 'alice' })),
    ]);
    expect(expectOk(b!)).toEqual(expectOk(a));
    expect(b!.meta['idempotent_replay']).toBe(true);
    expect(mailer.requests).toHaveLength(2);
  });

  it('a confirmed send never takes the answer of a proposal in flight with the same key for its own', async () => {
    // Lookups of keys are slow, so the proposal below is still in flight when the confirmation runs.
    const slow = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'readIdempotency') {
          return (...args: Parameters<SqlStore['readIdempotency']>) => new Promise((resolve) => setTimeout(resolve, 300)).then(() => target.readIdempotency(...args));
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const rt = await load({}, bundle, slow);
    const key = unique('mixed');
    const call = toolCall('mail', SEND, message('mixed'), { idempotency_key: key, approver: 'alice' });
    const { confirmation } = await proposeWrite(rt, call, 'alice');
    const [proposal, sent] = await Promise.all([
      rt.callTool(call),
      new Promise((resolve) => setTimeout(resolve, 50)).then(() => rt.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' })),
    ]);
    expect(expectOk(sent!)).toMatchObject({ text: 'mixed' });
    expect(mailer.requests).toHaveLength(1);
    // The proposal that looked the key up in flight got the sent result or a confirmation of its own.
    expect(proposal.ok || (proposal.error.code === 'CONFIRMATION_REQUIRED')).toBe(true);
  });

  it('state made by an older botc is upgraded in place: its results replay, its unbound confirmations are refused', async () => {
    // Take the database back to the old layout: no claim columns, no confirmation id or bundle.
    await db.raw.exec('DROP INDEX botc_confirmation_by_id');
    for (const [table, column] of [['botc_idempotency', 'state'], ['botc_idempotency', 'claimed_at'], ['botc_idempotency', 'claim_id'],
      ['botc_confirmation', 'id'], ['botc_confirmation', 'bot'], ['botc_confirmation', 'bundle_digest'], ['botc_confirmation', 'bundle_path']]) {
      await db.raw.exec(`ALTER TABLE ${table} DROP COLUMN ${column}`);
    }
    const params = { key: 'draft-1', text: 'Draft' };
    const digest = sha256(canonicalJson({ params, cursor: null, dry_run: false }));
    const result = { ok: true, data: { key: 'draft-1', stored: true }, meta: { provider_request_id: null, latency_ms: 1, next_cursor: null, rate_limit_remaining: null, cost_units: null, provenance: { source_type: 'mailer', source_ref: null } } };
    await db.raw.all('INSERT INTO botc_idempotency (tenant, method_id, idem_key, args_sha256, result_json) VALUES (?, ?, ?, ?, ?)', ['acme', 'mailer.outbox.put.v1', 'old-put', digest, JSON.stringify(result)]);
    const token = `botc_confirm_${randomBytes(32).toString('base64url')}`;
    await db.raw.all(
      `INSERT INTO botc_confirmation (token_sha256, tenant, approver, expires_at, preview_sha256, expert, tool, method_id, call_json, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [sha256(token), 'acme', 'alice', Date.now() + 60_000, sha256('x'), 'operator', 'mail', SEND, canonicalJson({ params: message() }), Date.now()],
    );

    const upgraded = await load({}, bundle, await db.connect());
    const replay = await upgraded.callTool(toolCall('mail', 'mailer.outbox.put.v1', params, { idempotency_key: 'old-put', approver: 'alice' }));
    expect(expectOk(replay)).toEqual({ key: 'draft-1', stored: true });
    expect(replay.meta['idempotent_replay']).toBe(true);
    expect(expectCode(await upgraded.confirm({ token, tenant: 'acme', approver: 'alice' }), 'CONFLICT')).toMatch(/predates bundle binding/);
    // New confirmations get ids again.
    const { confirmation } = await proposeWrite(upgraded, toolCall('mail', SEND, message()), 'alice');
    expect((confirmation as { id?: string }).id).toMatch(/^conf_/);
    expect(mailer.requests).toEqual([]);
  });
});
