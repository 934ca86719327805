/**
 * The audit chain against someone with direct access to the database: a deleted chain head, an
 * emptied log, rows rewritten with INSERT OR REPLACE / ON CONFLICT DO UPDATE / TRUNCATE, and a
 * log rewritten wholesale that only a signed checkpoint can catch. On SQLite and PostgreSQL,
 * and the in-memory store, which shares the one verifier of src/state/audit-chain.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../src/state/audit-chain.ts';
import { AuditCheckpointError, checkpointKeyId, openCheckpoint, signCheckpoint, signingKeyFromEnv, verifyKeyFromEnv } from '../src/state/audit-checkpoint.ts';
import { MemoryStore } from '../src/state/memory.ts';
import type { SqlStore } from '../src/state/sql-store.ts';
import type { AuditAnchor, AuditInput, StateStore } from '../src/state/types.ts';
import { describeStores, type TestDb } from './helpers/stores.ts';

const entry = (tenant: string, n: number): AuditInput => ({
  tenant,
  action: 'call',
  actor: 'expert:operator',
  integration: 'ref',
  method_id: 'ref.items.get.v1',
  outcome: 'ok',
  trace_id: `trace-${tenant}-${n}`,
  detail: { n },
});

async function log(store: StateStore, tenant: string, count: number): Promise<void> {
  for (let n = 1; n <= count; n++) await store.appendAudit(entry(tenant, n));
}

async function headsOf(store: StateStore, tenant?: string): Promise<AuditAnchor[]> {
  const checked = await store.checkAudit(tenant);
  expect(checked.verdict).toMatchObject({ ok: true });
  return checked.heads;
}

describeStores('the audit chain under direct database access', (backend) => {
  let db: TestDb;
  let store: SqlStore;

  beforeEach(async () => {
    db = await backend.open();
    store = await db.connect();
  });

  afterEach(async () => {
    await db.dispose();
  });

  it('a deleted chain head fails verification instead of skipping the tenant; the next append rebuilds it and says so', async () => {
    await log(store, 'acme', 4);
    await log(store, 'globex', 2);
    await db.raw.all('DELETE FROM botc_audit_head WHERE tenant = ?', ['acme']);
    expect(await store.verifyAudit()).toEqual({ ok: false, tenant: 'acme', seq: 4, reason: expect.stringMatching(/chain head is missing/) });
    expect(await store.verifyAudit('acme')).toMatchObject({ ok: false, tenant: 'acme' });
    // Later calls still work: the chain goes on from the last stored entry.
    expect(await store.appendAudit(entry('acme', 5))).toMatchObject({ seq: 6 });
    const entries = await store.listAudit({ tenant: 'acme' });
    expect(entries.map((e) => [e.seq, e.action])).toEqual([[1, 'call'], [2, 'call'], [3, 'call'], [4, 'call'], [5, 'audit.head_rebuilt'], [6, 'call']]);
    expect(entries[4]!.detail).toMatchObject({ last_seq: 4, last_hash: entries[3]!.hash });
    expect(await store.verifyAudit()).toEqual({ ok: true, tenants: 2, entries: 8 });
  });

  it('a tenant with entries but no head is still verified: a modified entry is found', async () => {
    await log(store, 'acme', 3);
    await db.dropAuditGuards();
    await db.raw.all('DELETE FROM botc_audit_head WHERE tenant = ?', ['acme']);
    await db.raw.all("UPDATE botc_audit SET outcome = 'AUTH_FORBIDDEN' WHERE tenant = ? AND seq = ?", ['acme', 2]);
    expect(await store.verifyAudit()).toEqual({ ok: false, tenant: 'acme', seq: 2, reason: expect.stringMatching(/modified/) });
  });

  it('a head whose entries were all deleted fails; so does a head whose hash is not that of its entry', async () => {
    await log(store, 'acme', 3);
    await log(store, 'globex', 3);
    await db.dropAuditGuards();
    await db.raw.all('DELETE FROM botc_audit WHERE tenant = ?', ['acme']);
    expect(await store.verifyAudit()).toEqual({ ok: false, tenant: 'acme', seq: 1, reason: expect.stringMatching(/ends at entry 0 but the chain head records 3/) });
    await db.raw.all('UPDATE botc_audit_head SET hash = ? WHERE tenant = ?', [GENESIS_HASH.replace(/^0/, '1'), 'globex']);
    expect(await store.verifyAudit('globex')).toEqual({ ok: false, tenant: 'globex', seq: 3, reason: expect.stringMatching(/does not have the hash its chain head records/) });
  });

  it('an emptied log reads as 0 entries, but not against a checkpoint', async () => {
    await log(store, 'acme', 3);
    const heads = await headsOf(store);
    await db.dropAuditGuards();
    await db.raw.exec('DELETE FROM botc_audit');
    await db.raw.exec('DELETE FROM botc_audit_head');
    expect(await store.verifyAudit()).toEqual({ ok: true, tenants: 0, entries: 0 });
    expect(await store.verifyAudit(undefined, heads)).toEqual({ ok: false, tenant: 'acme', seq: 1, reason: expect.stringMatching(/ends at entry 0 but the checkpoint records entry 3/) });
  });

  it('a dropped and re-created log fails against a checkpoint', async () => {
    await log(store, 'acme', 2);
    const heads = await headsOf(store);
    await db.raw.exec('DROP TABLE botc_audit');
    await db.raw.exec('DROP TABLE botc_audit_head');
    // A new connection (a restarted runtime) re-creates the tables, empty.
    const reopened = await db.connect();
    expect(await reopened.verifyAudit(undefined, heads)).toMatchObject({ ok: false, tenant: 'acme', reason: expect.stringMatching(/checkpoint records entry 2/) });
  });

  it('a log rewritten with every hash recomputed verifies alone, and fails against a checkpoint', async () => {
    await log(store, 'acme', 5);
    await log(store, 'globex', 2);
    const key = generateKeyPairSync('ed25519').privateKey;
    const checkpoint = signCheckpoint(await headsOf(store), key);
    await db.dropAuditGuards();
    await db.raw.all('DELETE FROM botc_audit WHERE tenant = ?', ['acme']);
    await db.raw.all('DELETE FROM botc_audit_head WHERE tenant = ?', ['acme']);
    for (let n = 1; n <= 6; n++) await store.appendAudit({ ...entry('acme', n), outcome: 'AUTH_REQUIRED' });
    expect(await store.verifyAudit()).toMatchObject({ ok: true, entries: 8 });
    const opened = openCheckpoint(JSON.stringify(checkpoint), key);
    if (!opened.ok) throw new Error(opened.reason);
    expect(await store.verifyAudit(undefined, opened.checkpoint.heads)).toEqual({ ok: false, tenant: 'acme', seq: 5, reason: expect.stringMatching(/does not have the hash the checkpoint records/) });
    // The untouched tenant still extends its part of the checkpoint; the log grows past it.
    await log(store, 'globex', 2);
    expect(await store.verifyAudit('globex', opened.checkpoint.heads)).toEqual({ ok: true, tenants: 1, entries: 4 });
  });

  it('a truncated tail with its head deleted: appends go on, and the checkpoint catches the loss', async () => {
    await log(store, 'acme', 6);
    const heads = await headsOf(store);
    await db.dropAuditGuards();
    await db.raw.all('DELETE FROM botc_audit WHERE tenant = ? AND seq > ?', ['acme', 3]);
    await db.raw.all('DELETE FROM botc_audit_head WHERE tenant = ?', ['acme']);
    await log(store, 'acme', 3);
    expect(await store.verifyAudit()).toMatchObject({ ok: true, entries: 7 });
    expect((await store.listAudit({ tenant: 'acme', action: 'audit.head_rebuilt' })).map((e) => e.detail['last_seq'])).toEqual([3]);
    expect(await store.verifyAudit('acme', heads)).toMatchObject({ ok: false, tenant: 'acme', seq: 6 });
  });

  it('rows cannot be rewritten through the insert path: REPLACE, upsert, a forged next entry, TRUNCATE', async () => {
    await log(store, 'acme', 3);
    const [second] = await db.raw.all<Record<string, unknown>>('SELECT * FROM botc_audit WHERE tenant = ? AND seq = ?', ['acme', 2]);
    const columns = Object.keys(second!);
    const values = (row: Record<string, unknown>) => columns.map((c) => row[c]);
    const marks = columns.map(() => '?').join(', ');
    const forged = { ...second!, outcome: 'AUTH_FORBIDDEN' };
    if (db.kind === 'sqlite') {
      await expect(db.raw.all(`INSERT OR REPLACE INTO botc_audit (${columns.join(', ')}) VALUES (${marks})`, values(forged))).rejects.toThrow(/append-only/);
      await expect(db.raw.all(`REPLACE INTO botc_audit (${columns.join(', ')}) VALUES (${marks})`, values(forged))).rejects.toThrow(/append-only/);
    } else {
      await expect(db.raw.exec('TRUNCATE botc_audit')).rejects.toThrow(/append-only/);
    }
    await expect(
      db.raw.all(`INSERT INTO botc_audit (${columns.join(', ')}) VALUES (${marks}) ON CONFLICT (tenant, seq) DO UPDATE SET outcome = excluded.outcome`, values(forged)),
    ).rejects.toThrow(/append-only/);
    // A new entry must be the next one, after the last hash.
    await expect(db.raw.all(`INSERT INTO botc_audit (${columns.join(', ')}) VALUES (${marks})`, values({ ...second!, seq: 4 }))).rejects.toThrow(/append-only/);
    await expect(db.raw.all(`INSERT INTO botc_audit (${columns.join(', ')}) VALUES (${marks})`, values({ ...second!, seq: 9 }))).rejects.toThrow(/append-only/);
    expect(await store.verifyAudit()).toEqual({ ok: true, tenants: 1, entries: 3 });
    expect((await store.listAudit({ tenant: 'acme' })).map((e) => e.outcome)).toEqual(['ok', 'ok', 'ok']);
  });

  it('concurrent appends after a deleted head rebuild it once (two connections)', async () => {
    await log(store, 'acme', 2);
    await db.raw.all('DELETE FROM botc_audit_head WHERE tenant = ?', ['acme']);
    const other = await db.connect();
    await Promise.all([store.appendAudit(entry('acme', 3)), other.appendAudit(entry('acme', 4)), store.appendAudit(entry('acme', 5))]);
    expect(await store.verifyAudit()).toEqual({ ok: true, tenants: 1, entries: 6 });
    expect(await store.listAudit({ tenant: 'acme', action: 'audit.head_rebuilt' })).toHaveLength(1);
  });
});

describe('the audit chain of the in-memory store', () => {
  type Internals = { audit: Map<string, unknown[]>; heads: Map<string, unknown> };

  it('checks the chain head: a truncated tail fails', async () => {
    const store = new MemoryStore();
    await log(store, 'acme', 4);
    (store as unknown as Internals).audit.get('acme')!.pop();
    expect(await store.verifyAudit()).toEqual({ ok: false, tenant: 'acme', seq: 4, reason: expect.stringMatching(/ends at entry 3/) });
  });

  it('a missing head fails, and the next append rebuilds it', async () => {
    const store = new MemoryStore();
    await log(store, 'acme', 2);
    (store as unknown as Internals).heads.delete('acme');
    expect(await store.verifyAudit()).toMatchObject({ ok: false, reason: expect.stringMatching(/head is missing/) });
    await log(store, 'acme', 1);
    expect(await store.verifyAudit()).toEqual({ ok: true, tenants: 1, entries: 4 });
  });

  it('verifies against checkpoint anchors like the SQL stores', async () => {
    const store = new MemoryStore();
    await log(store, 'acme', 3);
    const heads = await headsOf(store);
    expect(heads).toEqual([{ tenant: 'acme', seq: 3, hash: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    await log(store, 'acme', 2);
    expect(await store.verifyAudit(undefined, heads)).toEqual({ ok: true, tenants: 1, entries: 5 });
    expect(await new MemoryStore().verifyAudit(undefined, heads)).toMatchObject({ ok: false, tenant: 'acme', seq: 1 });
  });
});

describe('checkpoint keys and files', () => {
  const keys = generateKeyPairSync('ed25519');
  const privatePem = keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const publicPem = keys.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const seed = (keys.privateKey.export({ format: 'der', type: 'pkcs8' }) as Buffer).subarray(16);
  const publicRaw = (keys.publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(12);
  const heads: AuditAnchor[] = [
    { tenant: 'globex', seq: 2, hash: 'b'.repeat(64) },
    { tenant: 'acme', seq: 7, hash: 'a'.repeat(64) },
  ];

  it('signing keys: a PKCS#8 PEM or a 32-byte seed (hex, padded base64); verify keys: SPKI PEM, raw 32 bytes, or the signing key', () => {
    const id = checkpointKeyId(keys.publicKey);
    expect(checkpointKeyId(signingKeyFromEnv({ BOTC_AUDIT_SIGNING_KEY: privatePem }))).toBe(id);
    expect(checkpointKeyId(signingKeyFromEnv({ BOTC_AUDIT_SIGNING_KEY: seed.toString('hex') }))).toBe(id);
    expect(checkpointKeyId(signingKeyFromEnv({ BOTC_AUDIT_SIGNING_KEY: seed.toString('base64') }))).toBe(id);
    expect(checkpointKeyId(verifyKeyFromEnv({ BOTC_AUDIT_VERIFY_KEY: publicPem }))).toBe(id);
    expect(checkpointKeyId(verifyKeyFromEnv({ BOTC_AUDIT_VERIFY_KEY: publicRaw.toString('base64') }))).toBe(id);
    expect(checkpointKeyId(verifyKeyFromEnv({ BOTC_AUDIT_SIGNING_KEY: privatePem }))).toBe(id);
  });

  it.each([
    ['no signing key', () => signingKeyFromEnv({}), /BOTC_AUDIT_SIGNING_KEY is not set/],
    ['an all-zero seed', () => signingKeyFromEnv({ BOTC_AUDIT_SIGNING_KEY: '00'.repeat(32) }), /all zero/],
    ['a passphrase', () => signingKeyFromEnv({ BOTC_AUDIT_SIGNING_KEY: 'my audit key' }), /whitespace/],
    ['an RSA key', () => signingKeyFromEnv({ BOTC_AUDIT_SIGNING_KEY: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }), /not Ed25519/],
    ['no verify key', () => verifyKeyFromEnv({}), /BOTC_AUDIT_VERIFY_KEY is not set/],
    ['a broken PEM', () => verifyKeyFromEnv({ BOTC_AUDIT_VERIFY_KEY: '-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----' }), /not a PEM public key/],
  ])('refuses %s', (_name, make, message) => {
    expect(make).toThrow(AuditCheckpointError);
    expect(make).toThrow(message);
  });

  it('a checkpoint signed by the key opens; sorted heads; another key, an altered field or a bad shape do not', () => {
    const checkpoint = signCheckpoint(heads, keys.privateKey, new Date('2026-12-01T00:00:00Z'));
    expect(checkpoint.heads.map((h) => h.tenant)).toEqual(['acme', 'globex']);
    expect(openCheckpoint(JSON.stringify(checkpoint), keys.publicKey)).toEqual({ ok: true, checkpoint });
    expect(openCheckpoint(JSON.stringify(checkpoint), generateKeyPairSync('ed25519').publicKey)).toEqual({ ok: false, reason: expect.stringMatching(/signed by key ed25519:/) });
    for (const altered of [
      { ...checkpoint, created_at: '2027-01-01T00:00:00.000Z' },
      { ...checkpoint, heads: [{ ...checkpoint.heads[0]!, seq: 6 }, checkpoint.heads[1]!] },
      { ...checkpoint, heads: [checkpoint.heads[1]!] },
    ]) {
      expect(openCheckpoint(JSON.stringify(altered), keys.publicKey)).toEqual({ ok: false, reason: expect.stringMatching(/signature does not match/) });
    }
    for (const bad of ['not json', '[]', JSON.stringify({ ...checkpoint, extra: 1 }), JSON.stringify({ ...checkpoint, heads: [{ tenant: 'acme', seq: 0, hash: 'a'.repeat(64) }] }), JSON.stringify({ ...checkpoint, format: 'botc.audit-checkpoint/2' })]) {
      expect(() => openCheckpoint(bad, keys.publicKey)).toThrow(AuditCheckpointError);
    }
  });
});
