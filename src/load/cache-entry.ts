import { createHash } from 'node:crypto';
import { closeSync, constants, lstatSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The format of the entries under `<root>/.botc/cache/` (src/build/cache.ts writes them; the
 * runtime reads precompiled modules from it, src/load/compiled.ts). Bump it whenever what an
 * entry holds, or what produced it, changes meaning: entries of any other format are ignored
 * (and overwritten) rather than trusted.
 */
export const CACHE_FORMAT = 'botc-cache/2';

/** Where the cache lives, relative to the workspace root. */
export const CACHE_DIR = '.botc/cache';

/** Largest entry read back, in bytes: anything bigger is not one botc wrote. */
const MAX_ENTRY_BYTES = 16 * 1024 * 1024;

/** A key is a lower-case sha256 hex digest; nothing else names a file in the cache. */
export const CACHE_KEY = /^[0-9a-f]{64}$/;

let versionTag: string | undefined;

/**
 * botc's own version and the cache format: part of every key, so results computed by another
 * botc (whose checks may differ) are never found, and also stored in every entry and verified.
 */
export function botcVersionTag(): string {
  if (versionTag !== undefined) return versionTag;
  let version = 'unknown';
  try {
    const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../package.json');
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
    if (typeof parsed.version === 'string') version = parsed.version;
  } catch {
    // No package.json beside the install: entries are still keyed by the format tag.
  }
  return (versionTag = `${CACHE_FORMAT};botc@${version}`);
}

/** sha256 of the given parts, each length-prefixed so no two lists of parts hash alike. */
export function cacheKey(...parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes = Buffer.from(part, 'utf8');
    hash.update(`${bytes.length}:`).update(bytes);
  }
  return hash.digest('hex');
}

/** sha256 hex of a file's bytes or a string's UTF-8. */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** One entry as stored: the value is `payload` (JSON text), the rest says what it is. */
export interface StoredEntry {
  format: string;
  version: string;
  kind: string;
  key: string;
  /** sha256 of `payload`: a torn or edited entry fails this check. */
  sha256: string;
  /** The value, as JSON text. */
  payload: string;
}

/**
 * Reads one entry of the cache folder `dir` (`<root>/.botc/cache`): `miss` when there is none (or the cache folder is a link),
 * `reject` when there is one that is not a valid entry of this kind, key, format and botc
 * version (unreadable, torn, a link, too large, or its payload not hashing to the stored
 * sha256), else the parsed value. Nothing is read through a link: `.botc` and the cache folder
 * must be real folders and the entry is opened with O_NOFOLLOW. Never throws.
 */
export function readCacheEntry(dir: string, kind: string, key: string): { value: unknown } | 'miss' | 'reject' {
  if (!CACHE_KEY.test(key)) return 'miss';
  for (const folder of [path.dirname(dir), dir]) {
    const stat = lstatSync(folder, { throwIfNoEntry: false });
    // No cache, or one that is a link or not a folder: nothing to read (the writer stays off too).
    if (stat === undefined || !stat.isDirectory()) return 'miss';
  }
  let text: string;
  try {
    const file = path.join(dir, kind, `${key}.json`);
    const stat = lstatSync(file, { throwIfNoEntry: false });
    if (!stat) return 'miss';
    if (!stat.isFile() || stat.size > MAX_ENTRY_BYTES) return 'reject';
    const fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    try {
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return 'reject';
  }
  try {
    const entry = JSON.parse(text) as Partial<StoredEntry>;
    if (entry.format !== CACHE_FORMAT || entry.version !== botcVersionTag() || entry.kind !== kind || entry.key !== key) return 'reject';
    if (typeof entry.payload !== 'string' || entry.sha256 !== sha256Hex(entry.payload)) return 'reject';
    return { value: JSON.parse(entry.payload) as unknown };
  } catch {
    return 'reject';
  }
}
