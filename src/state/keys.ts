/**
 * Strict parsing of the 32-byte keys a deployment holds (the credential vault key, the audit
 * checkpoint signing seed). A key is exactly 32 bytes written one of three ways, and nothing else:
 *
 * - 64 hexadecimal characters (`openssl rand -hex 32`);
 * - 44 characters of base64 (RFC 4648 §4) ending in one `=` (`openssl rand -base64 32`);
 * - 44 characters of base64url (RFC 4648 §5) ending in one `=`.
 *
 * Base64 must be canonical: the unused low bits of the last character are zero, so one key has
 * one spelling and stray characters are never silently dropped. The padding is required so that
 * a 43-character passphrase is never taken for a key. Whitespace around the key (a trailing
 * newline from a file) is ignored. Messages never repeat the key.
 */

/** Why a key text is refused. The message describes the text without repeating it. */
export class KeyFormatError extends Error {
  override name = 'KeyFormatError';
}

/** Decodes a 32-byte key; throws KeyFormatError when it is not one of the three spellings. */
export function parseKey32(text: string): Buffer {
  const raw = text.trim();
  if (raw.length === 0) throw new KeyFormatError('is empty');
  if (/^[0-9a-fA-F]+$/.test(raw)) {
    if (raw.length !== 64) throw new KeyFormatError(`is ${raw.length} hex characters, not 64 (32 bytes)`);
    return Buffer.from(raw, 'hex');
  }
  const standard = /^[A-Za-z0-9+/]{43}=$/.test(raw);
  const url = /^[A-Za-z0-9_-]{43}=$/.test(raw);
  if (!standard && !url) {
    if (/\s/.test(raw)) throw new KeyFormatError('contains whitespace (a passphrase is not a key)');
    if (raw.length === 43 && /^[A-Za-z0-9_+/-]+$/.test(raw)) {
      throw new KeyFormatError('is 43 characters: write base64 with its `=` padding (44 characters)');
    }
    throw new KeyFormatError(`is ${raw.length} characters and neither 64 hex characters nor 44 characters of padded base64`);
  }
  const key = Buffer.from(raw, standard ? 'base64' : 'base64url');
  const canonical = standard ? key.toString('base64') : `${key.toString('base64url')}=`;
  if (key.length !== 32 || canonical !== raw) throw new KeyFormatError('is not canonical base64 (its last character carries bits past the 32 bytes)');
  return key;
}

/**
 * Why 32 bytes cannot be a randomly generated key, or undefined. Refused: all zero, one repeated
 * byte, a short block repeated, a counting sequence, fewer than 16 distinct byte values, or
 * bytes that are all printable ASCII (a password spelled as a key). A key from a cryptographic
 * random source trips none of these but with negligible probability (below 2^-40).
 */
export function weakKeyReason(key: Buffer): string | undefined {
  if (key.every((b) => b === 0)) return 'is all zero';
  if (key.every((b) => b === key[0])) return 'is one byte repeated';
  for (let period = 2; period <= key.length / 2; period++) {
    if (key.every((b, i) => i + period >= key.length || b === key[i + period])) return `repeats a ${period}-byte block`;
  }
  const step = (key[1]! - key[0]! + 256) % 256;
  if (key.every((b, i) => i === 0 || (b - key[i - 1]! + 256) % 256 === step)) return 'is a counting sequence';
  if (new Set(key).size < 16) return `has only ${new Set(key).size} distinct byte values (low entropy)`;
  if (key.every((b) => b >= 0x20 && b <= 0x7e)) return 'is printable text, not random bytes (a password is not a key)';
  return undefined;
}
