import { hash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, type BigIntStats, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../../diagnostics/diagnostic.ts';
import type { Entry } from '../discover/discover.ts';
import { TEXT_FILE_CAP } from '../../load/files.ts';
import type { WrittenBundle } from '../emit/emit.ts';
import { pinnedFileDigest } from '../../load/modules.ts';
import { botcVersionTag, cacheKey, sha256Hex, type BuildCache } from './cache.ts';

/** Top-level names whose contents a build reads (`automations/` is checked against the bundles). */
const SOURCES = ['automations', 'bots', 'integrations', 'prompts', 'botc.config.json', 'botc.lock.json'];
/** Never part of the sources: installs and botc's own state. */
const SKIPPED = new Set(['node_modules', '.botc', '.git']);

/** What a whole build left, as stored: enough to answer an unchanged rebuild without running it. */
export interface StoredBuild {
  ok: boolean;
  diagnostics: Diagnostic[];
  bundles: { bot: string; path: string; digest: string }[];
  /** Bundle files in the output folder (names) and the sha256 of their bytes; empty when nothing was written. */
  outputs: Record<string, string>;
  /**
   * Each bundle file's inode, size, mtime and ctime (nanoseconds), taken before its sha256: a
   * file whose four are unchanged is not read again. Any write, replacement or `touch` changes
   * the ctime, which no user tool can set back, so such a file is hashed and compared.
   */
  stats?: Record<string, string>;
  /**
   * Files outside the source folders that the build read, with their sha256: the local files
   * integration modules import from elsewhere in the workspace (`lib/shared.ts`, say). The key
   * does not list them, so each is hashed and compared before the stored build is used.
   */
  external?: [string, string][];
}

/** The sources whose bytes a walk lends to the build (`SourceWalk.contents`): prompts, bots, the integration registry and modules. */
const LENT = /^(?:bots|prompts|integrations)\//;

/**
 * What one walk of the sources saw, lent to the rest of the build so that no file is read
 * twice: each file's sha256 and its inode, size, mtime and ctime taken (with `fstat`, on the
 * open file) before it was read; and the key's parts under each top-level source and each
 * `bots/<bot>` folder, from which the per-bot keys are made (incremental.ts).
 */
export class SourceWalk implements SourceIndex {
  /** sha256 of each file, by workspace-relative path (read by this walk, or taken from the index of an earlier one). */
  readonly digests = new Map<string, string>();
  /** Each file's `fingerprint`, by workspace-relative path. */
  readonly fingerprints = new Map<string, string>();
  /** Key parts by section: a top-level source name, or `bots/<bot>`. */
  readonly sections = new Map<string, string[]>();
  /** When the walk started (ms since the epoch). */
  readonly started = Date.now();
  /** Files this walk opened and hashed (not answered by an earlier walk's fingerprint). */
  hashed = 0;
  /**
   * The bytes of the files the build reads through `WorkspaceFiles` that this walk read (under
   * `bots/`, `prompts/` and `integrations/`, up to `TEXT_FILE_CAP`), by workspace-relative path:
   * lent to the build's `WorkspaceFiles`, which then neither opens nor hashes them again
   * (src/load/files.ts, `lend`).
   */
  readonly contents = new Map<string, Buffer>();
  /**
   * The entries discovery lists (src/build/discover/discover.ts: the top-level `bots`,
   * `prompts`, `integrations`, and inside the real ones `bots/*`, `bots/<bot>/*`,
   * `bots/<bot>/prompts/*`, `prompts/*`, `integrations/*`), as the walk saw them; undefined when
   * the walk skipped a folder discovery would list (`bots/node_modules`, say).
   */
  listing: Entry[] | undefined = [];
}

/**
 * What an earlier walk knew of each file: its fingerprint (device, inode, size, mtime, ctime)
 * and its sha256, and when that walk started. A later walk does not read a file whose
 * fingerprint is unchanged and which was not changed just before `started` (see `RACY_MS`).
 * A `SourceWalk` of the same process is one; so is the index the previous build stored in the
 * cache (`readSourceIndex`), which plays the part of git's index across processes.
 */
export interface SourceIndex {
  readonly started: number;
  readonly digests: ReadonlyMap<string, string>;
  readonly fingerprints: ReadonlyMap<string, string>;
}

/** The stored form of a `SourceIndex` (cache kind `sources`): `[path, fingerprint, sha256]` per file. */
interface StoredSourceIndex {
  started: number;
  files: [string, string, string][];
}

/** The source index's cache key: one index per workspace and botc version, a newer build's replaces it. */
export function sourceIndexKey(): string {
  return cacheKey('sources', botcVersionTag());
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The source index the last build stored, or undefined (none, or not a valid one: the walk
 * then reads every file). The entry's payload hash is checked by the cache; its shape here.
 */
export function readSourceIndex(cache: BuildCache): SourceIndex | undefined {
  const stored = cache.get<StoredSourceIndex>('sources', sourceIndexKey());
  if (stored === null || typeof stored !== 'object' || !Number.isFinite(stored.started) || !Array.isArray(stored.files)) return undefined;
  const digests = new Map<string, string>();
  const fingerprints = new Map<string, string>();
  for (const entry of stored.files) {
    if (!Array.isArray(entry) || entry.length !== 3 || typeof entry[0] !== 'string' || typeof entry[1] !== 'string' || typeof entry[2] !== 'string' || !SHA256_HEX.test(entry[2])) return undefined;
    digests.set(entry[0], entry[2]);
    fingerprints.set(entry[0], entry[1]);
  }
  return { started: stored.started, digests, fingerprints };
}

/**
 * Stores the index of `walk` for the next build, unless it says nothing `previous` (the index
 * the walk started from) did not: no file was hashed and none was removed. Written at once (the
 * build calls it once it is known to be free of errors: a failed build writes nothing).
 */
export function storeSourceIndex(cache: BuildCache, walk: SourceWalk, previous: SourceIndex | undefined): void {
  if (previous && walk.hashed === 0 && walk.digests.size === previous.digests.size) return;
  const files: [string, string, string][] = [];
  for (const [file, digest] of walk.digests) {
    const print = walk.fingerprints.get(file);
    if (print !== undefined) files.push([file, print, digest]);
  }
  cache.write('sources', sourceIndexKey(), { started: walk.started, files } satisfies StoredSourceIndex);
}

/** Whether discovery lists `relative` (at `depth` below a top-level source); see `SourceWalk.listing`. */
function discovered(relative: string, depth: number): boolean {
  const top = relative.slice(0, relative.indexOf('/') === -1 ? undefined : relative.indexOf('/'));
  if (top !== 'bots' && top !== 'prompts' && top !== 'integrations') return false;
  if (depth <= 1) return true;
  if (top !== 'bots') return false;
  return depth === 2 || (depth === 3 && relative.split('/')[2] === 'prompts');
}

const ENTRY_KINDS = { link: 'symlink', folder: 'dir', file: 'file', other: 'other' } as const;

/**
 * A file changed within this long before a walk started is hashed again by a later walk even
 * when its fingerprint is unchanged: file systems stamp times from a coarse clock, so a write
 * landing in the same tick as the one before it, keeping the size, could leave all four equal.
 * Two seconds covers file systems that keep whole seconds (ext3, HFS+) or two (FAT).
 */
const RACY_MS = 2_000;
/**
 * The same window for a file whose times have a sub-second part: its file system keeps fine
 * times (ext4, XFS, Btrfs, tmpfs, APFS, NTFS), stamped from a kernel clock that ticks every
 * 1–10 ms, so a tenth of a second is ten ticks or more.
 */
const RACY_FINE_MS = 100;

/** The racy window of a file by its times, in ms (see `RACY_MS`): whole-second times get the wide one. */
export function racyWindow(stat: Pick<Stats, 'mtimeMs' | 'ctimeMs'>): number {
  return stat.mtimeMs % 1000 !== 0 || stat.ctimeMs % 1000 !== 0 ? RACY_FINE_MS : RACY_MS;
}

type Kind = 'link' | 'folder' | 'file' | 'other' | undefined;

/** A root source's kind, by lstat (a child's kind comes from its folder's listing, no lstat per file). */
function kindOf(full: string): Kind {
  const stat = lstatSync(full, { throwIfNoEntry: false });
  if (!stat) return undefined;
  return stat.isSymbolicLink() ? 'link' : stat.isDirectory() ? 'folder' : stat.isFile() ? 'file' : 'other';
}

/** The walk of `wholeBuildKey`: `add` pushes the parts of an entry and of everything under it to `parts`. */
function walker(parts: string[], walk: SourceWalk | undefined, previous: SourceIndex | undefined) {
  const add = (relative: string, full: string, depth: number, kind: Kind): void => {
    if (kind === undefined) return;
    if (walk?.listing && discovered(relative, depth)) walk.listing.push({ path: relative, kind: ENTRY_KINDS[kind] });
    if (kind === 'link') {
      parts.push(`L ${relative}`, safe(() => readlinkSync(full)));
    } else if (kind === 'folder') {
      parts.push(`D ${relative}`);
      if (depth > 64) return;
      for (const entry of safeEntries(full)) {
        if (SKIPPED.has(entry.name)) {
          // Discovery lists it (and, for a bot's folder, what is inside): the walk does not, so its listing is incomplete.
          if (walk && discovered(`${relative}/${entry.name}`, depth + 1)) walk.listing = undefined;
          continue;
        }
        const kind: Kind = entry.isSymbolicLink() ? 'link' : entry.isDirectory() ? 'folder' : entry.isFile() ? 'file' : 'other';
        const start = parts.length;
        add(`${relative}/${entry.name}`, path.join(full, entry.name), depth + 1, kind);
        if (walk && depth === 0 && relative === 'bots') walk.sections.set(`bots/${entry.name}`, parts.slice(start));
      }
    } else if (kind === 'file') {
      const digest = readDigest(relative, full, walk, previous);
      parts.push(`F ${relative}`, digest);
    } else {
      parts.push(`O ${relative}`);
    }
  };
  return { add, kindOf };
}

/**
 * True when the named sections of an earlier walk (top-level sources, or `bots/<bot>`) are
 * unchanged: each is walked again, files whose fingerprint is unchanged since (and not changed
 * just before that walk) not read again, and its parts compared.
 */
export function sectionsUnchanged(root: string, previous: SourceWalk, names: Iterable<string>): boolean {
  for (const name of names) {
    const parts: string[] = [];
    const { add } = walker(parts, undefined, previous);
    const full = path.join(root, ...name.split('/'));
    add(name, full, name.split('/').length - 1, kindOf(full));
    const before = previous.sections.get(name) ?? [];
    if (parts.length !== before.length || parts.some((part, i) => part !== before[i])) return false;
  }
  return true;
}

/**
 * The key of a whole build: botc's version, the build's options, and the path, kind and
 * content (sha256; a link's target text) of every source at the workspace root and every entry
 * under the source folders, walked without following links. Any change to a
 * source, an added or removed file, or a link retargeted gives another key.
 *
 * `walk` collects what the walk saw (see `SourceWalk`). With `previous`, the walk of an earlier
 * key in the same build, a file whose fingerprint is unchanged and was not changed shortly
 * before that walk started is not read again: its earlier sha256 stands.
 */
export function wholeBuildKey(root: string, options: { out: string; bots: readonly string[]; write: boolean; lock: string }, walk?: SourceWalk, previous?: SourceIndex): string {
  const parts: string[] = [botcVersionTag(), JSON.stringify({ ...options, bots: [...options.bots].sort() })];
  const { add, kindOf } = walker(parts, walk, previous);
  // Each source's own kind (a link, a folder, a file, or absent) is part of the walk below; the
  // rest of the root is not read by a build. Listing it would also make the key of a first
  // build differ from the key after it (`.botc/` and the output folder appear), so a cold build
  // could never be stored.
  for (const name of SOURCES) {
    const start = parts.length;
    add(name, path.join(root, name), 0, kindOf(path.join(root, name)));
    if (walk && name !== 'bots') walk.sections.set(name, parts.slice(start));
  }
  // `build+external`: entries stored before `external` was recorded are never found.
  return partsKey(['build+external', ...parts]);
}

/** A file's sha256 (`\u0000unreadable` when it cannot be read), recorded in `walk`; taken from `previous` when the file is unchanged since. */
function readDigest(relative: string, full: string, walk: SourceWalk | undefined, previous: SourceIndex | undefined): string {
  if (previous) {
    // Checking an earlier walk: one lstat tells an unchanged file (the fingerprint of the file
    // the listing named, as `fstat` gave it then), which is not read again.
    const known = previous.digests.get(relative);
    const stat = known === undefined ? undefined : lstatSync(full, { throwIfNoEntry: false });
    const racyBefore = stat === undefined ? 0 : previous.started - racyWindow(stat);
    if (stat?.isFile() && stat.ctimeMs < racyBefore && stat.mtimeMs < racyBefore) {
      const print = sourceFingerprint(stat);
      if (previous.fingerprints.get(relative) === print) {
        walk?.digests.set(relative, known!);
        walk?.fingerprints.set(relative, print);
        return known!;
      }
    }
  }
  if (walk) walk.hashed++;
  let fd: number | undefined;
  try {
    // Opened without following a link: the listing said file, and a file swapped for a link
    // since is unreadable here (as is one swapped for a FIFO: O_NONBLOCK, then not a file).
    fd = openSync(full, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
    const stat = fstatSync(fd);
    if (!stat.isFile()) return '\u0000unreadable';
    const bytes = readFileSync(fd);
    const digest = hash('sha256', bytes, 'hex');
    if (walk) {
      walk.digests.set(relative, digest);
      walk.fingerprints.set(relative, sourceFingerprint(stat));
      if (bytes.length <= TEXT_FILE_CAP && LENT.test(relative)) walk.contents.set(relative, bytes);
    }
    return digest;
  } catch {
    return '\u0000unreadable';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * A source file's device, inode, size, mtime and ctime (whole microseconds), for `SourceWalk`.
 * Number stats, not bigint ones: building BigInts for every file cost more than its read.
 */
function sourceFingerprint(stat: Stats): string {
  // Whole microseconds: an integer prints faster than a double with its fraction.
  return `${stat.dev}:${stat.ino}:${stat.size}:${Math.trunc(stat.mtimeMs * 1000)}:${Math.trunc(stat.ctimeMs * 1000)}`;
}

/** `cacheKey(...parts)`, hashed in one piece: the same key, without a hash update per part (a build key has one part per source). */
function partsKey(parts: readonly string[]): string {
  return sha256Hex(parts.map((part) => `${Buffer.byteLength(part, 'utf8')}:${part}`).join(''));
}

/**
 * A stored build whose outputs are still in place, byte for byte: every bundle file recorded
 * is in `outDir` with the recorded sha256, and no other bundle file is there; and whose files
 * outside the source folders (`external`) still have their recorded sha256. Otherwise
 * undefined (the build then runs).
 */
export function reusableBuild(cache: BuildCache, key: string, outDir: string | undefined, root: string): StoredBuild | undefined {
  const stored = cache.get<StoredBuild>('build', key);
  if (!stored || typeof stored.ok !== 'boolean' || !Array.isArray(stored.diagnostics) || !Array.isArray(stored.bundles) || stored.outputs === null || typeof stored.outputs !== 'object') return undefined;
  if (stored.external !== undefined && !Array.isArray(stored.external)) return undefined;
  for (const pair of stored.external ?? []) {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string' || pinnedFileDigest(root, pair[0]) !== pair[1]) return undefined;
  }
  if (outDir === undefined || !stored.ok) return stored;
  const present = safeList(outDir).filter((name) => name.endsWith('.bundle.json')).sort();
  const recorded = Object.keys(stored.outputs).sort();
  if (present.length !== recorded.length || present.some((name, i) => name !== recorded[i])) return undefined;
  const stats = stored.stats !== null && typeof stored.stats === 'object' ? stored.stats : {};
  for (const name of recorded) {
    const full = path.join(outDir, name);
    const stat = lstatSync(full, { throwIfNoEntry: false, bigint: true });
    if (!stat?.isFile()) return undefined;
    if (stats[name] !== undefined && stats[name] === fingerprint(stat)) continue;
    if (safe(() => sha256Hex(readFileSync(full))) !== stored.outputs[name]) return undefined;
  }
  return stored;
}

/**
 * The bundle files of `outDir`, each with the sha256 of its bytes (`StoredBuild.outputs`) and
 * its fingerprint (`StoredBuild.stats`), taken before its bytes are read: a file changed in
 * between then fails its fingerprint next time and is hashed. `known` maps file names to a
 * fingerprint and sha256 recorded by an earlier build (a reused bot's bundle): a file whose
 * fingerprint is still that one is not read again. `written` maps file names to what this
 * build's writer wrote (`BundleWriter.written`): a file that is still the one written (same
 * device, inode, size and mtime; the rename into place changed only its ctime) takes the
 * sha256 the writer computed from the bytes, and is not read back.
 */
export function outputRecords(outDir: string, known?: ReadonlyMap<string, { stat: string; sha256: string }>, written?: ReadonlyMap<string, WrittenBundle>): { outputs: Record<string, string>; stats: Record<string, string> } {
  const outputs: Record<string, string> = {};
  const stats: Record<string, string> = {};
  for (const name of safeList(outDir).filter((n) => n.endsWith('.bundle.json'))) {
    const full = path.join(outDir, name);
    const stat = lstatSync(full, { throwIfNoEntry: false, bigint: true });
    if (stat?.isFile()) stats[name] = fingerprint(stat);
    const before = known?.get(name);
    const wrote = written?.get(name);
    if (stat?.isFile() && wrote !== undefined && stat.dev === wrote.dev && stat.ino === wrote.ino && stat.size === wrote.size && stat.mtimeNs === wrote.mtimeNs) outputs[name] = wrote.sha256;
    else outputs[name] = before !== undefined && stats[name] === before.stat ? before.sha256 : safe(() => sha256Hex(readFileSync(full)));
  }
  return { outputs, stats };
}

/** A file's inode, size, mtime and ctime (nanoseconds), as one string. */
export function fingerprint(stat: BigIntStats): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** A folder's entries sorted by name (as `safeList`), with their kinds; none when it cannot be read. */
function safeEntries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return [];
  }
}

function safe(read: () => string): string {
  try {
    return read();
  } catch {
    return '\u0000unreadable';
  }
}
