import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../bundle/canonical.ts';
import { KeyFormatError, parseKey32, weakKeyReason } from './keys.ts';
import type { AuditAnchor } from './types.ts';

/**
 * Signed checkpoints of the audit log (the Certificate Transparency idea): a checkpoint records
 * each tenant's last entry `(tenant, seq, hash)`, signed with an Ed25519 key the deployment
 * holds. Kept somewhere the database's users cannot write, it proves later that the log still
 * extends it: the entry at `seq` still has that hash and the chain verifies up to it and past
 * it. A log rewritten wholesale (every hash recomputed), emptied or dropped fails the check.
 *
 * Ed25519 rather than an HMAC: whoever verifies needs only the public key, which cannot sign,
 * so a verifier (or an attacker who reads its configuration) can never forge a checkpoint.
 */

export const CHECKPOINT_FORMAT = 'botc.audit-checkpoint/1';

/** The environment variables of the checkpoint keys. */
export const SIGNING_KEY_ENV = 'BOTC_AUDIT_SIGNING_KEY';
export const VERIFY_KEY_ENV = 'BOTC_AUDIT_VERIFY_KEY';

/** A checkpoint as written to a file: sorted heads, the signing key's id, a base64 signature. */
export interface AuditCheckpoint {
  format: typeof CHECKPOINT_FORMAT;
  created_at: string;
  heads: AuditAnchor[];
  /** `ed25519:` and the first 16 hex digits of the sha256 of the raw 32-byte public key. */
  key_id: string;
  signature: string;
}

/** A checkpoint key is missing or malformed, or a checkpoint file is not one: a usage error. */
export class AuditCheckpointError extends Error {
  override name = 'AuditCheckpointError';
}

// DER prefixes that wrap a raw Ed25519 seed (PKCS#8, RFC 8410) and public key (SPKI).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * The signing key from BOTC_AUDIT_SIGNING_KEY: a PKCS#8 PEM Ed25519 private key
 * (`openssl genpkey -algorithm ed25519`), or its 32-byte seed spelled as src/state/keys.ts
 * accepts (hex or padded base64), not a weak one. Throws AuditCheckpointError.
 */
export function signingKeyFromEnv(env: NodeJS.ProcessEnv): KeyObject {
  const raw = env[SIGNING_KEY_ENV];
  if (raw === undefined || raw.trim() === '') {
    throw new AuditCheckpointError(`${SIGNING_KEY_ENV} is not set: checkpoints are signed with it (an Ed25519 private key; \`openssl genpkey -algorithm ed25519\`)`);
  }
  if (raw.includes('-----BEGIN')) {
    const key = keyOrThrow(() => createPrivateKey(raw), `${SIGNING_KEY_ENV} is not a PEM private key`);
    if (key.asymmetricKeyType !== 'ed25519') throw new AuditCheckpointError(`${SIGNING_KEY_ENV} is a ${key.asymmetricKeyType} key, not Ed25519`);
    return key;
  }
  const seed = key32(raw, SIGNING_KEY_ENV);
  const weak = weakKeyReason(seed);
  if (weak) throw new AuditCheckpointError(`${SIGNING_KEY_ENV} ${weak}: it must be 32 random bytes`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/**
 * The key that checks checkpoints: BOTC_AUDIT_VERIFY_KEY (an SPKI PEM Ed25519 public key, or the
 * raw 32-byte public key in hex or padded base64), else the public half of the signing key.
 */
export function verifyKeyFromEnv(env: NodeJS.ProcessEnv): KeyObject {
  const raw = env[VERIFY_KEY_ENV];
  if (raw === undefined || raw.trim() === '') {
    if (env[SIGNING_KEY_ENV]?.trim()) return createPublicKey(signingKeyFromEnv(env));
    throw new AuditCheckpointError(`${VERIFY_KEY_ENV} is not set: a checkpoint is checked with the public key of the key that signed it`);
  }
  if (raw.includes('-----BEGIN')) {
    const key = keyOrThrow(() => createPublicKey(raw), `${VERIFY_KEY_ENV} is not a PEM public key`);
    if (key.asymmetricKeyType !== 'ed25519') throw new AuditCheckpointError(`${VERIFY_KEY_ENV} is a ${key.asymmetricKeyType} key, not Ed25519`);
    return key;
  }
  const bytes = key32(raw, VERIFY_KEY_ENV);
  return keyOrThrow(() => createPublicKey({ key: Buffer.concat([SPKI_PREFIX, bytes]), format: 'der', type: 'spki' }), `${VERIFY_KEY_ENV} is not an Ed25519 public key`);
}

/** The id a checkpoint names its key by. */
export function checkpointKeyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
  return `ed25519:${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
}

/** Signs the heads of a verified log. */
export function signCheckpoint(heads: readonly AuditAnchor[], key: KeyObject, now: Date = new Date()): AuditCheckpoint {
  const body = {
    format: CHECKPOINT_FORMAT,
    created_at: now.toISOString(),
    heads: [...heads].sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0)).map((h) => ({ tenant: h.tenant, seq: h.seq, hash: h.hash })),
    key_id: checkpointKeyId(key),
  } as const;
  return { ...body, signature: sign(null, signedBytes(body), key).toString('base64') };
}

/**
 * Reads a checkpoint file's text and checks its signature. Throws AuditCheckpointError when the
 * text is not a checkpoint; answers `{ok: false}` when it is one that `key` did not sign (or that
 * was altered after signing), else the anchors to verify the log against.
 */
export function openCheckpoint(text: string, key: KeyObject): { ok: true; checkpoint: AuditCheckpoint } | { ok: false; reason: string } {
  const checkpoint = parseCheckpoint(text);
  const expected = checkpointKeyId(key);
  if (checkpoint.key_id !== expected) return { ok: false, reason: `it was signed by key ${checkpoint.key_id}, not by ${expected}` };
  const { signature, ...body } = checkpoint;
  if (!verify(null, signedBytes(body), key, Buffer.from(signature, 'base64'))) return { ok: false, reason: 'its signature does not match its content (altered or forged)' };
  return { ok: true, checkpoint };
}

function signedBytes(body: Omit<AuditCheckpoint, 'signature'>): Buffer {
  return Buffer.from(canonicalJson(body), 'utf8');
}

const HASH = /^[0-9a-f]{64}$/;

function parseCheckpoint(text: string): AuditCheckpoint {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AuditCheckpointError('the checkpoint file is not JSON');
  }
  const bad = (why: string) => new AuditCheckpointError(`the checkpoint file is not a ${CHECKPOINT_FORMAT} checkpoint: ${why}`);
  if (!isRecord(value)) throw bad('not an object');
  const keys = Object.keys(value).sort().join(',');
  if (keys !== 'created_at,format,heads,key_id,signature') throw bad(`its fields are ${keys || 'none'}`);
  if (value['format'] !== CHECKPOINT_FORMAT) throw bad('another format');
  const { created_at: createdAt, heads, key_id: keyId, signature } = value;
  if (typeof createdAt !== 'string' || typeof keyId !== 'string' || typeof signature !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) {
    throw bad('created_at, key_id and signature are strings (the signature base64)');
  }
  if (!Array.isArray(heads)) throw bad('heads is not a list');
  const anchors = heads.map((head: unknown, i) => {
    if (!isRecord(head) || Object.keys(head).sort().join(',') !== 'hash,seq,tenant') throw bad(`heads[${i}] is not {tenant, seq, hash}`);
    const { tenant, seq, hash } = head;
    if (typeof tenant !== 'string' || !Number.isSafeInteger(seq) || (seq as number) < 1 || typeof hash !== 'string' || !HASH.test(hash)) {
      throw bad(`heads[${i}] needs a tenant, a seq of 1 or more, and a sha256 hash in hex`);
    }
    return { tenant, seq: seq as number, hash };
  });
  return { format: CHECKPOINT_FORMAT, created_at: createdAt, heads: anchors, key_id: keyId, signature };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function key32(raw: string, name: string): Buffer {
  try {
    return parseKey32(raw);
  } catch (error) {
    if (!(error instanceof KeyFormatError)) throw error;
    throw new AuditCheckpointError(`${name} ${error.message}: use a PEM key, or 32 bytes as 64 hex characters or 44 characters of base64 ending in \`=\``);
  }
}

function keyOrThrow(make: () => KeyObject, message: string): KeyObject {
  try {
    return make();
  } catch {
    throw new AuditCheckpointError(message);
  }
}
