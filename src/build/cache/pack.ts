import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { botcVersionTag, CACHE_KEY, processGone, readRegularFile, replaceFile, sha256Hex } from '../../load/cache-entry.ts';

/**
 * Packs: the build cache's small entries of the kinds a build stores by the hundred (schema
 * reports, module inputs, declarations) kept together in one file, `<cache>/pack/<sha256>.pack`,
 * instead of one file each. Creating hundreds of small files after tens of MiB of bundle writes
 * waited on the file system's journal (~0.6 s of a cold build); one pack is one write.
 *
 * A pack is JSON: `{ format: PACK_FORMAT, version: botcVersionTag(), entries: [[kind, key,
 * sha256, payload], ...] }`, `payload` being an entry's value as JSON text and `sha256` the
 * sha256 of that text. Its file name is the sha256 of its bytes. A reader checks the name
 * against the bytes (a torn or edited pack is ignored whole), the format and the botc version
 * (a foreign pack is ignored whole), and each entry's payload against its own sha256 when the
 * entry is used (a mismatch is a rejected entry, a miss).
 */

/** The pack file format; the botc version and entry format are checked as `version`. */
export const PACK_FORMAT = 'botc-cache-pack/1';

/** The folder of packs, inside the cache folder. */
export const PACK_DIR = 'pack';

/** A pack's file name: the sha256 (lower-case hex) of its bytes. */
const PACK_NAME = /^([0-9a-f]{64})\.pack$/;

/** A pack being written: `.pack.<pid>.<random>.tmp` (the pid tells a crash's leftovers from a running build's). */
const PACK_TEMPORARY = /^\.pack\.(\d+)\.[0-9a-f]+\.tmp$/;

/** Largest pack read back, in bytes: anything bigger is not one botc wrote. */
export const MAX_PACK_BYTES = 64 * 1024 * 1024;

/** Packs read per build at most (normally one; more only after concurrent builds). */
const MAX_PACKS = 8;

/** One entry of a pack. */
export interface PackEntry {
  kind: string;
  /** The entry's cache key (`CACHE_KEY`). */
  key: string;
  /** sha256 (hex) of `payload`. */
  sha256: string;
  /** The value, as JSON text. */
  payload: string;
}

/** What `readPacks` found: the entries by `kind/key`, and the file names of every pack seen (valid or not), which a new pack supersedes. */
export interface LoadedPacks {
  entries: Map<string, PackEntry>;
  files: string[];
  /** Packs seen and ignored (torn, edited, foreign, too large, not a file). */
  rejected: number;
}

/** The map key of an entry. */
export function packId(kind: string, key: string): string {
  return `${kind}/${key}`;
}

/**
 * Reads every pack of the cache folder `dir` (`<root>/.botc/cache`) whose kinds are in
 * `kinds`. Nothing is read through a link: `.botc`, the cache folder and `pack/` must be
 * real folders, and each pack is opened with O_NOFOLLOW and must be a regular file. A pack that
 * is not exactly one botc of this version wrote (its name is not the sha256 of its bytes, it
 * does not parse, its format or version differ) contributes nothing. Never throws.
 */
export function readPacks(dir: string, kinds: ReadonlySet<string>): LoadedPacks {
  const loaded: LoadedPacks = { entries: new Map(), files: [], rejected: 0 };
  const folder = path.join(dir, PACK_DIR);
  for (const real of [path.dirname(dir), dir, folder]) {
    const stat = lstatSync(real, { throwIfNoEntry: false });
    if (stat === undefined || !stat.isDirectory()) return loaded;
  }
  let names: string[];
  try {
    names = readdirSync(folder).filter((name) => PACK_NAME.test(name)).sort();
  } catch {
    return loaded;
  }
  loaded.files = names;
  for (const name of names.slice(0, MAX_PACKS)) {
    if (!readPack(path.join(folder, name), PACK_NAME.exec(name)![1]!, kinds, loaded.entries)) loaded.rejected++;
  }
  return loaded;
}

/** Adds the entries of one pack to `into` (an entry already there is kept); false when the pack is not valid. */
function readPack(file: string, sha256: string, kinds: ReadonlySet<string>, into: Map<string, PackEntry>): boolean {
  const bytes = readRegularFile(file, MAX_PACK_BYTES);
  if (typeof bytes === 'string' || sha256Hex(bytes) !== sha256) return false;
  let pack: { format?: unknown; version?: unknown; entries?: unknown };
  try {
    pack = JSON.parse(bytes.toString('utf8')) as typeof pack;
  } catch {
    return false;
  }
  if (pack === null || typeof pack !== 'object' || pack.format !== PACK_FORMAT || pack.version !== botcVersionTag() || !Array.isArray(pack.entries)) return false;
  for (const item of pack.entries as unknown[]) {
    if (!Array.isArray(item) || item.length !== 4 || !item.every((part) => typeof part === 'string')) continue;
    const [kind, key, digest, payload] = item as [string, string, string, string];
    if (!kinds.has(kind) || !CACHE_KEY.test(key) || !CACHE_KEY.test(digest)) continue;
    const id = packId(kind, key);
    if (!into.has(id)) into.set(id, { kind, key, sha256: digest, payload });
  }
  return true;
}

/** The value of a pack entry when its payload hashes to its recorded sha256, else 'reject'. */
export function packEntryValue(entry: PackEntry): { value: unknown } | 'reject' {
  if (sha256Hex(entry.payload) !== entry.sha256) return 'reject';
  try {
    return { value: JSON.parse(entry.payload) as unknown };
  } catch {
    return 'reject';
  }
}

/**
 * Writes `entries` as one pack in `dir/pack/` (`dir`: the cache folder, which the caller has
 * checked is a real folder; `pack/` is made 0700 if absent and must be a real folder), 0600,
 * through a temporary file opened with O_EXCL and O_NOFOLLOW and renamed into place; then
 * removes the packs named in `superseded` (other than the one written) and temporary files
 * that builds no longer running left. Returns the new pack's file name, or undefined when
 * nothing was written (the pack would exceed MAX_PACK_BYTES, or a write failed); never throws.
 */
export function writePack(dir: string, entries: readonly PackEntry[], superseded: readonly string[]): string | undefined {
  try {
    const folder = path.join(dir, PACK_DIR);
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    if (!lstatSync(folder).isDirectory()) return undefined;
    const data = Buffer.from(
      JSON.stringify({ format: PACK_FORMAT, version: botcVersionTag(), entries: entries.map((e) => [e.kind, e.key, e.sha256, e.payload]) }),
      'utf8',
    );
    if (data.length > MAX_PACK_BYTES) return undefined;
    const name = `${sha256Hex(data)}.pack`;
    // A pack torn by a crash no longer hashes to its name, which makes it a miss.
    if (!replaceFile(path.join(folder, name), path.join(folder, `.pack.${process.pid}.${randomBytes(6).toString('hex')}.tmp`), data)) return undefined;
    // unlink never follows a link: a planted link is removed, not its target.
    for (const old of superseded) if (old !== name && PACK_NAME.test(old)) rmSync(path.join(folder, old), { force: true });
    for (const leftover of readdirSync(folder)) {
      const match = PACK_TEMPORARY.exec(leftover);
      if (match && processGone(Number(match[1]))) rmSync(path.join(folder, leftover), { force: true });
    }
    return name;
  } catch {
    return undefined;
  }
}
