/**
 * The governance commands as a person runs them, in process through `main(argv, io)` (the same
 * entry bin/botc.js calls) — `call`, `confirm`, `review list|approve|reject`, `credentials add|list|revoke`,
 * `audit list|verify` — against a temporary state store (BOTC_STATE_URL: a SQLite file, and
 * once a PostgreSQL schema), never the repository's own `.botc/`. The bot is `govbot` of
 * test/fixtures-governance/; its outbound `mailer` talks to a loopback server of this process.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import { type CliRun, runCli } from './helpers/cli.ts';
import { describeStores, type TestDb } from './helpers/stores.ts';
import { tempDir } from './helpers/workspace.ts';
import { MAILER_TOKEN, startMailer, type MailerFake } from './servers/mailer.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures-governance/', import.meta.url));
const KEY = randomBytes(32).toString('hex');
const SEND = 'mailer.message.send.v1';
const IMPORT = 'feed.records.import.v1';
const PAGES = {
  crm: { records: [{ id: 'r1', name: 'Alpha', amount: 10 }, { id: 'r2', name: 'Beta', amount: 20 }], next_cursor: 'page-2' },
};

let bundle: string;
let mailer: MailerFake;

beforeAll(async () => {
  const out = tempDir('botc-gov-cli-');
  const built = await build({ root: FIXTURE, out, write: true });
  expect(built.diagnostics).toEqual([]);
  bundle = path.join(out, 'govbot.bundle.json');
  mailer = await startMailer();
});

afterAll(async () => {
  await mailer?.stop();
});

type Run = CliRun;

/**
 * Runs the CLI in this process (`main(argv, io)`, which also serves the mailer the command
 * calls), with `input` on standard input. BOTC_* variables of the outer environment are not
 * inherited.
 */
async function botc(args: string[], state: string, options: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  return runCli(args, {
    env: {
      BOTC_STATE_URL: state,
      BOTC_SECRET_KEY: KEY,
      BOTC_PROVIDER_MAILER_BASE_URL: `${mailer.baseUrl}/`,
      BOTC_PROVIDER_MAILER_ALLOW_PRIVATE_NETWORK: 'true',
      BOTC_PROVIDER_FEED_PAGES: JSON.stringify(PAGES),
      ...options.env,
    },
    input: options.input ?? '',
  });
}

/** The secret never shows: not in the output, not in the arguments. */
function expectNoSecret(run: Run): void {
  expect(run.stdout).not.toContain(MAILER_TOKEN);
  expect(run.stderr).not.toContain(MAILER_TOKEN);
  expect(run.args.join(' ')).not.toContain(MAILER_TOKEN);
}

const json = (run: Run) => JSON.parse(run.stdout) as { ok: boolean; data?: any; error?: any; meta: any };
/** A list command's output: one JSON array. */
const lines = (run: Run) => JSON.parse(run.stdout) as Record<string, any>[];

const callArgs = (tool: string, args: unknown, extra: string[] = []) => [
  'call', bundle, '--root', FIXTURE, '--expert', 'operator', '--tool', tool, '--op', 'call', '--args', JSON.stringify(args), '--tenant', 'acme', ...extra,
];
const sendArgs = (text: string) => callArgs('mail', { method_id: SEND, params: { to: 'ops@example.com', text } }, ['--approver', 'alice']);
/** `botc confirm` with the token on standard input, as a person runs it (never on argv). */
const confirmWith = (token: string, approver: string, state: string, extra: string[] = []) =>
  botc(['confirm', bundle, '--root', FIXTURE, '--tenant', 'acme', '--approver', approver, ...extra], state, { input: `${token}\n` });
const addCredential = (state: string, extra: string[] = []) =>
  botc(['credentials', 'add', 'mailer', '--root', FIXTURE, '--tenant', 'acme', '--scopes', 'mail:send', '--actor', 'admin', ...extra], state, { input: `${MAILER_TOKEN}\n` });

/** Every byte of a SQLite state, write-ahead log included. */
function sqliteBytes(file: string): Buffer {
  const parts: Buffer[] = [];
  for (const name of [file, `${file}-wal`]) {
    try {
      parts.push(readFileSync(name));
    } catch {
      // no WAL file
    }
  }
  return Buffer.concat(parts);
}

describe('governance commands on a SQLite state', { timeout: 180_000 }, () => {
  let state: string;

  beforeEach(() => {
    state = path.join(tempDir('botc-gov-state-'), 'state.db');
    mailer.reset();
  });

  it('credentials add reads the secret from stdin, never echoes it, and stores no plaintext; list and revoke', async () => {
    const added = await addCredential(state);
    expect(added.status, added.stderr).toBe(0);
    expectNoSecret(added);
    expect(JSON.parse(added.stdout)).toMatchObject({ tenant: 'acme', provider: 'mailer', scopes: ['mail:send'], revoked_at: null });
    expect(added.stdout).not.toMatch(/ciphertext|"iv"|"tag"/);
    const bytes = sqliteBytes(state);
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.includes(Buffer.from(MAILER_TOKEN))).toBe(false);
    expect(bytes.includes(Buffer.from(Buffer.from(MAILER_TOKEN).toString('base64')))).toBe(false);

    // There is no way to pass the secret as an argument, and an empty stdin is refused.
    const asArgument = await botc(['credentials', 'add', 'mailer', '--tenant', 'acme', '--secret', 'sk_argv_secret_123'], state, { input: 'x' });
    expect(asArgument.status).toBe(2);
    expect(asArgument.stdout).toBe('');
    const empty = await botc(['credentials', 'add', 'mailer', '--root', FIXTURE, '--tenant', 'acme', '--scopes', 'mail:send'], state, { input: '' });
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/no secret/);
    const noKey = await botc(['credentials', 'add', 'mailer', '--tenant', 'acme'], state, { input: `${MAILER_TOKEN}\n`, env: { BOTC_SECRET_KEY: '' } });
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toMatch(/BOTC_SECRET_KEY/);
    expectNoSecret(noKey);

    const listed = await botc(['credentials', 'list', '--tenant', 'acme'], state);
    expect(listed.status).toBe(0);
    expectNoSecret(listed);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ tenant: 'acme', provider: 'mailer', scopes: ['mail:send'], revoked_at: null })]);
    expect(listed.stdout).not.toMatch(/ciphertext|"iv"|"tag"/);

    const revoked = await botc(['credentials', 'revoke', 'mailer', '--tenant', 'acme', '--actor', 'admin'], state);
    expect(revoked.status).toBe(0);
    expect(revoked.stdout).toMatch(/revoked mailer for acme/);
    expect((await botc(['credentials', 'revoke', 'mailer', '--tenant', 'acme'], state)).status).toBe(1);
    expect(JSON.parse((await botc(['credentials', 'list'], state)).stdout)[0].revoked_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const audit = await botc(['audit', 'list', '--tenant', 'acme'], state);
    expect(audit.status).toBe(0);
    expectNoSecret(audit);
    expect(lines(audit).map((e) => [e['action'], e['actor'], e['outcome']])).toEqual([
      ['credential.added', 'user:admin', 'ok'],
      ['credential.revoked', 'user:admin', 'ok'],
      ['credential.revoked', expect.stringMatching(/^user:/), 'NOT_FOUND'],
    ]);
    expect(sqliteBytes(state).includes(Buffer.from(MAILER_TOKEN))).toBe(false);
  });

  it('call proposes an outbound write; confirm sends it once; a wrong approver and a second confirm are refused', async () => {
    expect((await addCredential(state)).status).toBe(0);
    const proposed = await botc(sendArgs('Deploy finished.'), state);
    expect(proposed.status, proposed.stderr).toBe(1);
    expectNoSecret(proposed);
    const result = json(proposed);
    expect(result.error.code).toBe('CONFIRMATION_REQUIRED');
    expect(result.meta.confirmation).toMatchObject({ approver: 'alice', preview: { dry_run: true, request: { method: 'POST', body: { to: 'ops@example.com', text: 'Deploy finished.' } } } });
    const token = result.meta.confirmation.token as string;
    expect(mailer.requests).toEqual([]);

    const wrong = await confirmWith(token, 'mallory', state);
    expect(wrong.status).toBe(1);
    expect(json(wrong).error.code).toBe('AUTH_FORBIDDEN');
    expect(mailer.requests).toEqual([]);

    const other = await confirmWith(token, 'alice', state, ['--params', JSON.stringify({ to: 'ops@example.com', text: 'Something else.' })]);
    expect(other.status).toBe(1);
    expect(json(other).error.code).toBe('CONFLICT');
    expect(mailer.requests).toEqual([]);

    // Two people press "send" at once, in two processes: one send.
    const both = await Promise.all([confirmWith(token, 'alice', state), confirmWith(token, 'alice', state)]);
    expect(both.map((r) => r.status).sort()).toEqual([0, 1]);
    for (const run of both) expectNoSecret(run);
    const sent = json(both.find((r) => r.status === 0)!);
    expect(sent.data).toEqual({ id: 'm1', to: 'ops@example.com', text: 'Deploy finished.' });
    // The loser finds it used (CONFLICT), whether it read it before or after the winner used it.
    expect(json(both.find((r) => r.status === 1)!).error.code).toBe('CONFLICT');
    expect(mailer.requests).toEqual([expect.objectContaining({ method: 'POST', path: '/messages', auth: 'valid' })]);

    const again = await confirmWith(token, 'alice', state);
    expect(again.status).toBe(1);
    expect(mailer.requests).toHaveLength(1);

    const usage = await botc(['confirm', token], state);
    expect(usage.status).toBe(2);
  });

  it('review list, approve and reject the records of an import', async () => {
    const imported = await botc(callArgs('feed', { method_id: IMPORT, params: { source: 'crm' } }), state);
    expect(imported.status, imported.stderr).toBe(1);
    const result = json(imported);
    expect(result.error.code).toBe('REVIEW_REQUIRED');
    expect(result.meta.review).toMatchObject({ records: 2, pending: 2 });
    expect(imported.stdout).not.toContain('Alpha');

    const listed = await botc(['review', 'list', '--tenant', 'acme'], state);
    expect(listed.status).toBe(0);
    const items = (JSON.parse(listed.stdout) as { id: string; record_key: string; status: string; record: unknown }[]).sort((a, b) => a.record_key.localeCompare(b.record_key));
    expect(items.map((i) => [i.record_key, i.status, i.record])).toEqual([
      ['r1', 'pending', PAGES.crm.records[0]],
      ['r2', 'pending', PAGES.crm.records[1]],
    ]);
    expect(JSON.parse((await botc(['review', 'list', '--tenant', 'globex'], state)).stdout)).toEqual([]);
    // Another tenant cannot decide them.
    const foreign = await botc(['review', 'approve', items[0]!.id, '--tenant', 'globex', '--reviewer', 'eve'], state);
    expect(foreign.status).toBe(1);
    expect(foreign.stderr).toMatch(/no pending review/);

    const approved = await botc(['review', 'approve', items[0]!.id, '--tenant', 'acme', '--reviewer', 'dana'], state);
    expect(approved.status, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(new RegExp(`^approved ${items[0]!.id} \\(feed r1\\)`));
    const rejected = await botc(['review', 'reject', items[1]!.id, '--tenant', 'acme', '--reviewer', 'dana'], state);
    expect(rejected.status).toBe(0);
    const twice = await botc(['review', 'approve', items[0]!.id, '--tenant', 'acme', '--reviewer', 'dana'], state);
    expect(twice.status).toBe(1);

    const byStatus = async (status: string) => (JSON.parse((await botc(['review', 'list', '--tenant', 'acme', '--status', status], state)).stdout) as { record_key: string; decided_by: string }[]);
    expect((await byStatus('approved')).map((i) => [i.record_key, i.decided_by])).toEqual([['r1', 'dana']]);
    expect((await byStatus('rejected')).map((i) => i.record_key)).toEqual(['r2']);
    expect(await byStatus('pending')).toEqual([]);
    expect((await botc(['review', 'list', '--status', 'maybe'], state)).status).toBe(2);

    const decisions = lines(await botc(['audit', 'list', '--tenant', 'acme', '--integration', 'feed'], state));
    expect(decisions.map((e) => [e['action'], e['actor'], e['outcome']]).sort()).toEqual([
      ['call', 'expert:operator', 'REVIEW_REQUIRED'],
      ['import', 'runtime', 'pending'],
      ['review.approved', 'user:dana', 'ok'],
      ['review.rejected', 'user:dana', 'ok'],
    ]);
    // Refused decisions are audited too: the second approval, and the other tenant's attempt.
    expect(lines(await botc(['audit', 'list', '--outcome', 'NOT_FOUND'], state)).map((e) => [e['tenant'], e['action'], e['actor']]).sort()).toEqual([
      ['acme', 'review.approved', 'user:dana'],
      ['globex', 'review.approved', 'user:eve'],
    ]);
  });

  it('audit list filters; audit verify exits 0, then 1 naming the entry after tampering', async () => {
    expect((await addCredential(state)).status).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const t0 = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await botc(sendArgs('One.'), state)).status).toBe(1);
    expect((await botc(['call', bundle, '--root', FIXTURE, '--expert', 'operator', '--tool', 'ref', '--op', 'help', '--tenant', 'globex'], state)).status).toBe(0);
    expect((await botc(callArgs('ref', { method_id: 'ref.items.get.v1', params: { id: '1' } }), state)).status).toBe(1);

    const list = async (...filters: string[]) => {
      const run = await botc(['audit', 'list', ...filters], state);
      expect(run.status, run.stderr).toBe(0);
      expectNoSecret(run);
      return lines(run);
    };
    const all = await list();
    expect(all.map((e) => e['tenant']).sort()).toEqual(['acme', 'acme', 'acme', 'acme', 'globex']);
    expect((await list('--tenant', 'globex')).map((e) => [e['action'], e['outcome']])).toEqual([['query', 'ok']]);
    expect((await list('--tenant', 'acme', '--integration', 'mailer')).map((e) => e['action']).sort()).toEqual(['call', 'confirmation.created', 'credential.added']);
    expect((await list('--outcome', 'AUTH_REQUIRED')).map((e) => e['integration'])).toEqual(['ref']);
    expect((await list('--action', 'confirmation.created')).map((e) => e['detail']['approver'])).toEqual(['alice']);
    expect((await list('--until', t0)).map((e) => e['action'])).toEqual(['credential.added']);
    expect(await list('--since', t0)).toHaveLength(4);
    expect(await list('--limit', '1')).toHaveLength(1);
    expect((await botc(['audit', 'list', '--since', 'yesterday-ish'], state)).status).toBe(2);

    const intact = await botc(['audit', 'verify'], state);
    expect(intact.status).toBe(0);
    expect(intact.stdout).toBe('audit log intact: 5 entries across 2 tenant(s)\n');

    // An attacker with access to the database file edits an entry.
    const db = new Database(state);
    db.exec('DROP TRIGGER botc_audit_no_update');
    const [entry] = db.prepare("SELECT detail_json FROM botc_audit WHERE tenant = 'acme' AND seq = 2").all() as { detail_json: string }[];
    db.prepare("UPDATE botc_audit SET detail_json = ? WHERE tenant = 'acme' AND seq = 2").run(entry!.detail_json.replace('alice', 'alicf'));
    db.close();
    const broken = await botc(['audit', 'verify'], state);
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(/^audit log broken at tenant acme entry 2: .*modified/);
    expect((await botc(['audit', 'verify', '--tenant', 'globex'], state)).status).toBe(0);
    expect((await botc(['audit', 'verify', '--tenant', 'acme'], state)).status).toBe(1);
  });
});

describeStores('botc call, confirm and audit end to end', (backend) => {
  let db: TestDb;

  beforeEach(async () => {
    db = await backend.open();
    mailer.reset();
  });

  afterEach(async () => {
    await db.dispose();
  });

  it('adds a credential, proposes, confirms, and verifies the audit log', { timeout: 120_000 }, async () => {
    const state = db.url;
    const added = await addCredential(state);
    expect(added.status, added.stderr).toBe(0);
    expectNoSecret(added);
    const [row] = await db.raw.all('SELECT * FROM botc_credential');
    expect(row).toMatchObject({ tenant: 'acme', provider: 'mailer' });
    expect(JSON.stringify(row)).not.toContain(MAILER_TOKEN);

    const proposed = await botc(sendArgs('From the CLI.'), state);
    expect(proposed.status, proposed.stderr).toBe(1);
    const token = json(proposed).meta.confirmation.token as string;
    expect(mailer.requests).toEqual([]);
    const sent = await confirmWith(token, 'alice', state);
    expect(sent.status, sent.stderr).toBe(0);
    expectNoSecret(sent);
    expect(json(sent).data).toEqual({ id: 'm1', to: 'ops@example.com', text: 'From the CLI.' });
    expect(mailer.requests).toEqual([expect.objectContaining({ path: '/messages', auth: 'valid' })]);

    const entries = lines(await botc(['audit', 'list', '--tenant', 'acme'], state));
    expect(entries.map((e) => `${e['action']}:${e['outcome']}`).sort()).toEqual([
      'call.attempted:pending', 'call:CONFIRMATION_REQUIRED', 'call:ok', 'confirmation.created:pending', 'confirmation.used:ok', 'credential.added:ok',
    ]);
    expect(JSON.stringify(entries)).not.toContain(MAILER_TOKEN);
    const intact = await botc(['audit', 'verify'], state);
    expect(intact.status, intact.stderr).toBe(0);
    expect(intact.stdout).toBe('audit log intact: 6 entries across 1 tenant(s)\n');

    await db.dropAuditGuards();
    await db.raw.all('DELETE FROM botc_audit WHERE tenant = ? AND seq = ?', ['acme', 3]);
    const broken = await botc(['audit', 'verify', '--tenant', 'acme'], state);
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(/^audit log broken at tenant acme entry 3: .*missing/);
  });
});
