/**
 * The vault key (BOTC_SECRET_KEY): parsed strictly (exactly 32 bytes, 64 hex characters or 44
 * characters of padded canonical base64/base64url), weak keys refused, and a key that does not
 * open the stored credentials reported as such: a VaultKeyError (the CLI's usage error, exit 2)
 * and, at run time, AUTH_REQUIRED naming the cause instead of a bare INTERNAL_ERROR.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import type { Bundle } from '../src/bundle/format.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { parseKey32, weakKeyReason } from '../src/state/keys.ts';
import type { SqlStore } from '../src/state/sql-store.ts';
import { CredentialVault, vaultKeyFromEnv, VaultKeyError } from '../src/state/vault.ts';
import { describeStores, type TestDb } from './helpers/stores.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures-governance/', import.meta.url));
const SECRET = 'refkey_vault_9kJ4hG7fD2sAy6Tr';

/** A random key that passes every check (retried in the negligible case that it would not). */
function goodKey(): Buffer {
  for (;;) {
    const key = randomBytes(32);
    if (weakKeyReason(key) === undefined) return key;
  }
}

const env = (value: string) => ({ BOTC_SECRET_KEY: value });

/** The key's base64 with a low bit of the last character set: a lenient decoder ignores it. */
function nonCanonical(key: Buffer): string {
  const text = key.toString('base64');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  return `${text.slice(0, 42)}${alphabet[alphabet.indexOf(text[42]!) ^ 1]}=`;
}

describe('BOTC_SECRET_KEY is parsed strictly', () => {
  const key = goodKey();

  it('accepts 64 hex characters, padded base64 and padded base64url, with surrounding whitespace', () => {
    expect(vaultKeyFromEnv(env(key.toString('hex')))).toEqual(key);
    expect(vaultKeyFromEnv(env(key.toString('hex').toUpperCase()))).toEqual(key);
    expect(vaultKeyFromEnv(env(key.toString('base64')))).toEqual(key);
    expect(vaultKeyFromEnv(env(`${key.toString('base64url')}=`))).toEqual(key);
    expect(vaultKeyFromEnv(env(`${key.toString('hex')}\n`))).toEqual(key);
  });

  const refused: [string, string, RegExp][] = [
    ['a 43-letter passphrase', 'correcthorsebatterystapleandsomemorewordsxy', /43 characters/],
    ['unpadded base64url', key.toString('base64url'), /43 characters/],
    ['a passphrase with spaces', 'correct horse battery staple and more words', /whitespace/],
    ['base64 with junk after it', `${key.toString('base64')}!!`, /neither 64 hex/],
    ['base64 with junk inside', `${key.toString('base64').slice(0, 20)}*${key.toString('base64').slice(21)}`, /neither 64 hex/],
    ['base64 of 33 bytes', Buffer.concat([key, Buffer.from([7])]).toString('base64'), /neither 64 hex/],
    ['mixed base64 alphabets', `+-${key.toString('base64').slice(2)}`, /neither 64 hex/],
    ['non-canonical base64 (bits past the 32 bytes)', nonCanonical(key), /not canonical/],
    ['62 hex characters', key.toString('hex').slice(0, 62), /62 hex characters/],
    ['an all-zero key (hex)', '0'.repeat(64), /all zero/],
    ['an all-zero key (base64)', Buffer.alloc(32).toString('base64'), /all zero/],
    ['one repeated byte', 'ab'.repeat(32), /one byte repeated/],
    ['a repeated block', 'deadbeef'.repeat(8), /repeats a 4-byte block/],
    ['a counting sequence', Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('hex'), /counting sequence/],
    ['low entropy', Buffer.from(Array.from({ length: 32 }, (_, i) => [3, 141, 59, 26, 5, 35, 89, 79][(i * 5 + (i >> 2)) % 8]!)).toString('hex'), /distinct byte values/],
    ['a password spelled in hex', Buffer.from('Tr0ub4dor&3-Horse-Battery-Stap1e').toString('hex'), /printable text/],
    ['empty', '   ', /not set/],
  ];
  it.each(refused)('refuses %s, without repeating the key', (_name, value, reason) => {
    let error: unknown;
    try {
      vaultKeyFromEnv(env(value));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(VaultKeyError);
    expect((error as Error).message).toMatch(reason);
    if (value.trim()) expect((error as Error).message).not.toContain(value.trim());
  });

  it('the non-canonical spelling decodes to the same 32 bytes under a lenient decoder', () => {
    expect(Buffer.from(nonCanonical(key), 'base64')).toEqual(key);
    expect(() => parseKey32(nonCanonical(key))).toThrow(/not canonical/);
  });
});

let bundle: Bundle;
beforeAll(async () => {
  const result = await build({ root: FIXTURE, write: false });
  expect(result.diagnostics).toEqual([]);
  bundle = result.built[0]!;
});

describeStores('a key that does not open the stored credentials', (backend) => {
  let db: TestDb;
  let store: SqlStore;
  const right = goodKey();
  const wrong = goodKey();

  beforeEach(async () => {
    db = await backend.open();
    store = await db.connect();
    await new CredentialVault(store, right).add('acme', 'ref', SECRET, ['ref:read'], 'user:admin');
  });

  afterEach(async () => {
    await db.dispose();
  });

  it('is a VaultKeyError naming the cause: on read, on a key check, and before adding under another key', async () => {
    const vault = new CredentialVault(store, wrong);
    await expect(vault.get('acme', 'ref')).rejects.toThrow(VaultKeyError);
    await expect(vault.get('acme', 'ref')).rejects.toThrow(/the credential store cannot be decrypted with this key/);
    await expect(vault.checkKey('acme')).rejects.toThrow(/cannot be decrypted with this key/);
    // Another tenant with no credentials of its own: one credential of the store is checked.
    await expect(vault.checkKey('globex')).rejects.toThrow(/cannot be decrypted with this key/);
    await expect(vault.add('globex', 'ref', 'another-secret-value', ['ref:read'], 'user:admin')).rejects.toThrow(/cannot be decrypted with this key/);
    expect(await store.listCredentials('globex')).toEqual([]);
    await expect(new CredentialVault(store, right).checkKey('acme')).resolves.toBeUndefined();
  });

  it('a call answers AUTH_REQUIRED saying so, not INTERNAL_ERROR; the secret never shows', async () => {
    const runtime = await Runtime.load(bundle, { root: FIXTURE, store, credentials: new CredentialVault(store, wrong) });
    const result = await runtime.callTool({ expert: 'operator', tool: 'ref', op: 'call', tenant: 'acme', args: { method_id: 'ref.items.get.v1', params: { id: 'x' } } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('AUTH_REQUIRED');
    expect(result.error.message).toMatch(/the credential store cannot be decrypted with this key/);
    expect(JSON.stringify(result)).not.toContain(SECRET);
    const [audited] = await store.listAudit({ tenant: 'acme', action: 'call' });
    expect(audited).toMatchObject({ outcome: 'AUTH_REQUIRED' });
  });
});
