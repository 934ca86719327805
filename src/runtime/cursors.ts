import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import { canonicalJson, sha256 } from '../bundle/canonical.ts';

/** What a sealed cursor is bound to: it continues exactly this query, for this tenant, and no other. */
export interface CursorBinding {
  tenant: string;
  method_id: string;
  /** The call's params (after validation): a cursor continues the same query, so they must match. */
  params: Record<string, unknown>;
}

/** A cursor key that is not 32 bytes (64 hex characters or base64). */
export class CursorKeyError extends Error {
  override name = 'CursorKeyError';
}

/** Every sealed cursor starts with this; the version changes if the format does. */
const PREFIX = 'botc_cur1_';
const KEY_BYTES = 32;
/** The length of a base64url HMAC-SHA256 (32 bytes, unpadded). */
const MAC_CHARS = 43;
const MAC_LABEL = 'botc.cursor/1';

/**
 * Makes pagination cursors opaque to the model: the runtime hands out `seal(raw)` in place of
 * the integration's `next_cursor`, and accepts back only what it sealed. A sealed cursor is
 * `botc_cur1_<base64url(HMAC-SHA256), 43 characters><base64url(raw cursor)>` (RFC 2104,
 * RFC 4648 §5: URL- and filename-safe, no separator a client could mangle), the
 * MAC taken over the raw cursor together with the tenant, the method id and the sha256 of the
 * params' canonical JSON. The raw cursor is readable but cannot be changed, nor the cursor be
 * used by another tenant, another method or another query: a model cannot add a query
 * parameter through it. Cursors do not expire; changing the key invalidates them all.
 */
export class CursorSealer {
  private readonly key: Buffer;

  /** `key`: at least 32 bytes; a fresh random key when absent (cursors then last as long as the process). */
  constructor(key?: Uint8Array) {
    if (key !== undefined && key.length < KEY_BYTES) throw new CursorKeyError(`a cursor key has at least ${KEY_BYTES} bytes`);
    this.key = key === undefined ? randomBytes(KEY_BYTES) : Buffer.from(key);
  }

  /** The sealed form of the integration's raw cursor. */
  seal(binding: CursorBinding, raw: string): string {
    return `${PREFIX}${this.mac(binding, raw).toString('base64url')}${Buffer.from(raw, 'utf8').toString('base64url')}`;
  }

  /** The raw cursor inside a sealed one, or undefined when it was not sealed by this key for this binding. */
  open(binding: CursorBinding, sealed: string): string | undefined {
    if (!sealed.startsWith(PREFIX) || !/^[A-Za-z0-9_-]*$/.test(sealed)) return undefined;
    const mac = sealed.slice(PREFIX.length, PREFIX.length + MAC_CHARS);
    const body = sealed.slice(PREFIX.length + MAC_CHARS);
    const raw = Buffer.from(body, 'base64url').toString('utf8');
    // Round trip: one raw cursor has one encoding, so a re-encoded variant is refused.
    if (Buffer.from(raw, 'utf8').toString('base64url') !== body) return undefined;
    const given = Buffer.from(mac, 'base64url');
    const expected = this.mac(binding, raw);
    return given.length === expected.length && timingSafeEqual(given, expected) ? raw : undefined;
  }

  private mac(binding: CursorBinding, raw: string): Buffer {
    const message = canonicalJson([MAC_LABEL, binding.tenant, binding.method_id, sha256(canonicalJson(binding.params)), raw]);
    return createHmac('sha256', this.key).update(message).digest();
  }
}

/**
 * The cursor key from `BOTC_CURSOR_KEY`: 32 bytes as 64 hex characters or canonical base64.
 * Undefined when the variable is unset; CursorKeyError when it is set but malformed. Every
 * process that serves one deployment sets the same key, so that a cursor one process hands out
 * is accepted by the next.
 */
export function cursorKeyFromEnv(env: NodeJS.ProcessEnv): Buffer | undefined {
  const text = env['BOTC_CURSOR_KEY'];
  if (text === undefined || text === '') return undefined;
  const key = parseKey(text.trim());
  if (!key) throw new CursorKeyError('BOTC_CURSOR_KEY must be 32 bytes: 64 hex characters or base64');
  return key;
}

/**
 * A cursor key derived from another 32-byte deployment key (the credential vault's) with
 * HKDF-SHA256 (RFC 5869) under a label of its own, so the two uses never share key material.
 */
export function deriveCursorKey(key: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'botc cursor key v1', KEY_BYTES));
}

/**
 * The cursor key kept in `file` (64 hex characters), created owner-only (0600) with a random key
 * when it does not exist. Used by the command line beside its SQLite state file, so that one
 * `botc call` accepts the cursors of the previous one. The file is never followed through a
 * symlink; a malformed file is CursorKeyError.
 */
export function cursorKeyFile(file: string): Buffer {
  try {
    const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      const key = randomBytes(KEY_BYTES);
      writeSync(fd, `${key.toString('hex')}\n`);
      return key;
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new CursorKeyError(`the cursor key file cannot be created: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let text: string;
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new CursorKeyError(`the cursor key file cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const key = /^[0-9a-f]{64}$/.test(text.trim()) ? Buffer.from(text.trim(), 'hex') : undefined;
  if (!key) throw new CursorKeyError('the cursor key file does not hold 64 hex characters');
  return key;
}

function parseKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) return undefined;
  const key = Buffer.from(text, 'base64');
  // Canonical only: the encoding must round-trip, so no two texts name one key.
  return key.length === KEY_BYTES && key.toString('base64') === text ? key : undefined;
}

/**
 * The result with its `meta.next_cursor` sealed; a new object, so that a stored result (an
 * idempotency record) keeps the raw cursor and is sealed afresh on each replay.
 */
export function sealNextCursor<R extends { meta: { next_cursor: string | null } }>(sealer: CursorSealer, binding: CursorBinding, result: R): R {
  const raw = result.meta.next_cursor;
  if (typeof raw !== 'string') return result;
  return { ...result, meta: { ...result.meta, next_cursor: sealer.seal(binding, raw) } };
}
