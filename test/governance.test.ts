/**
 * The governance rules of seeds 000 and 002 and SECURITY.md items 13–19, proven at run time
 * against both SQL stores (SQLite in a temporary file, PostgreSQL in a schema of its own), with
 * the workspace in test/fixtures-governance/ (bot `govbot`, expert `operator`):
 *
 * - `mailer` (outbound, HttpIntegration): a non_idempotent send and an idempotent put, both
 *   needing the `mail:send` scope, against a loopback server that counts what really left;
 * - `feed` (inbound): an import whose records the test sets in `globalThis.__govFeed`;
 * - `ref` (read_only): a read needing `ref:read`, logging the tenant and secret it was handed;
 * - `partner` (tier-1 partner, read permission only): one read.
 *
 * Bundles that break a rule are made by editing the built bundle and recomputing its digest, as
 * a forged but correctly signed bundle would be: the runtime must still enforce the rule.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { build } from '../src/build/build.ts';
import { canonicalJson, sha256 } from '../src/bundle/canonical.ts';
import { bundleDigest, type Bundle } from '../src/bundle/format.ts';
import { HttpIntegration, defineMethod, type HandlerInput } from '../src/integration/index.ts';
import type { CallContext, ErrorCode, IntegrationResult, RetryPolicy } from '../src/integration/types.ts';
import { BundleLoadError } from '../src/runtime/bundle.ts';
import { Runtime, type RuntimeOptions, type ToolCall } from '../src/runtime/runtime.ts';
import { decideReview } from '../src/state/reviews.ts';
import type { SqlStore } from '../src/state/sql-store.ts';
import type { AuditEntry } from '../src/state/types.ts';
import { CredentialVault } from '../src/state/vault.ts';
import { callConfirmed, confirmationOf, proposeWrite } from './helpers/governance.ts';
import { describeStores, type TestDb } from './helpers/stores.ts';
import { MAILER_TOKEN, startMailer, type MailerFake } from './servers/mailer.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures-governance/', import.meta.url));
const KEY = randomBytes(32);
const REF_SECRET_A = 'refkey_A_5mN8bV3cX1zLq0Wp';
const REF_SECRET_B = 'refkey_B_9kJ4hG7fD2sAy6Tr';
const SECRETS = [MAILER_TOKEN, REF_SECRET_A, REF_SECRET_B];

const SEND = 'mailer.message.send.v1';
const PUT = 'mailer.outbox.put.v1';
const LIST = 'mailer.message.list.v1';
const IMPORT = 'feed.records.import.v1';
const REF = 'ref.items.get.v1';
const PARTNER = 'partner.data.get.v1';
const TTL = 15 * 60 * 1000;
const RETRIES: RetryPolicy = { max_attempts: 3, backoff_ms: 1, max_backoff_ms: 5 };

interface FeedRecord {
  id: string;
  name: string;
  amount: number | string;
}
const g = globalThis as {
  __govFeed?: { pages: Record<string, { records: FeedRecord[]; next_cursor?: string | null }>; log: { tenant: string; source: string; dry_run: boolean }[] };
  __govRef?: { log: { tenant: string; id: string; secret: string | null }[] };
  __govPartner?: { log: { tenant: string; tag: string | null }[] };
};
const feed = () => (g.__govFeed ??= { pages: {}, log: [] });
const refLog = () => (g.__govRef ??= { log: [] }).log;
const partnerLog = () => (g.__govPartner ??= { log: [] }).log;

let sequence = 0;
const unique = (name: string) => `${name}-${++sequence}`;

let bundle: Bundle;
let mailer: MailerFake;

beforeAll(async () => {
  const result = await build({ root: FIXTURE, write: false });
  expect(result.diagnostics).toEqual([]);
  bundle = result.built[0]!;
  mailer = await startMailer();
});

afterAll(async () => {
  await mailer?.stop();
});

/** The built bundle with `edit` applied and its digest recomputed: a forged, correctly signed bundle. */
function forged(edit: (bundle: Bundle) => void): Bundle {
  const copy = structuredClone(bundle);
  edit(copy);
  copy.digest = bundleDigest(copy);
  return copy;
}

interface CallOptions {
  tenant?: string;
  approver?: string;
  dry_run?: boolean;
  idempotency_key?: string;
  cursor?: string;
}

function toolCall(tool: string, method_id: string, params: Record<string, unknown>, options: CallOptions = {}): ToolCall {
  const { tenant = 'acme', approver, ...rest } = options;
  return { expert: 'operator', tool, op: 'call', tenant, ...(approver ? { approver } : {}), args: { method_id, params, ...rest } };
}

const message = (text = 'Deploy finished.', extra: Record<string, unknown> = {}) => ({ to: 'ops@example.com', text, ...extra });

function expectCode(result: IntegrationResult, code: ErrorCode): string {
  expect(result.ok, JSON.stringify(result).slice(0, 600)).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error.code, result.error.message).toBe(code);
  expect('data' in result).toBe(false);
  expectNoSecret(result);
  return result.error.message;
}

function expectOk(result: IntegrationResult): unknown {
  expect(result.ok, JSON.stringify(result).slice(0, 600)).toBe(true);
  if (!result.ok) throw new Error('unreachable');
  expectNoSecret(result);
  return result.data;
}

function expectNoSecret(value: unknown): void {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  for (const secret of SECRETS) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(Buffer.from(secret).toString('base64'));
  }
}

describeStores('governance', (backend) => {
  let db: TestDb;
  let store: SqlStore;
  let vault: CredentialVault;
  let clock: { now: number };
  let runtime: Runtime;

  const load = (options: Partial<RuntimeOptions> = {}, from: Bundle = bundle, on: SqlStore = store) =>
    Runtime.load(from, {
      root: FIXTURE,
      store: on,
      credentials: new CredentialVault(on, KEY, () => clock.now),
      providerConfig: { mailer: { base_url: `${mailer.baseUrl}/`, allow_private_network: true } },
      now: () => clock.now,
      ...options,
    });
  const audit = (filter: Parameters<SqlStore['listAudit']>[0] = {}) => store.listAudit({ limit: 100_000, ...filter });
  /** `action:outcome` of each entry, in the tenant's chain order (a call's own entry follows what it caused). */
  const actions = (entries: AuditEntry[]) => [...entries].sort((a, b) => a.seq - b.seq).map((e) => `${e.action}:${e.outcome}`);
  const byKey = <T extends { record_key: string }>(items: T[]) => [...items].sort((a, b) => a.record_key.localeCompare(b.record_key));

  beforeEach(async () => {
    db = await backend.open();
    store = await db.connect();
    clock = { now: Date.parse('2030-01-01T09:00:00Z') };
    vault = new CredentialVault(store, KEY, () => clock.now);
    await vault.add('acme', 'mailer', MAILER_TOKEN, ['mail:send'], 'user:admin');
    runtime = await load();
    mailer.reset();
  });

  afterEach(async () => {
    await db.dispose();
  });

  describe('read-only means read-only at run time', () => {
    it('a read_only integration carrying a write or import method does not load, so it is never invoked', async () => {
      await vault.add('acme', 'ref', REF_SECRET_A, ['ref:read'], 'user:admin');
      const id = unique('ro');
      // The module declares a read: a bundle that says otherwise is refused when it loads.
      await expect(load({}, forged((b) => {
        b.methods[REF]!.capabilities = ['read', 'write'];
        b.methods[REF]!.idempotency = 'idempotent_write';
      }))).rejects.toThrow(BundleLoadError);
      await expect(load({}, forged((b) => {
        b.methods[REF]!.capabilities = ['import'];
        b.methods[REF]!.idempotency = 'idempotent_write';
      }))).rejects.toThrow(BundleLoadError);
      expect(refLog().filter((e) => e.id === id)).toEqual([]);
      // The control: the honest bundle reads.
      expect(expectOk(await runtime.callTool(toolCall('ref', REF, { id })))).toEqual({ id, name: `Item ${id}` });
      expect(refLog().filter((e) => e.id === id)).toHaveLength(1);
    });

    it('an inbound integration carrying a write method does not load; nothing is imported', async () => {
      const source = unique('src');
      feed().pages[source] = { records: [{ id: 'r1', name: 'Alpha', amount: 1 }] };
      await expect(load({}, forged((b) => {
        b.methods[IMPORT]!.capabilities = ['import', 'deliver'];
      }))).rejects.toThrow(BundleLoadError);
      expect(feed().log.filter((e) => e.source === source)).toEqual([]);
      expect(await store.listReviews({ tenant: 'acme' })).toEqual([]);
    });
  });

  describe('outbound: preview, then a person confirms', () => {
    it('answers CONFIRMATION_REQUIRED with a token and the exact preview; nothing is sent', async () => {
      const result = await runtime.callTool(toolCall('mail', SEND, message(), { approver: 'alice' }));
      const confirmation = confirmationOf(result);
      expectNoSecret(result);
      expect(confirmation.approver).toBe('alice');
      expect(Date.parse(confirmation.expires_at)).toBe(clock.now + TTL);
      expect(confirmation.preview).toEqual({
        dry_run: true,
        request: {
          method: 'POST',
          url: `${mailer.baseUrl}/messages`,
          headers: { accept: 'application/json', authorization: '[redacted]', 'content-type': 'application/json; charset=utf-8' },
          body: message(),
        },
      });
      expect(confirmation.preview_sha256).toBe(sha256(canonicalJson(confirmation.preview)));
      expect(mailer.requests).toEqual([]);
      // Only the token's hash is stored.
      const rows = await db.raw.all<{ token_sha256: string; used_at: unknown }>('SELECT * FROM botc_confirmation');
      expect(rows).toHaveLength(1);
      expect(rows[0]!.token_sha256).toBe(sha256(confirmation.token));
      expect(JSON.stringify(rows)).not.toContain(confirmation.token);
      expect(actions(await audit({ tenant: 'acme', integration: 'mailer' }))).toEqual(['credential.added:ok', 'confirmation.created:pending', 'call:CONFIRMATION_REQUIRED']);
    });

    it('confirm sends exactly once, with the tenant credential; the token is single-use', async () => {
      const { confirmation } = await proposeWrite(runtime, toolCall('mail', SEND, message()), 'alice');
      const sent = await runtime.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' });
      expect(expectOk(sent)).toEqual({ id: 'm1', ...message() });
      expect(mailer.requests).toEqual([expect.objectContaining({ method: 'POST', path: '/messages', auth: 'valid', body: message() })]);
      const again = await runtime.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' });
      expect(expectCode(again, 'CONFLICT')).toMatch(/already used/);
      expect(again.meta['confirmation']).toMatchObject({ id: confirmation.id, status: 'executed', decided_by: 'alice' });
      expect(mailer.requests).toHaveLength(1);
      expect(mailer.messages).toHaveLength(1);
      expect(actions(await audit({ tenant: 'acme', integration: 'mailer' }))).toEqual([
        'credential.added:ok', 'confirmation.created:pending', 'call:CONFIRMATION_REQUIRED', 'confirmation.used:ok', 'call.attempted:pending', 'call:ok', 'confirmation.rejected:CONFLICT',
      ]);
    });

    it('binds the token to its tenant', async () => {
      await vault.add('globex', 'mailer', MAILER_TOKEN, ['mail:send'], 'user:admin');
      const { confirmation } = await proposeWrite(runtime, toolCall('mail', SEND, message()), 'alice');
      expect(expectCode(await runtime.confirm({ token: confirmation.token, tenant: 'globex', approver: 'alice' }), 'AUTH_FORBIDDEN')).toMatch(/another tenant/);
      expect(mailer.requests).toEqual([]);
      expect(await audit({ tenant: 'globex', action: 'confirmation.rejected' })).toHaveLength(1);
      expectOk(await runtime.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }));
      expect(mailer.requests).toHaveLength(1);
    });

    it('binds the token to its approver: a wrong approver fails and the token stays usable by the right one', async () => {
      const { confirmation } = await proposeWrite(runtime, toolCall('mail', SEND, message()), 'alice');
      expect(expectCode(await runtime.confirm({ token: confirmation.token, tenant: 'acme', approver: 'mallory' }), 'AUTH_FORBIDDEN')).toMatch(/only alice/);
      expect(mailer.requests).toEqual([]);
      expectOk(await runtime.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }));
      expect(mailer.requests).toHaveLength(1);
      const decided = await audit({ tenant: 'acme', integration: 'mailer' });
      expect(decided.filter((e) => e.action.startsWith('confirmation.') && e.action !== 'confirmation.created').map((e) => [e.action, e.actor, e.outcome])).toEqual([
        ['confirmation.rejected', 'user:mallory', 'AUTH_FORBIDDEN'],
        ['confirmation.used', 'user:alice', 'ok'],
      ]);
    });

    it('refuses an unknown or forged token', async () => {
      await proposeWrite(runtime, toolCall('mail', SEND, message()), 'alice');
      for (const token of ['', 'x', randomBytes(32).toString('base64url')]) {
        expectCode(await runtime.confirm({ token, tenant: 'acme', approver: 'alice' }), 'CONFIRMATION_REQUIRED');
      }
      expect(mailer.requests).toEqual([]);
    });

    it('expires: a token is refused once its time is up', async () => {
      const late = (await proposeWrite(runtime, toolCall('mail', SEND, message('late')), 'alice')).confirmation;
      const early = (await proposeWrite(runtime, toolCall('mail', SEND, message('early')), 'alice')).confirmation;
      clock.now += TTL - 1;
      expectOk(await runtime.confirm({ token: early.token, tenant: 'acme', approver: 'alice' }));
      clock.now += 1;
      expect(expectCode(await runtime.confirm({ token: late.token, tenant: 'acme', approver: 'alice' }), 'CONFIRMATION_REQUIRED')).toMatch(/expired/);
      expect(mailer.messages.map((m) => m.text)).toEqual(['early']);
      // A shorter TTL from the deployment.
      const brief = await load({ confirmation_ttl_ms: 1000 });
      const quick = (await proposeWrite(brief, toolCall('mail', SEND, message('quick')), 'alice')).confirmation;
      expect(Date.parse(quick.expires_at)).toBe(clock.now + 1000);
      clock.now += 1000;
      expectCode(await brief.confirm({ token: quick.token, tenant: 'acme', approver: 'alice' }), 'CONFIRMATION_REQUIRED');
      expect(mailer.requests).toHaveLength(1);
    });

    it('refuses to confirm params other than the previewed ones, even where the preview would not show the difference', async () => {
      const params = message('hello', { tag: 'one' });
      const { confirmation } = await proposeWrite(runtime, toolCall('mail', SEND, params), 'alice');
      const confirm = (p: Record<string, unknown>) => runtime.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice', params: p });
      expectCode(await confirm(message('HELLO', { tag: 'one' })), 'CONFLICT');
      // `tag` is not sent, so the preview is the same: still not what was confirmed.
      expectCode(await confirm(message('hello', { tag: 'two' })), 'CONFLICT');
      expectCode(await confirm(message('hello')), 'CONFLICT');
      expect(mailer.requests).toEqual([]);
      // The same params (in another key order) are the confirmed request.
      expectOk(await confirm({ tag: 'one', text: 'hello', to: 'ops@example.com' }));
      expect(mailer.messages).toEqual([{ id: 'm1', to: 'ops@example.com', text: 'hello' }]);
    });

    it('refuses when what would be sent changed since the preview (another base URL)', async () => {
      const { confirmation } = await proposeWrite(runtime, toolCall('mail', SEND, message()), 'alice');
      const moved = await load({ providerConfig: { mailer: { base_url: 'http://127.0.0.1:9/elsewhere/', allow_private_network: true } } });
      expect(expectCode(await moved.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }), 'CONFLICT')).toMatch(/no longer matches/);
      expect(mailer.requests).toEqual([]);
      expectOk(await runtime.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }));
    });

    it('a failing send leaves no partial state and is not retried silently', async () => {
      const retrying = await load({ retry_policy: RETRIES });
      const { confirmation } = await proposeWrite(retrying, toolCall('mail', SEND, message()), 'alice');
      mailer.failNext(503);
      const failed = await retrying.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' });
      expectCode(failed, 'PROVIDER_UNAVAILABLE');
      expect(failed.ok === false && failed.error.retriable).toBe(true);
      // A non-idempotent send without a key: one attempt, whatever the retry policy.
      expect(failed.meta['attempts']).toHaveLength(1);
      expect(mailer.requests).toHaveLength(1);
      expect(mailer.messages).toEqual([]);
      // The token is used up: nothing re-sends it behind the person's back.
      expectCode(await retrying.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }), 'CONFLICT');
      expect(mailer.requests).toHaveLength(1);
      expect(await audit({ action: 'retry' })).toEqual([]);
      expect(await db.raw.all('SELECT * FROM botc_idempotency')).toEqual([]);
      const [call] = await audit({ tenant: 'acme', action: 'call', outcome: 'PROVIDER_UNAVAILABLE' });
      expect(call!.detail['attempts']).toEqual([expect.objectContaining({ attempt: 1, code: 'PROVIDER_UNAVAILABLE' })]);
    });

    it('two concurrent confirms of one token, from two runtimes on two connections, send once', async () => {
      const other = await load({}, bundle, await db.connect());
      for (let round = 0; round < 3; round++) {
        mailer.reset();
        const { confirmation } = await proposeWrite(runtime, toolCall('mail', SEND, message(`round ${round}`)), 'alice');
        const confirm = (rt: Runtime) => rt.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' });
        const results = await Promise.all([confirm(runtime), confirm(other), confirm(runtime), confirm(other)]);
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        for (const r of results.filter((x) => !x.ok)) expect(expectCode(r, 'CONFLICT')).toMatch(/already used/);
        expect(mailer.requests).toHaveLength(1);
      }
    });

    it('a token made before the integration reached end of support, or lost its rights, is refused at confirm', async () => {
      const { confirmation } = await proposeWrite(runtime, toolCall('mail', SEND, message()), 'alice');
      const retired = await load({}, forged((b) => {
        b.integrations['mailer']!.lifecycle = 'end_of_support';
      }));
      expectCode(await retired.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }), 'INTEGRATION_DISABLED');
      const readOnly = await load({}, forged((b) => {
        b.integrations['mailer']!.classification = 'read_only';
      }));
      expectCode(await readOnly.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }), 'READ_ONLY_VIOLATION');
      const withoutTool = await load({}, forged((b) => {
        b.experts[0]!.tools = b.experts[0]!.tools.filter((t) => t !== 'mail');
      }));
      expectCode(await withoutTool.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }), 'TOOL_NOT_ALLOWED');
      expect(mailer.requests).toEqual([]);
      // None of those used the token up.
      expectOk(await runtime.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }));
    });
  });

  describe('inbound: imports wait for review', () => {
    const page = (source: string, records: FeedRecord[], next_cursor: string | null = null) => {
      feed().pages[source] = { records, next_cursor };
    };
    const importCall = (source: string, tenant = 'acme') => toolCall('feed', IMPORT, { source }, { tenant });
    const reviewOf = (result: IntegrationResult) => result.meta['review'] as { batch_id: string; records: number; pending: number };

    it('answers REVIEW_REQUIRED; the records are pending and untrusted until a person decides; decisions are audited', async () => {
      const source = unique('crm');
      page(source, [{ id: 'r1', name: 'Alpha', amount: 10 }, { id: 'r2', name: 'Beta', amount: 20 }], 'c-1');
      const result = await runtime.callTool(importCall(source));
      expectCode(result, 'REVIEW_REQUIRED');
      expect(JSON.stringify(result)).not.toContain('Alpha');
      const review = reviewOf(result);
      expect(review).toEqual({ batch_id: expect.any(String), records: 2, pending: 2 });
      const items = byKey(await store.listReviews({ tenant: 'acme', batch_id: review.batch_id }));
      expect(items.map((i) => [i.record_key, i.status, JSON.parse(i.record_json)])).toEqual([
        ['r1', 'pending', { id: 'r1', name: 'Alpha', amount: 10 }],
        ['r2', 'pending', { id: 'r2', name: 'Beta', amount: 20 }],
      ]);
      expect(await store.getCursor('acme', IMPORT)).toBe('c-1');

      expectCode(await runtime.importedRecords('acme', review.batch_id), 'REVIEW_REQUIRED');
      // Another tenant neither sees nor decides them.
      expectCode(await runtime.importedRecords('globex', review.batch_id), 'NOT_FOUND');
      expect(await decideReview(store, { tenant: 'globex', id: items[0]!.id, decision: 'approved', reviewer: 'eve' })).toBeUndefined();

      const r1 = items.find((i) => i.record_key === 'r1')!;
      const r2 = items.find((i) => i.record_key === 'r2')!;
      expect(await decideReview(store, { tenant: 'acme', id: r1.id, decision: 'approved', reviewer: 'dana', now: clock.now })).toMatchObject({ status: 'approved', decided_by: 'dana' });
      expectCode(await runtime.importedRecords('acme', review.batch_id), 'REVIEW_REQUIRED');
      await decideReview(store, { tenant: 'acme', id: r2.id, decision: 'rejected', reviewer: 'dana' });
      expect(expectOk(await runtime.importedRecords('acme', review.batch_id))).toEqual({ batch_id: review.batch_id, records: [{ id: 'r1', name: 'Alpha', amount: 10 }], rejected: 1 });
      // A decision is final.
      expect(await decideReview(store, { tenant: 'acme', id: r2.id, decision: 'approved', reviewer: 'dana' })).toBeUndefined();

      expect(actions(await audit({ tenant: 'acme', integration: 'feed' }))).toEqual(['import:pending', 'call:REVIEW_REQUIRED', 'review.approved:ok', 'review.rejected:ok']);
      const decisions = await audit({ tenant: 'acme', action: 'review.approved' });
      expect(decisions[0]).toMatchObject({ actor: 'user:dana', method_id: IMPORT, detail: { review_id: r1.id, record_key: 'r1', batch_id: review.batch_id } });
      expect(actions(await audit({ tenant: 'globex' }))).toEqual(['review.approved:NOT_FOUND']);
    });

    it('absorbs a re-import of the same records; a changed record goes back to pending', async () => {
      const source = unique('crm');
      page(source, [{ id: 'r1', name: 'Alpha', amount: 10 }, { id: 'r2', name: 'Beta', amount: 20 }]);
      const first = reviewOf(await runtime.callTool(importCall(source)));
      for (const item of await store.listReviews({ tenant: 'acme' })) {
        await decideReview(store, { tenant: 'acme', id: item.id, decision: 'approved', reviewer: 'dana' });
      }
      const again = reviewOf(await runtime.callTool(importCall(source)));
      expect(again.pending).toBe(0);
      const afterSame = byKey(await store.listReviews({ tenant: 'acme' }));
      expect(afterSame.map((i) => [i.record_key, i.status, i.decided_by])).toEqual([['r1', 'approved', 'dana'], ['r2', 'approved', 'dana']]);
      // The records now belong to the latest batch that delivered them; their decision stands.
      const trusted = expectOk(await runtime.importedRecords('acme', again.batch_id)) as { records: { id: string }[] };
      expect(trusted.records.map((r) => r.id).sort()).toEqual(['r1', 'r2']);
      expectCode(await runtime.importedRecords('acme', first.batch_id), 'NOT_FOUND');

      page(source, [{ id: 'r1', name: 'Alpha', amount: 10 }, { id: 'r2', name: 'Beta', amount: 25 }]);
      const changed = reviewOf(await runtime.callTool(importCall(source)));
      expect(changed.pending).toBe(1);
      const afterChange = await store.listReviews({ tenant: 'acme' });
      expect(afterChange).toHaveLength(2);
      const r2 = afterChange.find((i) => i.record_key === 'r2')!;
      expect(r2).toMatchObject({ status: 'pending', decided_by: null, decided_at: null, batch_id: changed.batch_id });
      expect(JSON.parse(r2.record_json)).toEqual({ id: 'r2', name: 'Beta', amount: 25 });
      expect(afterChange.find((i) => i.record_key === 'r1')!.status).toBe('approved');
      expectCode(await runtime.importedRecords('acme', changed.batch_id), 'REVIEW_REQUIRED');
      // The same records for another tenant are that tenant's own.
      expectCode(await runtime.callTool(importCall(source, 'globex')), 'REVIEW_REQUIRED');
      expect(await store.listReviews({ tenant: 'globex', status: 'pending' })).toHaveLength(2);
      expect(await store.listReviews({ tenant: 'acme' })).toHaveLength(2);
    });

    it('validates what an import returns, also under dry_run, and queues nothing invalid', async () => {
      const source = unique('crm');
      page(source, [{ id: 'r1', name: 'Alpha', amount: 'a lot' }]);
      for (const dry_run of [false, true]) {
        expectCode(await runtime.callTool(toolCall('feed', IMPORT, { source }, { dry_run })), 'OUTPUT_INVALID');
      }
      expect(await store.listReviews({ tenant: 'acme' })).toEqual([]);
      expect(await store.getCursor('acme', IMPORT)).toBeNull();
      // A failing import queues nothing either.
      expectCode(await runtime.callTool(importCall(unique('missing'))), 'NOT_FOUND');
      expect(await store.listReviews({})).toEqual([]);
    });
  });

  describe('credentials', () => {
    it('are tenant-scoped: tenant B\'s credential is never used for tenant A', async () => {
      await vault.add('globex', 'ref', REF_SECRET_B, ['ref:read'], 'user:admin');
      const read = vi.spyOn(store, 'getCredential');
      const id = unique('scoped');
      expect(expectCode(await runtime.callTool(toolCall('ref', REF, { id })), 'AUTH_REQUIRED')).toMatch(/acme/);
      expect(refLog().filter((e) => e.id === id)).toEqual([]);
      expect(read.mock.calls).toEqual([['acme', 'ref']]);
      expectOk(await runtime.callTool(toolCall('ref', REF, { id }, { tenant: 'globex' })));
      expect(refLog().filter((e) => e.id === id)).toEqual([expect.objectContaining({ tenant: 'globex', secret: REF_SECRET_B })]);
      expect(refLog().filter((e) => e.secret === REF_SECRET_B).every((e) => e.tenant === 'globex')).toBe(true);
      read.mockRestore();
    });

    it('a request for another tenant\'s credential is denied and audited; the ciphertext is never read (SECURITY 17)', async () => {
      await vault.add('globex', 'ref', REF_SECRET_B, ['ref:read'], 'user:admin');
      const read = vi.spyOn(store, 'getCredential');
      expect(await vault.resolve('acme', 'globex', 'ref', 'expert:operator')).toBeUndefined();
      expect(read).not.toHaveBeenCalled();
      const [denied] = await audit({ tenant: 'acme', action: 'credential.denied' });
      expect(denied).toMatchObject({ actor: 'expert:operator', integration: 'ref', outcome: 'AUTH_FORBIDDEN', detail: { requested_tenant: 'globex' } });
      expectNoSecret(await audit());
      // The owner itself gets it.
      expect(await vault.resolve('globex', 'globex', 'ref', 'expert:operator')).toEqual({ secret: REF_SECRET_B, scopes: ['ref:read'] });
      expect(read.mock.calls).toEqual([['globex', 'ref']]);
      read.mockRestore();
    });

    it('are least-privilege: scopes must cover auth_scopes, else AUTH_FORBIDDEN and the integration is not called', async () => {
      await vault.add('acme', 'ref', REF_SECRET_A, ['ref:list'], 'user:admin');
      const id = unique('scopes');
      expect(expectCode(await runtime.callTool(toolCall('ref', REF, { id })), 'AUTH_FORBIDDEN')).toMatch(/ref:read/);
      expect(refLog().filter((e) => e.id === id)).toEqual([]);
      // A write proposed under the right scope, confirmed after the scope was narrowed: refused.
      const { confirmation } = await proposeWrite(runtime, toolCall('mail', SEND, message()), 'alice');
      await vault.add('acme', 'mailer', MAILER_TOKEN, ['mail:read'], 'user:admin');
      expectCode(await runtime.callTool(toolCall('mail', SEND, message())), 'AUTH_FORBIDDEN');
      expect(expectCode(await runtime.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }), 'AUTH_FORBIDDEN')).toMatch(/mail:send/);
      expect(mailer.requests).toEqual([]);
      await vault.add('acme', 'ref', REF_SECRET_A, ['ref:read', 'ref:list'], 'user:admin');
      expectOk(await runtime.callTool(toolCall('ref', REF, { id })));
    });

    it('revocation takes effect at once', async () => {
      await vault.add('acme', 'ref', REF_SECRET_A, ['ref:read'], 'user:admin');
      const id = unique('revoke');
      expectOk(await runtime.callTool(toolCall('ref', REF, { id })));
      const { confirmation } = await proposeWrite(runtime, toolCall('mail', SEND, message()), 'alice');
      expect(await vault.revoke('acme', 'ref', 'user:admin')).toBe(true);
      expect(await vault.revoke('acme', 'mailer', 'user:admin')).toBe(true);
      expectCode(await runtime.callTool(toolCall('ref', REF, { id })), 'AUTH_REQUIRED');
      expect(refLog().filter((e) => e.id === id)).toHaveLength(1);
      expectCode(await runtime.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }), 'AUTH_FORBIDDEN');
      expect(mailer.requests).toEqual([]);
      const listed = await vault.list('acme');
      expect(listed.map((c) => [c.provider, c.revoked_at])).toEqual([['mailer', clock.now], ['ref', clock.now]]);
      expect(JSON.stringify(listed)).not.toMatch(/ciphertext|"iv"|"tag"/);
      expect(await vault.revoke('acme', 'ref', 'user:admin')).toBe(false);
      expect(actions(await audit({ tenant: 'acme', action: 'credential.revoked' }))).toEqual(['credential.revoked:ok', 'credential.revoked:ok', 'credential.revoked:NOT_FOUND']);
    });

    it('are encrypted at rest; a row copied to another tenant does not decrypt', async () => {
      await vault.add('acme', 'ref', REF_SECRET_A, ['ref:read'], 'user:admin');
      const rows = await db.raw.all<{ tenant: string; ciphertext: string }>('SELECT * FROM botc_credential');
      expect(rows).toHaveLength(2);
      expectNoSecret(rows);
      for (const row of rows) {
        const bytes = Buffer.from(row.ciphertext, 'base64');
        for (const secret of SECRETS) expect(bytes.includes(Buffer.from(secret))).toBe(false);
      }
      if (db.kind === 'sqlite') {
        // The whole database, write-ahead log included.
        for (const file of [db.url, `${db.url}-wal`]) {
          let bytes: Buffer;
          try {
            bytes = readFileSync(file);
          } catch {
            continue;
          }
          for (const secret of SECRETS) expect(bytes.includes(Buffer.from(secret))).toBe(false);
        }
      }
      await db.raw.all(
        `INSERT INTO botc_credential (id, tenant, provider, ciphertext, iv, tag, scopes_json, created_at, revoked_at)
         SELECT 'cred_copied', 'globex', provider, ciphertext, iv, tag, scopes_json, created_at, revoked_at FROM botc_credential WHERE tenant = 'acme' AND provider = 'ref'`,
      );
      await expect(vault.get('globex', 'ref')).rejects.toThrow();
      await expect(new CredentialVault(store, randomBytes(32)).get('acme', 'ref')).rejects.toThrow();
      const id = unique('copied');
      const result = await runtime.callTool(toolCall('ref', REF, { id }, { tenant: 'globex' }));
      expect(result.ok).toBe(false);
      expectNoSecret(result);
      expect(refLog().filter((e) => e.id === id)).toEqual([]);
      // The owner's row still decrypts.
      expect(await vault.get('acme', 'ref')).toEqual({ secret: REF_SECRET_A, scopes: ['ref:read'] });
    });

    it('are never logged, even when the provider echoes them in an error (SECURITY 14, 18)', async () => {
      await vault.add('acme', 'ref', REF_SECRET_A, ['ref:read'], 'user:admin');
      await vault.add('globex', 'ref', REF_SECRET_B, ['ref:read'], 'user:admin');
      const thrown = await runtime.callTool(toolCall('ref', REF, { id: unique('throw'), mode: 'throw' }));
      expect(expectCode(thrown, 'PROVIDER_ERROR')).not.toMatch(/refused|at |\.mjs/);
      expectCode(await runtime.callTool(toolCall('ref', REF, { id: unique('bad'), mode: 'bad_output' }, { tenant: 'globex' })), 'OUTPUT_INVALID');
      expectOk(await callConfirmed(runtime, toolCall('mail', SEND, message())));
      await vault.resolve('acme', 'globex', 'ref', 'expert:operator');
      await vault.revoke('globex', 'ref', 'user:admin');
      const entries = await audit();
      expect(entries.length).toBeGreaterThan(8);
      expectNoSecret(entries);
      expectNoSecret(await db.raw.all('SELECT * FROM botc_audit'));
      expectNoSecret(await db.raw.all('SELECT * FROM botc_confirmation'));
    });
  });

  describe('audit', () => {
    it('records every call, retry, preview, confirmation, import, review decision, credential change and failure', async () => {
      const retrying = await load({ retry_policy: RETRIES });
      const source = unique('crm');
      feed().pages[source] = { records: [{ id: 'r1', name: 'Alpha', amount: 1 }] };
      expectOk(await retrying.callTool({ expert: 'operator', tool: 'mail', op: 'help', tenant: 'acme' }));
      expectOk(await retrying.callTool(toolCall('mail', LIST, {})));
      expectOk(await retrying.callTool(toolCall('mail', SEND, message(), { dry_run: true })));
      const { confirmation } = await proposeWrite(retrying, toolCall('mail', SEND, message()), 'alice');
      expectCode(await retrying.confirm({ token: confirmation.token, tenant: 'acme', approver: 'bob' }), 'AUTH_FORBIDDEN');
      expectOk(await retrying.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }));
      mailer.failNext(503);
      const put = await callConfirmed(retrying, toolCall('mail', PUT, { key: 'draft-1', text: 'Draft' }), 'alice');
      expect(put.meta['attempts']).toHaveLength(2);
      const imported = await retrying.callTool(toolCall('feed', IMPORT, { source }));
      const [item] = await store.listReviews({ tenant: 'acme', batch_id: (imported.meta['review'] as { batch_id: string }).batch_id });
      await decideReview(store, { tenant: 'acme', id: item!.id, decision: 'approved', reviewer: 'dana' });
      expectCode(await retrying.callTool(toolCall('mail', SEND, { to: 'x' })), 'VALIDATION_FAILED');
      expectCode(await retrying.callTool(toolCall('feed', IMPORT, { source: unique('missing') })), 'NOT_FOUND');
      await vault.revoke('acme', 'mailer', 'user:admin');

      const entries = await audit({ tenant: 'acme' });
      expect(new Set(actions(entries))).toEqual(new Set([
        'credential.added:ok', 'query:ok', 'call:ok', 'call:CONFIRMATION_REQUIRED', 'confirmation.created:pending',
        'confirmation.rejected:AUTH_FORBIDDEN', 'confirmation.used:ok', 'call.attempted:pending', 'retry:PROVIDER_UNAVAILABLE', 'call:REVIEW_REQUIRED',
        'import:pending', 'review.approved:ok', 'call:VALIDATION_FAILED', 'call:NOT_FOUND', 'credential.revoked:ok',
      ]));
      // The dry run is recorded as such; the retry belongs to the call it retried.
      expect(entries.find((e) => e.action === 'call' && e.detail['dry_run'] === true)).toMatchObject({ method_id: SEND, outcome: 'ok' });
      const retry = entries.find((e) => e.action === 'retry')!;
      const retried = entries.find((e) => e.action === 'call' && e.method_id === PUT && e.actor === 'user:alice')!;
      expect(retry.trace_id).toBe(retried.trace_id);
      expect(retry.detail).toMatchObject({ attempt: 2 });
      expect(retried.detail['attempts']).toEqual([
        expect.objectContaining({ attempt: 1, code: 'PROVIDER_UNAVAILABLE' }),
        expect.objectContaining({ attempt: 2, code: null }),
      ]);
      expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
      expect(await store.verifyAudit('acme')).toEqual({ ok: true, tenants: 1, entries: entries.length });
    });

    it('the log is append-only in the database itself', async () => {
      await expect(db.raw.exec("UPDATE botc_audit SET outcome = 'ok'")).rejects.toThrow(/append-only/);
      await expect(db.raw.exec('DELETE FROM botc_audit')).rejects.toThrow(/append-only/);
      expect(await store.verifyAudit()).toMatchObject({ ok: true });
    });

    describe('verifyAudit names the first bad entry', () => {
      /** Six entries of `tenant`, each a different call. */
      async function log(tenant: string): Promise<void> {
        for (let i = 0; i < 6; i++) {
          await runtime.callTool(toolCall('ref', REF, { id: `${tenant}-${i}` }, { tenant }));
        }
        expect(await store.verifyAudit(tenant)).toEqual({ ok: true, tenants: 1, entries: 6 });
      }
      type Row = Record<string, unknown>;
      const CONTENT = ['at', 'action', 'actor', 'integration', 'method_id', 'outcome', 'trace_id', 'detail_json'];
      const row = async (tenant: string, seq: number) => (await db.raw.all<Row>('SELECT * FROM botc_audit WHERE tenant = ? AND seq = ?', [tenant, seq]))[0]!;
      const overwrite = (tenant: string, seq: number, values: Row, columns: string[]) =>
        db.raw.all(`UPDATE botc_audit SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE tenant = ? AND seq = ?`, [...columns.map((c) => values[c]), tenant, seq]);

      beforeEach(async () => {
        await db.dropAuditGuards();
      });

      it('an intact log passes; tampering with one tenant leaves the others intact', async () => {
        await log('intact');
        expect(await store.verifyAudit()).toMatchObject({ ok: true, tenants: 2 });
      });

      it('a flipped byte in detail_json', async () => {
        await log('flip');
        const target = await row('flip', 3);
        const text = String(target['detail_json']);
        const at = text.indexOf('operator') + 1;
        const flipped = `${text.slice(0, at)}${String.fromCharCode(text.charCodeAt(at) ^ 1)}${text.slice(at + 1)}`;
        await db.raw.all('UPDATE botc_audit SET detail_json = ? WHERE tenant = ? AND seq = ?', [flipped, 'flip', 3]);
        expect(await store.verifyAudit('flip')).toEqual({ ok: false, tenant: 'flip', seq: 3, reason: expect.stringMatching(/modified/) });
        expect(await store.verifyAudit('acme')).toMatchObject({ ok: true });
        expect(await store.verifyAudit()).toMatchObject({ ok: false, tenant: 'flip', seq: 3 });
      });

      it('a flipped byte in another column', async () => {
        await log('flip_outcome');
        await db.raw.all("UPDATE botc_audit SET outcome = 'ok' WHERE tenant = ? AND seq = ?", ['flip_outcome', 5]);
        expect(await store.verifyAudit('flip_outcome')).toMatchObject({ ok: false, seq: 5 });
      });

      it('a deleted row', async () => {
        await log('deleted');
        await db.raw.all('DELETE FROM botc_audit WHERE tenant = ? AND seq = ?', ['deleted', 4]);
        expect(await store.verifyAudit('deleted')).toEqual({ ok: false, tenant: 'deleted', seq: 4, reason: expect.stringMatching(/missing/) });
      });

      it('a deleted row with the later entries renumbered', async () => {
        await log('renumbered');
        await db.raw.all('DELETE FROM botc_audit WHERE tenant = ? AND seq = ?', ['renumbered', 2]);
        for (let seq = 3; seq <= 6; seq++) await db.raw.all('UPDATE botc_audit SET seq = ? WHERE tenant = ? AND seq = ?', [seq - 1, 'renumbered', seq]);
        expect(await store.verifyAudit('renumbered')).toMatchObject({ ok: false, tenant: 'renumbered', seq: 2 });
      });

      it('two rows with their contents swapped', async () => {
        await log('swapped');
        const [two, three] = [await row('swapped', 2), await row('swapped', 3)];
        await overwrite('swapped', 2, three, CONTENT);
        await overwrite('swapped', 3, two, CONTENT);
        expect(await store.verifyAudit('swapped')).toMatchObject({ ok: false, tenant: 'swapped', seq: 2 });
      });

      it('two rows swapped whole, hashes included', async () => {
        await log('swapped_whole');
        const [two, three] = [await row('swapped_whole', 2), await row('swapped_whole', 3)];
        await overwrite('swapped_whole', 2, three, [...CONTENT, 'prev_hash', 'hash']);
        await overwrite('swapped_whole', 3, two, [...CONTENT, 'prev_hash', 'hash']);
        expect(await store.verifyAudit('swapped_whole')).toEqual({ ok: false, tenant: 'swapped_whole', seq: 2, reason: expect.stringMatching(/does not follow/) });
      });

      it('a truncated tail', async () => {
        await log('truncated');
        await db.raw.all('DELETE FROM botc_audit WHERE tenant = ? AND seq >= ?', ['truncated', 5]);
        expect(await store.verifyAudit('truncated')).toEqual({ ok: false, tenant: 'truncated', seq: 5, reason: expect.stringMatching(/ends at entry 4/) });
      });
    });

    it('listAudit filters by tenant, time window, integration, outcome and action', async () => {
      const pause = () => new Promise((resolve) => setTimeout(resolve, 15));
      await pause();
      const t0 = new Date().toISOString();
      await pause();
      expectOk(await runtime.callTool(toolCall('mail', LIST, {})));
      expectCode(await runtime.callTool(toolCall('ref', REF, { id: 'x' })), 'AUTH_REQUIRED');
      await pause();
      const t1 = new Date().toISOString();
      await pause();
      const source = unique('crm');
      feed().pages[source] = { records: [{ id: 'r1', name: 'Alpha', amount: 1 }] };
      expectCode(await runtime.callTool(toolCall('feed', IMPORT, { source })), 'REVIEW_REQUIRED');
      expectCode(await runtime.callTool(toolCall('ref', REF, { id: 'y' }, { tenant: 'globex' })), 'AUTH_REQUIRED');

      const all = await audit();
      const where = (pick: (e: AuditEntry) => boolean) => all.filter(pick).map((e) => e.hash);
      const hashes = (entries: AuditEntry[]) => entries.map((e) => e.hash);
      expect(hashes(await audit({ tenant: 'globex' }))).toEqual(where((e) => e.tenant === 'globex'));
      expect(await audit({ tenant: 'globex' })).toHaveLength(1);
      expect(hashes(await audit({ integration: 'mailer' }))).toEqual(where((e) => e.integration === 'mailer'));
      expect(hashes(await audit({ outcome: 'AUTH_REQUIRED' }))).toEqual(where((e) => e.outcome === 'AUTH_REQUIRED'));
      expect(await audit({ outcome: 'AUTH_REQUIRED' })).toHaveLength(2);
      expect(hashes(await audit({ tenant: 'acme', outcome: 'AUTH_REQUIRED' }))).toEqual(where((e) => e.tenant === 'acme' && e.outcome === 'AUTH_REQUIRED'));
      expect(hashes(await audit({ action: 'import' }))).toEqual(where((e) => e.action === 'import'));
      const window = await audit({ tenant: 'acme', since: t0, until: t1 });
      expect(actions(window)).toEqual(['call:ok', 'call:AUTH_REQUIRED']);
      expect(actions(await audit({ tenant: 'acme', since: t1 }))).toEqual(['import:pending', 'call:REVIEW_REQUIRED']);
      expect(actions(await audit({ tenant: 'acme', until: t0 }))).toEqual(['credential.added:ok']);
      expect(await audit({ limit: 2 })).toHaveLength(2);
    });
  });

  describe('lifecycle and partner tiers', () => {
    it('end_of_support: INTEGRATION_DISABLED, and the integration is not called', async () => {
      await vault.add('acme', 'ref', REF_SECRET_A, ['ref:read'], 'user:admin');
      const retired = await load({}, forged((b) => {
        b.integrations['mailer']!.lifecycle = 'end_of_support';
        b.integrations['ref']!.lifecycle = 'end_of_support';
      }));
      const id = unique('eos');
      expectCode(await retired.callTool(toolCall('ref', REF, { id })), 'INTEGRATION_DISABLED');
      expectCode(await retired.callTool(toolCall('mail', SEND, message())), 'INTEGRATION_DISABLED');
      expectCode(await retired.callTool(toolCall('mail', LIST, {})), 'INTEGRATION_DISABLED');
      expect(refLog().filter((e) => e.id === id)).toEqual([]);
      expect(mailer.requests).toEqual([]);
      expect(await audit({ tenant: 'acme', outcome: 'INTEGRATION_DISABLED' })).toHaveLength(3);
    });

    it('deprecated: the call works and its meta carries a warning', async () => {
      await vault.add('acme', 'ref', REF_SECRET_A, ['ref:read'], 'user:admin');
      const old = await load({}, forged((b) => {
        b.integrations['ref']!.lifecycle = 'deprecated';
        b.integrations['mailer']!.lifecycle = 'deprecated';
      }));
      const read = await old.callTool(toolCall('ref', REF, { id: unique('dep') }));
      expectOk(read);
      expect(read.meta['warnings']).toEqual([expect.stringMatching(/`ref` is deprecated/)]);
      const sent = await callConfirmed(old, toolCall('mail', SEND, message()), 'alice');
      expectOk(sent);
      expect(sent.meta['warnings']).toEqual([expect.stringMatching(/`mailer` is deprecated/)]);
      const current = await runtime.callTool(toolCall('ref', REF, { id: unique('current') }));
      expect(current.meta['warnings']).toBeUndefined();
    });

    it('a tier-1 partner method with a write (or intelligence) capability does not load, so it is not called', async () => {
      const tag = unique('tier');
      for (const [capabilities, idempotency] of [[['read', 'write'], 'idempotent_write'], [['read', 'intelligence'], 'safe_read']] as const) {
        await expect(load({}, forged((b) => {
          b.methods[PARTNER]!.capabilities = [...capabilities];
          b.methods[PARTNER]!.idempotency = idempotency;
        }))).rejects.toThrow(BundleLoadError);
      }
      // A bundle cannot lift the registry's tier either.
      await expect(load({}, forged((b) => {
        b.integrations['partner']!.tier = null;
      }))).rejects.toThrow(/`tier`/);
      expect(partnerLog().filter((e) => e.tag === tag)).toEqual([]);
      expect(expectOk(await runtime.callTool(toolCall('partner', PARTNER, { tag })))).toEqual({ value: 'partner data' });
      expect(partnerLog().filter((e) => e.tag === tag)).toHaveLength(1);
    });
  });

  describe('SECURITY.md', () => {
    it('13: retries follow the declared policy, only where allowed, and every attempt is recorded', async () => {
      const retrying = await load({ retry_policy: RETRIES });
      mailer.failNext(503).failNext(503);
      const put = await callConfirmed(retrying, toolCall('mail', PUT, { key: 'draft-2', text: 'Draft' }), 'alice');
      expectOk(put);
      expect((put.meta['attempts'] as { code: string | null }[]).map((a) => a.code)).toEqual(['PROVIDER_UNAVAILABLE', 'PROVIDER_UNAVAILABLE', null]);
      expect(mailer.received('/outbox/draft-2')).toHaveLength(3);
      expect((await audit({ action: 'retry' })).map((e) => e.detail['attempt'])).toEqual([2, 3]);
      const [call] = (await audit({ action: 'call', outcome: 'ok', integration: 'mailer' })).filter((x) => x.method_id === PUT && x.actor === 'user:alice');
      expect(call!.detail['attempts']).toHaveLength(3);
      // A non-idempotent send with a key may be retried too; without one it never is.
      mailer.failNext(503);
      expectOk(await callConfirmed(retrying, toolCall('mail', SEND, message('keyed'), { idempotency_key: 'send-1' }), 'alice'));
      expect(mailer.messages.map((m) => m.text)).toEqual(['keyed']);
      expect(await audit({ action: 'retry' })).toHaveLength(3);
    });

    it('15: a dry run of a write sends nothing: the loopback server gets zero requests', async () => {
      const preview = await runtime.callTool(toolCall('mail', SEND, message(), { dry_run: true }));
      expect(expectOk(preview)).toMatchObject({ dry_run: true, request: { method: 'POST', body: message() } });
      expect(preview.meta['dry_run']).toBe(true);
      expectOk(await runtime.callTool(toolCall('mail', PUT, { key: 'draft-3', text: 'x' }, { dry_run: true })));
      confirmationOf(await runtime.callTool(toolCall('mail', SEND, message(), { approver: 'alice' })));
      expect(mailer.requests).toEqual([]);
      expect(await db.raw.all('SELECT * FROM botc_confirmation')).toHaveLength(1);
    });

    it('16: a confirmed write with an idempotency key is replayed from the durable store after a restart; other args conflict', async () => {
      const params = { key: 'draft-4', text: 'Draft' };
      const first = await callConfirmed(runtime, toolCall('mail', PUT, params, { idempotency_key: 'put-4' }), 'alice');
      expect(expectOk(first)).toEqual({ key: 'draft-4', stored: true });
      // A restart: a new store connection and a new runtime.
      const restarted = await load({}, bundle, await db.connect());
      const replay = await restarted.callTool(toolCall('mail', PUT, params, { idempotency_key: 'put-4' }));
      expect(expectOk(replay)).toEqual({ key: 'draft-4', stored: true });
      expect(replay.meta['idempotent_replay']).toBe(true);
      expectCode(await restarted.callTool(toolCall('mail', PUT, { ...params, text: 'Other' }, { idempotency_key: 'put-4' })), 'IDEMPOTENCY_CONFLICT');
      expect(mailer.requests).toHaveLength(1);
      // Keys are per tenant: the same key of another tenant is its own.
      await vault.add('globex', 'mailer', MAILER_TOKEN, ['mail:send'], 'user:admin');
      expectOk(await callConfirmed(restarted, toolCall('mail', PUT, params, { idempotency_key: 'put-4', tenant: 'globex' }), 'alice'));
      expect(mailer.requests).toHaveLength(2);
    });

    it('19: a crash between cursor and records leaves them agreeing; a re-run saves both and absorbs duplicates', async () => {
      const source = unique('sync');
      feed().pages[source] = { records: [{ id: 'r1', name: 'Alpha', amount: 1 }, { id: 'r2', name: 'Beta', amount: 2 }], next_cursor: 'page-2' };
      await db.crashOnCursorWrite();
      const crashed = await runtime.callTool(toolCall('feed', IMPORT, { source }));
      expectCode(crashed, 'INTERNAL_ERROR');
      // On restart, neither the records nor the cursor were saved.
      const restarted = await db.connect();
      expect(await restarted.getCursor('acme', IMPORT)).toBeNull();
      expect(await restarted.listReviews({ tenant: 'acme' })).toEqual([]);
      await db.stopCrashing();
      const rt = await load({}, bundle, restarted);
      const rerun = await rt.callTool(toolCall('feed', IMPORT, { source }));
      expectCode(rerun, 'REVIEW_REQUIRED');
      expect(await restarted.getCursor('acme', IMPORT)).toBe('page-2');
      expect(byKey(await restarted.listReviews({ tenant: 'acme' })).map((r) => r.record_key)).toEqual(['r1', 'r2']);
      // Running it once more (a retry after an unclear outcome) adds no duplicates.
      expectCode(await rt.callTool(toolCall('feed', IMPORT, { source })), 'REVIEW_REQUIRED');
      expect(await restarted.listReviews({ tenant: 'acme' })).toHaveLength(2);
      expect(await db.raw.all('SELECT * FROM botc_cursor')).toHaveLength(1);
      expect(await store.verifyAudit()).toMatchObject({ ok: true });
    });
  });
});

describe('HttpIntegration.push refuses writes where only reads are allowed, before any request', () => {
  const WRITE = defineMethod({
    method_id: 'mailer.message.send.v1',
    description: 'Send.',
    input_schema: { type: 'object' },
    output_schema: { type: 'object' },
    capabilities: ['deliver'],
    idempotency: 'non_idempotent_write',
  });
  const READ = defineMethod({
    method_id: 'mailer.message.list.v1',
    description: 'A read whose handler wrongly writes.',
    input_schema: { type: 'object' },
    output_schema: { type: 'object' },
    capabilities: ['read'],
    idempotency: 'safe_read',
  });

  class Pushy extends HttpIntegration {
    protected readonly defaultBaseUrl = 'http://127.0.0.1:9/';
    describeMethods() {
      return [WRITE, READ];
    }
    protected handlers() {
      const handler = async (input: HandlerInput) => ({ data: await this.push(input, { method: 'POST', path: '/messages', body: { to: 'a', text: 'b' } }) });
      return { [WRITE.method_id]: handler, [READ.method_id]: handler };
    }
  }

  const invoke = (classification: CallContext['classification'], method_id: string, dry_run = false) => {
    const integration = new Pushy({ phase: 'runtime', provider: 'mailer', config: { base_url: `${mailer.baseUrl}/`, allow_private_network: true } });
    const ctx: CallContext = { tenant: 'acme', trace_id: 't', signal: new AbortController().signal, classification, credential: { secret: MAILER_TOKEN, scopes: [] } };
    return integration.call({ trace_id: 't', method_id, args: {}, timeout_ms: 5000, retry_policy: { max_attempts: 1, backoff_ms: 0, max_backoff_ms: 0 }, dry_run }, ctx);
  };

  beforeEach(() => mailer.reset());

  it('for a read_only integration, a read method, with or without dry_run', async () => {
    for (const [classification, method, dry] of [
      ['read_only', WRITE.method_id, false], ['read_only', WRITE.method_id, true], ['outbound', READ.method_id, false], ['read_only', READ.method_id, false],
    ] as const) {
      const result = await invoke(classification, method, dry);
      expect(result.ok ? 'ok' : result.error.code).toBe('READ_ONLY_VIOLATION');
    }
    expect(mailer.requests).toEqual([]);
    // The control: an outbound write previews without sending, then sends.
    expect((await invoke('outbound', WRITE.method_id, true)).ok).toBe(true);
    expect(mailer.requests).toEqual([]);
    expect((await invoke('outbound', WRITE.method_id)).ok).toBe(true);
    expect(mailer.requests).toHaveLength(1);
  });
});
