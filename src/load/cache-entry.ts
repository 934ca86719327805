import { createHash, hash, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The format of the entries under `<root>/.botc/cache/` (the build's cache, src/build/cache/cache.ts,
 * and the runtime's verdicts and validators, src/runtime/verdicts.ts, write them; the runtime reads precompiled modules from it, src/load/compiled.ts). Bump it whenever what an
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
  const digest = createHash('sha256');
  for (const part of parts) {
    const bytes = Buffer.from(part, 'utf8');
    digest.update(`${bytes.length}:`).update(bytes);
  }
  return digest.digest('hex');
}

/** sha256 hex of a file's bytes or a string's UTF-8. */
export function sha256Hex(data: string | Buffer): string {
  return hash('sha256', data, 'hex');
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
  const bytes = readRegularFile(path.join(dir, kind, `${key}.json`), MAX_ENTRY_BYTES);
  if (bytes === 'missing') return 'miss';
  if (bytes === 'refused') return 'reject';
  try {
    const entry = JSON.parse(bytes.toString('utf8')) as Partial<StoredEntry>;
    if (entry.format !== CACHE_FORMAT || entry.version !== botcVersionTag() || entry.kind !== kind || entry.key !== key) return 'reject';
    if (typeof entry.payload !== 'string' || entry.sha256 !== sha256Hex(entry.payload)) return 'reject';
    return { value: JSON.parse(entry.payload) as unknown };
  } catch {
    return 'reject';
  }
}

/**
 * Writes `value` (plain JSON) as the entry `key` of `kind` in the cache folder `dir`
 * (`<root>/.botc/cache`, which the caller has checked is a real folder): `dir/kind` made 0700
 * if absent, the entry written 0600 to a temporary file opened with O_EXCL and O_NOFOLLOW and
 * renamed into place. Returns whether the entry was stored; never throws (a read-only workspace
 * or a full disk leaves the cache as it was).
 */
export function writeCacheEntry(dir: string, kind: string, key: string, value: unknown): boolean {
  try {
    const folder = path.join(dir, kind);
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    if (!lstatSync(folder).isDirectory()) return false;
    const payload = JSON.stringify(value);
    const entry: StoredEntry = { format: CACHE_FORMAT, version: botcVersionTag(), kind, key, sha256: sha256Hex(payload), payload };
    const target = path.join(folder, `${key}.json`);
    return replaceFile(target, `${target}.${randomBytes(6).toString('hex')}.tmp`, JSON.stringify(entry));
  } catch {
    return false;
  }
}

/**
 * The bytes of `file` when it is a regular file of at most `cap` bytes, read without following
 * a link (O_NOFOLLOW, and checked again on the open file); `missing` when there is none;
 * `refused` for anything else (a link, not a regular file, too large, unreadable). Never throws.
 */
export function readRegularFile(file: string, cap: number): Buffer | 'missing' | 'refused' {
  try {
    const stat = lstatSync(file, { throwIfNoEntry: false });
    if (!stat) return 'missing';
    if (!stat.isFile() || stat.size > cap) return 'refused';
    const fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    try {
      const opened = fstatSync(fd);
      if (!opened.isFile() || opened.size > cap) return 'refused';
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    return 'refused';
  }
}

/**
 * Puts `data` at `target` through `temporary`, created 0600 with O_EXCL and O_NOFOLLOW (a
 * planted file or link is never written through) and renamed over `target`, so a concurrent
 * reader never sees half of it. Not fsync'd (it cost ~1 s of a cold build, on its critical
 * path): what a crash tears fails the digest its reader checks (an entry's payload hash, a
 * pack's name), which is a miss. False when the rename failed (the temporary file is removed);
 * throws when the temporary file cannot be created or written (callers catch).
 */
export function replaceFile(target: string, temporary: string, data: string | Buffer): boolean {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
  try {
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temporary, target);
  } catch {
    rmSync(temporary, { force: true });
    return false;
  }
  return true;
}

/** True when no process with this id is running: a temporary file it named is a crash's leftover. */
export function processGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
