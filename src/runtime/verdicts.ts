import { createHmac, timingSafeEqual } from 'node:crypto';
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { CACHE_DIR, botcVersionTag, cacheKey, readCacheEntry, writeCacheEntry } from '../load/cache-entry.ts';
import { moduleKey } from '../load/compiled.ts';

/**
 * Verdicts: "this exact text passed its schema check" for the files every runtime command
 * checks on load (a bundle, botc.config.json), so a later `botc call` of the same bytes skips
 * loading the schema library (zod, ~150 ms of CPU) and checking them again.
 *
 * A verdict lets a check be skipped, so it must not be forgeable: the cache sits in the
 * workspace, where anyone who can add a file (a pull request that commits `.botc/cache/`, a
 * shared checkout) could plant one for a bundle that breaks the schema. Each entry therefore
 * carries an HMAC-SHA256 under the user's own module key (src/load/compiled.ts), over botc's
 * version, what was checked, the sha256 of the text and the result. Entries live in
 * `<root>/.botc/cache/verdict/`, keyed by those (content-addressed), with the build cache's
 * entry format (src/load/cache-entry.ts: a torn, foreign or edited entry is a miss). Nothing
 * is stored when the user has no key, or when the workspace has no cache folder (a command run
 * from the wrong folder creates nothing there). Reads and writes never throw.
 */

/** The folder of verdict entries under `.botc/cache/`. */
export const VERDICT_KIND = 'verdict';

/** What a verdict is about: a bundle file's text, or botc.config.json's. */
export type VerdictSubject = 'bundle' | 'config';

function verdictKey(subject: VerdictSubject, textSha256: string): string {
  return cacheKey(VERDICT_KIND, botcVersionTag(), subject, textSha256);
}

function mac(key: Buffer, subject: VerdictSubject, textSha256: string, result: unknown): Buffer {
  return createHmac('sha256', key).update(JSON.stringify([botcVersionTag(), VERDICT_KIND, subject, textSha256, result])).digest();
}

/**
 * The result stored with the verdict for a text of sha256 `textSha256` (hex), when the
 * workspace `root` holds one whose MAC verifies under the user's key; else undefined.
 */
export function readVerdict(root: string, subject: VerdictSubject, textSha256: string): { result: unknown } | undefined {
  try {
    const key = moduleKey(false);
    if (!key) return undefined;
    const read = readCacheEntry(path.join(root, CACHE_DIR), VERDICT_KIND, verdictKey(subject, textSha256));
    if (typeof read === 'string') return undefined;
    const entry = read.value as { subject?: unknown; sha256?: unknown; result?: unknown; mac?: unknown } | null;
    if (entry === null || typeof entry !== 'object' || entry.subject !== subject || entry.sha256 !== textSha256 || typeof entry.mac !== 'string') return undefined;
    const expected = mac(key, subject, textSha256, entry.result);
    const given = Buffer.from(entry.mac, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected) ? { result: entry.result } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stores that the text of sha256 `textSha256` passed its check, with its `result` (plain
 * JSON), in the cache of `root`. Only when the user has a key and `.botc/cache` already exists
 * as a real folder (not a link); written 0600 to a temporary file renamed into place. A failure
 * is silent: the result of a command never depends on the cache.
 */
export function storeVerdict(root: string, subject: VerdictSubject, textSha256: string, result: unknown): void {
  const key = moduleKey(false);
  if (!key) return;
  writeUserEntry(root, VERDICT_KIND, verdictKey(subject, textSha256), { subject, sha256: textSha256, result, mac: mac(key, subject, textSha256, result).toString('hex') });
}

/**
 * Writes `value` (plain JSON) as the entry `key` of `kind` in the cache of `root`, in the build
 * cache's entry format, for the runtime's own entries (verdicts, precompiled validators): only
 * when `.botc/cache` already exists as a real folder (not a link), 0600, to a temporary file
 * renamed into place. A failure is silent: the result of a command never depends on the cache.
 */
export function writeUserEntry(root: string, kind: string, key: string, value: unknown): void {
  const dir = path.join(root, CACHE_DIR);
  for (const folder of [path.dirname(dir), dir]) {
    if (lstatSync(folder, { throwIfNoEntry: false })?.isDirectory() !== true) return;
  }
  writeCacheEntry(dir, kind, key, value);
}
