/**
 * `botc audit checkpoint` and `botc audit verify --checkpoint FILE`, and the vault key as a usage
 * error, as a person runs them: in process through `main(argv, io)` (the entry bin/botc.js calls)
 * against a temporary store (SQLite and PostgreSQL).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import type { SqlStore } from '../src/state/sql-store.ts';
import type { AuditInput } from '../src/state/types.ts';
import { CredentialVault } from '../src/state/vault.ts';
import { type CliRun, runCli } from './helpers/cli.ts';
import { describeStores, sqliteBackend, type TestDb } from './helpers/stores.ts';
import { tempDir } from './helpers/workspace.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures-governance/', import.meta.url));
const SECRET = 'refkey_cli_5mN8bV3cX1zLq0Wp';

const pair = () => generateKeyPairSync('ed25519');
const pem = (key: ReturnType<typeof pair>['privateKey' | 'publicKey']) =>
  key.export({ format: 'pem', type: key.type === 'private' ? 'pkcs8' : 'spki' }).toString();

/** Runs the CLI in process with only the BOTC_* variables given here. */
const botc = (args: string[], env: Record<string, string>, input = ''): Promise<CliRun> => runCli(args, { env, input });

const entry = (tenant: string, n: number): AuditInput => ({
  tenant, action: 'call', actor: 'expert:operator', integration: 'ref', method_id: 'ref.items.get.v1', outcome: 'ok', trace_id: `t-${n}`, detail: { n },
});

let bundle: string;
beforeAll(async () => {
  const out = tempDir('botc-audit-cli-');
  const built = await build({ root: FIXTURE, out, write: true });
  expect(built.diagnostics).toEqual([]);
  bundle = path.join(out, 'govbot.bundle.json');
});

/** A loaded 2-core machine is slow: generous timeouts, although the commands run in process. */
const SLOW = 90_000;

describeStores('botc audit checkpoint and verify --checkpoint', (backend) => {
  let db: TestDb;
  let store: SqlStore;
  let state: Record<string, string>;

  beforeEach(async () => {
    db = await backend.open();
    store = await db.connect();
    state = { BOTC_STATE_URL: db.url };
  });

  afterEach(async () => {
    await db.dispose();
  });

  it('prints a signed checkpoint; verify proves the log extends it, and catches a forged checkpoint, a rewritten and an emptied log', async () => {
    for (let n = 1; n <= 4; n++) await store.appendAudit(entry('acme', n));
    await store.appendAudit(entry('globex', 1));
    const keys = pair();
    const signing = { ...state, BOTC_AUDIT_SIGNING_KEY: pem(keys.privateKey) };
    const verifying = { ...state, BOTC_AUDIT_VERIFY_KEY: pem(keys.publicKey) };
    const made = await botc(['audit', 'checkpoint'], signing);
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    const checkpoint = JSON.parse(made.stdout) as { heads: { tenant: string; seq: number; hash: string }[]; key_id: string; signature: string };
    const acme = (await store.listAudit({ tenant: 'acme' })).at(-1)!;
    expect(checkpoint.heads).toEqual([{ tenant: 'acme', seq: 4, hash: acme.hash }, { tenant: 'globex', seq: 1, hash: expect.any(String) }]);
    expect(checkpoint.key_id).toMatch(/^ed25519:[0-9a-f]{16}$/);
    const file = path.join(tempDir('botc-checkpoint-'), 'checkpoint.json');
    writeFileSync(file, made.stdout);

    await store.appendAudit(entry('acme', 5));
    const extended = await botc(['audit', 'verify', '--checkpoint', file], verifying);
    expect(extended.status).toBe(0);
    expect(extended.stdout).toBe('audit log intact: 6 entries across 2 tenant(s); it extends the checkpoint (2 tenant head(s))\n');

    const altered = path.join(path.dirname(file), 'altered.json');
    writeFileSync(altered, made.stdout.replace('"seq": 4', '"seq": 3'));
    const forged = await botc(['audit', 'verify', '--checkpoint', altered], verifying);
    expect(forged.status).toBe(1);
    expect(forged.stdout).toMatch(/^audit checkpoint rejected: its signature does not match/);

    // The whole of acme's log rewritten with valid hashes: only the checkpoint tells.
    await db.dropAuditGuards();
    await db.raw.all('DELETE FROM botc_audit WHERE tenant = ?', ['acme']);
    await db.raw.all('DELETE FROM botc_audit_head WHERE tenant = ?', ['acme']);
    for (let n = 1; n <= 5; n++) await store.appendAudit({ ...entry('acme', n), outcome: 'AUTH_REQUIRED' });
    expect(await store.verifyAudit()).toMatchObject({ ok: true });
    const rewritten = await botc(['audit', 'verify', '--checkpoint', file], verifying);
    expect(rewritten.status).toBe(1);
    expect(rewritten.stdout).toMatch(/^audit log broken at tenant acme entry 4: .*checkpoint records \(the log was rewritten\)/);

    // Emptied: "0 entries" alone, broken against the checkpoint. (Each CLI run re-creates the guards.)
    await db.dropAuditGuards();
    await db.raw.exec('DELETE FROM botc_audit');
    await db.raw.exec('DELETE FROM botc_audit_head');
    const emptied = await botc(['audit', 'verify', '--checkpoint', file], verifying);
    expect(emptied.status).toBe(1);
    expect(emptied.stdout).toMatch(/^audit log broken at tenant acme entry 1: the log ends at entry 0 but the checkpoint records entry 4/);
  }, SLOW);
});

describe('botc audit and vault keys: exit statuses (SQLite)', () => {
  const backend = sqliteBackend;
  let db: TestDb;
  let store: SqlStore;
  let state: Record<string, string>;

  beforeEach(async () => {
    db = await backend.open();
    store = await db.connect();
    state = { BOTC_STATE_URL: db.url };
  });

  afterEach(async () => {
    await db.dispose();
  });

  it('an empty log says so (exit 0); checkpoint without a key is a usage error; a broken log gets no checkpoint', async () => {
    const empty = await botc(['audit', 'verify'], state);
    expect(empty.status).toBe(0);
    expect(empty.stdout).toMatch(/^audit log empty: 0 entries .*--checkpoint/);
    const noKey = await botc(['audit', 'checkpoint'], state);
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toMatch(/BOTC_AUDIT_SIGNING_KEY is not set/);
    for (let n = 1; n <= 3; n++) await store.appendAudit(entry('acme', n));
    await db.raw.all('DELETE FROM botc_audit_head WHERE tenant = ?', ['acme']);
    const broken = await botc(['audit', 'checkpoint'], { ...state, BOTC_AUDIT_SIGNING_KEY: pem(pair().privateKey) });
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(/chain head is missing/);
    expect(broken.stderr).toMatch(/no checkpoint of a broken log/);
  }, SLOW);

  it('a vault key that does not open the stored credentials is a usage error (exit 2), before anything runs', async () => {
    const right = randomBytes(32).toString('hex');
    const wrong = randomBytes(32).toString('base64');
    await new CredentialVault(store, Buffer.from(right, 'hex')).add('acme', 'ref', SECRET, ['ref:read'], 'user:admin');
    const add = await botc(['credentials', 'add', 'mailer', '--tenant', 'acme', '--root', FIXTURE, '--scopes', 'mail:send'], { ...state, BOTC_SECRET_KEY: wrong }, 'another-token-value\n');
    expect(add.status).toBe(2);
    expect(add.stderr).toMatch(/^botc: the credential store cannot be decrypted with this key/);
    const call = await botc(
      ['call', bundle, '--root', FIXTURE, '--expert', 'operator', '--tool', 'ref', '--op', 'call', '--tenant', 'acme', '--args', JSON.stringify({ method_id: 'ref.items.get.v1', params: { id: 'x' } })],
      { ...state, BOTC_SECRET_KEY: wrong },
    );
    expect(call.status).toBe(2);
    expect(call.stderr).toMatch(/^botc: the credential store cannot be decrypted with this key/);
    expect(`${call.stdout}${call.stderr}${add.stdout}${add.stderr}`).not.toContain(SECRET);
    expect(await store.listCredentials()).toHaveLength(1);
  }, SLOW);
});
