/**
 * Confirmations by their public id, on both SQL stores (SQLite in a temporary file, PostgreSQL in
 * a schema of its own), with the governance workspace (test/fixtures-governance/, bot `govbot`,
 * a loopback mail API): `runtime.confirmById` and `runtime.reject` with the checks of the token
 * path, a used or rejected confirmation answering CONFLICT (never CONFIRMATION_REQUIRED again),
 * statuses in `listConfirmations` (expired computed from the clock), the in-place upgrade of an
 * older table, and `botc confirm list|approve|reject` in process through `main(argv, io)`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import { canonicalJson, sha256 } from '../src/bundle/canonical.ts';
import { bundleDigest, type Bundle } from '../src/bundle/format.ts';
import { main } from '../src/cli/main.ts';
import type { ErrorCode, IntegrationResult } from '../src/integration/types.ts';
import { Runtime, type RuntimeOptions, type ToolCall } from '../src/runtime/runtime.ts';
import type { SqlStore } from '../src/state/sql-store.ts';
import { CredentialVault } from '../src/state/vault.ts';
import { confirmationOf } from './helpers/governance.ts';
import { describeStores, type TestDb } from './helpers/stores.ts';
import { tempDir } from './helpers/workspace.ts';
import { loopbackEnv } from './servers/fake.ts';
import { MAILER_TOKEN, startMailer, type MailerFake } from './servers/mailer.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures-governance/', import.meta.url));
const KEY = randomBytes(32);
const SEND = 'mailer.message.send.v1';
const TOKEN_PREFIX = 'botc_confirm_';

let bundle: Bundle;
let bundleFile: string;
let mailer: MailerFake;

beforeAll(async () => {
  const out = tempDir('botc-confirm-id-');
  const result = await build({ root: FIXTURE, out, write: true });
  expect(result.diagnostics).toEqual([]);
  bundle = result.built[0]!;
  bundleFile = path.join(out, 'govbot.bundle.json');
  mailer = await startMailer();
});

afterAll(async () => {
  await mailer?.stop();
});

const send = (text: string, tenant = 'acme'): ToolCall => ({
  expert: 'operator', tool: 'mail', op: 'call', tenant, approver: 'alice', args: { method_id: SEND, params: { to: 'ops@example.com', text } },
});

function expectCode(result: IntegrationResult, code: ErrorCode): string {
  expect(result.ok, JSON.stringify(result).slice(0, 600)).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error.code, result.error.message).toBe(code);
  return result.error.message;
}

describeStores('confirmations by id', (backend) => {
  let db: TestDb;
  let store: SqlStore;
  let clock: { now: number };
  let runtime: Runtime;

  const load = (options: Partial<RuntimeOptions> = {}, from: Bundle = bundle) =>
    Runtime.load(from, {
      root: FIXTURE,
      store,
      credentials: new CredentialVault(store, KEY, () => clock.now),
      providerConfig: { mailer: { base_url: `${mailer.baseUrl}/`, allow_private_network: true } },
      now: () => clock.now,
      bundle_path: bundleFile,
      ...options,
    });
  const actions = async () => (await store.listAudit({ tenant: 'acme', limit: 1000 })).sort((a, b) => a.seq - b.seq).map((e) => `${e.action}:${e.outcome}`);
  const propose = async (text: string) => confirmationOf(await runtime.callTool(send(text)));

  beforeEach(async () => {
    db = await backend.open();
    store = await db.connect();
    clock = { now: Date.parse('2030-01-01T09:00:00Z') };
    await new CredentialVault(store, KEY, () => clock.now).add('acme', 'mailer', MAILER_TOKEN, ['mail:send'], 'user:admin');
    runtime = await load();
    mailer.reset();
  });

  afterEach(async () => {
    await db.dispose();
  });

  it('confirmById sends once; the id or the token used again answers CONFLICT with the status, and nothing is sent again', async () => {
    const confirmation = await propose('By id.');
    const sent = await runtime.confirmById({ id: confirmation.id, tenant: 'acme', approver: 'alice' });
    expect(sent.ok, JSON.stringify(sent)).toBe(true);
    expect(mailer.messages).toHaveLength(1);
    for (const again of [
      await runtime.confirmById({ id: confirmation.id, tenant: 'acme', approver: 'alice' }),
      await runtime.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }),
    ]) {
      expect(expectCode(again, 'CONFLICT')).toMatch(/already used: approved by alice/);
      expect(again.meta['confirmation']).toEqual({ id: confirmation.id, status: 'executed', decided_by: 'alice', decided_at: '2030-01-01T09:00:00.000Z' });
    }
    expect(mailer.requests).toHaveLength(1);
    expect(await actions()).toEqual([
      'credential.added:ok', 'confirmation.created:pending', 'call:CONFIRMATION_REQUIRED', 'confirmation.used:ok', 'call.attempted:pending', 'call:ok',
      'confirmation.rejected:CONFLICT', 'confirmation.rejected:CONFLICT',
    ]);
  });

  it('confirmById applies the checks of the token path: unknown id, tenant, approver, expiry, bundle digest', async () => {
    const confirmation = await propose('Checks.');
    expect(expectCode(await runtime.confirmById({ id: 'conf_00000000000000000000000000000000', tenant: 'acme', approver: 'alice' }), 'NOT_FOUND')).toMatch(/no confirmation has id/);
    expect(expectCode(await runtime.confirmById({ id: 'not an id', tenant: 'acme', approver: 'alice' }), 'NOT_FOUND')).toMatch(/conf_ and 32 hex digits/);
    expect(expectCode(await runtime.confirmById({ id: confirmation.id, tenant: 'globex', approver: 'alice' }), 'AUTH_FORBIDDEN')).toMatch(/another tenant/);
    expect(expectCode(await runtime.confirmById({ id: confirmation.id, tenant: 'acme', approver: 'mallory' }), 'AUTH_FORBIDDEN')).toMatch(/only alice/);
    expectCode(await runtime.confirmById({ id: confirmation.id, tenant: 'acme', approver: '*' }), 'VALIDATION_FAILED');
    expectCode(await runtime.confirmById({ id: 'x'.repeat(100), tenant: 'acme', approver: 'alice' }), 'VALIDATION_FAILED');
    // Another build of the bundle (same bot, another digest) may not run it.
    const rebuilt = structuredClone(bundle);
    rebuilt.bot.description = `${rebuilt.bot.description} (rebuilt)`;
    rebuilt.digest = bundleDigest(rebuilt);
    expect(expectCode(await (await load({}, rebuilt)).confirmById({ id: confirmation.id, tenant: 'acme', approver: 'alice' }), 'CONFLICT')).toMatch(/proposed with bundle/);
    clock.now += 16 * 60 * 1000;
    expect(expectCode(await runtime.confirmById({ id: confirmation.id, tenant: 'acme', approver: 'alice' }), 'CONFIRMATION_REQUIRED')).toMatch(/expired/);
    expect(mailer.requests).toEqual([]);
    const refusals = (await store.listAudit({ limit: 1000, action: 'confirmation.rejected' })).map((e) => e.outcome);
    expect(refusals.sort()).toEqual(['AUTH_FORBIDDEN', 'AUTH_FORBIDDEN', 'CONFIRMATION_REQUIRED', 'CONFLICT', 'NOT_FOUND', 'NOT_FOUND', 'VALIDATION_FAILED', 'VALIDATION_FAILED']);
  });

  it('reject by id refuses it for good: neither the token nor the id runs it afterwards; the decision and its reason are audited', async () => {
    const confirmation = await propose('Reject me.');
    expectCode(await runtime.reject({ id: confirmation.id, tenant: 'acme', approver: 'mallory' }), 'AUTH_FORBIDDEN');
    const rejected = await runtime.reject({ id: confirmation.id, tenant: 'acme', approver: 'alice', reason: 'wrong list' });
    expect(rejected.ok, JSON.stringify(rejected)).toBe(true);
    expect(rejected.ok && rejected.data).toMatchObject({ id: confirmation.id, status: 'rejected', decided_by: 'alice', reason: 'wrong list', method: SEND });
    expect(JSON.stringify(rejected)).not.toContain(TOKEN_PREFIX);
    expect(expectCode(await runtime.confirm({ token: confirmation.token, tenant: 'acme', approver: 'alice' }), 'CONFLICT')).toMatch(/was rejected by alice .*\(wrong list\); nothing was sent/);
    expect(expectCode(await runtime.confirmById({ id: confirmation.id, tenant: 'acme', approver: 'alice' }), 'CONFLICT')).toMatch(/was rejected/);
    const twice = await runtime.reject({ id: confirmation.id, tenant: 'acme', approver: 'alice' });
    expectCode(twice, 'CONFLICT');
    expect(twice.meta['confirmation']).toMatchObject({ status: 'rejected' });
    expect(mailer.requests).toEqual([]);
    const declined = await store.listAudit({ tenant: 'acme', action: 'confirmation.declined' });
    expect(declined).toHaveLength(1);
    expect(declined[0]).toMatchObject({ actor: 'user:alice', outcome: 'ok', method_id: SEND, detail: { confirmation_id: confirmation.id, reason: 'wrong list' } });
  });

  it('of two concurrent decisions on one confirmation, one approve and one reject, exactly one takes effect', async () => {
    const confirmation = await propose('Race.');
    const other = await Runtime.load(bundle, { root: FIXTURE, store: await db.connect(), credentials: new CredentialVault(store, KEY, () => clock.now), providerConfig: { mailer: { base_url: `${mailer.baseUrl}/`, allow_private_network: true } }, now: () => clock.now });
    const [approved, rejected] = await Promise.all([
      runtime.confirmById({ id: confirmation.id, tenant: 'acme', approver: 'alice' }),
      other.reject({ id: confirmation.id, tenant: 'acme', approver: 'alice' }),
    ]);
    expect([approved.ok, rejected.ok].filter(Boolean)).toHaveLength(1);
    const loser = approved.ok ? rejected : approved;
    expectCode(loser, 'CONFLICT');
    expect(mailer.messages).toHaveLength(approved.ok ? 1 : 0);
  });

  it('lists confirmations by status (pending, executed, rejected, expired) with the preview and never the token', async () => {
    // Oldest first: each proposed a millisecond after the one before.
    const a = await propose('A.');
    clock.now += 1;
    const b = await propose('B.');
    clock.now += 1;
    const c = await propose('C.');
    clock.now += 60_000;
    const d = await propose('D.');
    expect((await runtime.confirmById({ id: a.id, tenant: 'acme', approver: 'alice' })).ok).toBe(true);
    expect((await runtime.reject({ id: b.id, tenant: 'acme', approver: 'alice' })).ok).toBe(true);
    const now = clock.now + 14.5 * 60 * 1000; // c expired, d still pending
    const status = async (s: 'pending' | 'executed' | 'rejected' | 'expired') => (await store.listConfirmations({ tenant: 'acme', status: s, now })).map((r) => r.id);
    expect(await status('executed')).toEqual([a.id]);
    expect(await status('rejected')).toEqual([b.id]);
    expect(await status('expired')).toEqual([c.id]);
    expect(await status('pending')).toEqual([d.id]);
    expect(await store.listConfirmations({ tenant: 'globex', now })).toEqual([]);
    const all = await store.listConfirmations({ now });
    expect(all.map((r) => r.id)).toEqual([a.id, b.id, c.id, d.id]);
    expect(JSON.parse(all[3]!.preview_json!)).toEqual(d.preview);
  });

  it('a confirmation table made by an older botc gains status, decider, reason and preview in place; used rows read as executed', async () => {
    await db.raw.exec('DROP INDEX botc_confirmation_by_id');
    for (const column of ['status', 'decided_by', 'reason', 'preview_json']) await db.raw.exec(`ALTER TABLE botc_confirmation DROP COLUMN ${column}`);
    const id = (n: number) => `conf_${String(n).repeat(32)}`;
    for (const [n, used] of [[1, null], [2, clock.now]] as const) {
      await db.raw.all(
        `INSERT INTO botc_confirmation (token_sha256, id, tenant, approver, expires_at, preview_sha256, expert, tool, method_id, call_json, created_at, bot, bundle_digest, used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [sha256(`t${n}`), id(n), 'acme', 'alice', clock.now + 60_000, sha256('x'), 'operator', 'mail', SEND, canonicalJson({ params: {} }), clock.now + n, 'govbot', bundle.digest, used],
      );
    }
    const upgraded = await db.connect();
    const rows = await upgraded.listConfirmations({ tenant: 'acme', now: clock.now });
    expect(rows.map((r) => [r.id, r.status, r.preview_json])).toEqual([[id(1), 'pending', null], [id(2), 'executed', null]]);
    expect((await rejectWith(upgraded, id(1))).ok).toBe(true);
    expect((await upgraded.getConfirmationById(id(1)))?.status).toBe('rejected');
  });

  async function rejectWith(on: SqlStore, id: string) {
    const { rejectConfirmation } = await import('../src/runtime/confirmations.ts');
    return rejectConfirmation(on, { id, tenant: 'acme', approver: 'alice' }, clock.now);
  }

  describe('botc confirm list|approve|reject (in process)', () => {
    interface Run {
      status: number;
      stdout: string;
      stderr: string;
    }
    const env = () => ({ USER: 'tester', BOTC_STATE_URL: db.url, BOTC_CREDENTIAL_MAILER: MAILER_TOKEN, BOTC_CREDENTIAL_MAILER_SCOPES: 'mail:send', ...loopbackEnv('mailer', `${mailer.baseUrl}/`) });
    async function botc(args: string[], stdin = ''): Promise<Run> {
      let stdout = '';
      let stderr = '';
      const status = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), stdin: async () => stdin, cwd: FIXTURE, isTty: false, env: env() });
      return { status, stdout, stderr };
    }
    const proposeCli = async (text: string, file = bundleFile) => {
      const run = await botc(['call', file, '--root', FIXTURE, '--tenant', 'acme', '--approver', 'alice', '--expert', 'operator', '--tool', 'mail', '--op', 'call', '--args', JSON.stringify({ method_id: SEND, params: { to: 'ops@example.com', text } })]);
      expect(run.status, run.stderr).toBe(1);
      return (JSON.parse(run.stdout) as { meta: { confirmation: { id: string; token: string } } }).meta.confirmation;
    };
    const parse = (run: Run) => JSON.parse(run.stdout) as { ok: boolean; data?: Record<string, unknown>; error?: { code: string; message: string }; meta: Record<string, unknown> };

    it('lists, approves once, rejects with a reason, refuses reuse and unknown ids; the token path still works', { timeout: 30_000 }, async () => {
      const first = await proposeCli('First.');
      const second = await proposeCli('Second.');
      const listed = await botc(['confirm', 'list', '--tenant', 'acme', '--status', 'PENDING']);
      expect(listed.status, listed.stderr).toBe(0);
      expect(listed.stdout).not.toContain(TOKEN_PREFIX);
      const items = JSON.parse(listed.stdout) as Record<string, unknown>[];
      expect(items.map((i) => i['id'])).toEqual([first.id, second.id]);
      expect(items[0]).toMatchObject({ status: 'pending', bot: 'govbot', expert: 'operator', tool: 'mail', method: SEND, approver: 'alice', preview: { dry_run: true, request: { body: { text: 'First.' } } } });
      expect(Object.keys(items[0]!)).not.toContain('token');
      expect(Object.keys(items[0]!)).not.toContain('token_sha256');

      const approved = await botc(['confirm', 'approve', first.id, '--tenant', 'acme', '--approver', 'alice', '--root', FIXTURE]);
      expect(approved.status, approved.stdout + approved.stderr).toBe(0);
      expect(parse(approved).data).toEqual({ id: 'm1', to: 'ops@example.com', text: 'First.' });
      const again = await botc(['confirm', 'approve', first.id, '--tenant', 'acme', '--approver', 'alice', '--root', FIXTURE]);
      expect(again.status).toBe(1);
      expect(parse(again).error).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/already used/) });

      const rejected = await botc(['confirm', 'reject', second.id, '--tenant', 'acme', '--approver', 'alice', '--reason', 'not today']);
      expect(rejected.status, rejected.stdout + rejected.stderr).toBe(0);
      expect(parse(rejected).data).toMatchObject({ status: 'rejected', reason: 'not today' });
      const late = await botc(['confirm', 'approve', second.id, '--tenant', 'acme', '--approver', 'alice', '--root', FIXTURE]);
      expect(parse(late).error).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/was rejected by alice/) });
      expect((JSON.parse((await botc(['confirm', 'list', '--status', 'rejected'])).stdout) as { id: string }[]).map((i) => i.id)).toEqual([second.id]);

      const unknown = await botc(['confirm', 'approve', 'conf_ffffffffffffffffffffffffffffffff', '--tenant', 'acme', '--approver', 'alice', '--root', FIXTURE]);
      expect(unknown.status).toBe(1);
      expect(parse(unknown).error?.code).toBe('NOT_FOUND');
      expect(await botc(['confirm', 'list', '--status', 'done'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/not one of pending, executed, rejected, expired/) });
      expect(await botc(['confirm', 'approve', '--approver', 'alice'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/takes one confirmation id/) });

      // The token path is unchanged.
      const third = await proposeCli('Third.');
      const byToken = await botc(['confirm', bundleFile, '--root', FIXTURE, '--tenant', 'acme', '--approver', 'alice'], `${third.token}\n`);
      expect(byToken.status, byToken.stdout + byToken.stderr).toBe(0);
      expect(mailer.messages.map((m) => m.text)).toEqual(['First.', 'Third.']);
      const decisions = (await store.listAudit({ tenant: 'acme', limit: 1000 })).filter((e) => e.action.startsWith('confirmation.')).map((e) => `${e.action}:${e.outcome}`);
      expect(decisions).toEqual([
        'confirmation.created:pending', 'confirmation.created:pending', 'confirmation.used:ok', 'confirmation.rejected:CONFLICT', 'confirmation.declined:ok',
        'confirmation.rejected:CONFLICT', 'confirmation.rejected:NOT_FOUND', 'confirmation.created:pending', 'confirmation.used:ok',
      ]);
    });

    it('approve runs with the bundle file the confirmation recorded, and is refused when that file changed', { timeout: 30_000 }, async () => {
      const own = path.join(tempDir('botc-confirm-id-bundle-'), 'govbot.bundle.json');
      writeFileSync(own, readFileSync(bundleFile));
      const pending = await proposeCli('Rebuilt.', own);
      expect((await store.getConfirmationById(pending.id))?.bundle_path).toBe(own);
      const rebuilt = JSON.parse(readFileSync(own, 'utf8')) as Bundle;
      rebuilt.bot.description = `${rebuilt.bot.description} (rebuilt)`;
      rebuilt.digest = bundleDigest(rebuilt);
      writeFileSync(own, JSON.stringify(rebuilt));
      const refused = await botc(['confirm', 'approve', pending.id, '--tenant', 'acme', '--approver', 'alice', '--root', FIXTURE]);
      expect(refused.status).toBe(1);
      expect(parse(refused).error).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/changed since it proposed the confirmation/) });
      expect(mailer.requests).toEqual([]);
      const audit = await store.listAudit({ tenant: 'acme', action: 'confirmation.rejected' });
      expect(audit.at(-1)).toMatchObject({ outcome: 'CONFLICT', detail: { confirmation_id: pending.id, decision: 'approve' } });
    });
  });
});
