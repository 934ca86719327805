import { lstatSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CACHE_DIR, CACHE_KEY as KEY, readCacheEntry, sha256Hex, writeCacheEntry } from '../../load/cache-entry.ts';
import { MAX_PACK_BYTES, packEntryValue, packId, readPacks, writePack, type LoadedPacks, type PackEntry } from './pack.ts';

// The entry format and key are shared with the runtime, which reads precompiled modules.
export { CACHE_DIR, CACHE_FORMAT, botcVersionTag, cacheKey, sha256Hex } from '../../load/cache-entry.ts';

/** The kinds of entry, each in its own folder. */
export type CacheKind = 'schema' | 'module-inputs' | 'declarations' | 'build' | 'compiled' | 'bot' | 'integrations' | 'sources';

/**
 * The kinds a build stores by the hundred, kept in one pack file (src/build/cache/pack.ts)
 * rather than one file per entry. The others stay one file each: `compiled` is read by the
 * runtime, and the rest are a few large entries per build.
 */
export const PACKED_KINDS: ReadonlySet<CacheKind> = new Set<CacheKind>(['schema', 'module-inputs', 'declarations']);

/** A new pack carries entries of older packs that this build did not use only up to this size (bytes of payload), so the cache stays bounded. */
const PACK_KEEP_BYTES = MAX_PACK_BYTES / 4;

/**
 * The build's content-addressed cache under `<root>/.botc/cache/`: an optimization only. Every
 * entry is stored with its kind, key, botc version and the sha256 of its payload; an entry
 * that is unreadable, torn, of another version or kind, or whose payload does not hash to the
 * stored value is ignored (as a miss) and overwritten by the next store. Nothing is ever
 * read through a symbolic link: when `.botc` or `.botc/cache` is not a real folder the cache
 * is off for the build. Folders are created owner-only (0700), entries 0600, each written to
 * a fresh temporary file and renamed into place, so a reader never sees half an entry.
 * Failures to write are ignored: the build's result never depends on the cache.
 *
 * Entries of `PACKED_KINDS` live in one pack (`pack/<sha256>.pack`), read once, on first use,
 * and indexed; each entry's payload is still checked against its own sha256 when it is used.
 * A build that stores new entries of those kinds writes one new pack holding them, the entries
 * of the old packs it used, and (within `PACK_KEEP_BYTES`) the others, then removes the old
 * packs: the cache holds one pack, whose size follows the workspace's.
 */
export class BuildCache {
  /** Entries read back and accepted, and entries written, in this build (for tests and the benchmark). */
  readonly stats = { hits: 0, misses: 0, rejected: 0, writes: 0 };
  private usable = true;
  /** Entries stored by `put` and not yet written: a failed build writes nothing, the cache included. */
  private readonly pending = new Map<string, { kind: CacheKind; key: string; value: unknown }>();
  /** The packs' entries, read on first use of a packed kind. */
  private packs: LoadedPacks | undefined;
  /** Pack entries this build found valid and used (`kind/key`): carried into the next pack first. */
  private readonly used = new Set<string>();

  private constructor(readonly dir: string) {}

  /** The cache of a workspace, or undefined when `enabled` is false. */
  static open(root: string, enabled = true): BuildCache | undefined {
    return enabled ? new BuildCache(path.join(root, CACHE_DIR)) : undefined;
  }

  /** The value stored under `key`, if there is a valid entry; never throws. */
  get<T>(kind: CacheKind, key: string): T | undefined {
    if (!this.usable) return this.miss();
    const read = PACKED_KINDS.has(kind) ? this.readPacked(kind, key) : readCacheEntry(this.dir, kind, key);
    if (read === 'miss') return this.miss();
    if (read === 'reject') return this.reject();
    this.stats.hits++;
    return read.value as T;
  }

  /** True when an entry of this kind and key is stored (written, or pending in this build); it is not read or checked. */
  has(kind: CacheKind, key: string): boolean {
    if (!this.usable || !KEY.test(key)) return false;
    if (this.pending.has(`${kind}/${key}`)) return true;
    if (PACKED_KINDS.has(kind)) return this.loadedPacks().entries.has(packId(kind, key));
    return lstatSync(path.join(this.dir, kind, `${key}.json`), { throwIfNoEntry: false })?.isFile() === true;
  }

  /**
   * False when the cache certainly holds no entry of `kind` (no pack indexes one, or no folder
   * of that kind exists), without reading any entry: the schema checker starts its worker
   * early only then (a cold build). True does not promise a hit.
   */
  mayHold(kind: CacheKind): boolean {
    if (!this.usable) return false;
    if (PACKED_KINDS.has(kind)) {
      for (const entry of this.loadedPacks().entries.values()) if (entry.kind === kind) return true;
      return false;
    }
    return lstatSync(path.join(this.dir, kind), { throwIfNoEntry: false })?.isDirectory() === true;
  }

  /** Stores `value` (plain JSON data) under `key` once `flush` is called; a failure is silent. */
  put(kind: CacheKind, key: string, value: unknown): void {
    if (!this.usable || !KEY.test(key)) return;
    this.pending.set(`${kind}/${key}`, { kind, key, value });
  }

  /** Writes what `put` stored (the build calls this only when it is free of errors). */
  flush(): void {
    const packed: PackEntry[] = [];
    for (const { kind, key, value } of this.pending.values()) {
      if (!PACKED_KINDS.has(kind)) {
        this.write(kind, key, value);
        continue;
      }
      const payload = JSON.stringify(value);
      // `put` takes plain JSON: a value without a JSON text (undefined) is not stored.
      if (typeof payload === 'string') packed.push({ kind, key, sha256: sha256Hex(payload), payload });
    }
    this.pending.clear();
    if (packed.length > 0) this.writePacked(packed);
  }

  /** Drops what `put` stored. */
  discard(): void {
    this.pending.clear();
  }

  /** The packs, read once. */
  private loadedPacks(): LoadedPacks {
    return (this.packs ??= readPacks(this.dir, PACKED_KINDS));
  }

  private readPacked(kind: CacheKind, key: string): { value: unknown } | 'miss' | 'reject' {
    const id = packId(kind, key);
    const entry = this.loadedPacks().entries.get(id);
    if (entry === undefined) return 'miss';
    const read = packEntryValue(entry);
    if (read !== 'reject') this.used.add(id);
    return read;
  }

  /**
   * Writes one pack: the new entries, the old packs' entries this build used, then their other
   * valid-looking entries while the pack stays within `PACK_KEEP_BYTES` of payload; then the
   * old packs are removed. The new pack becomes the one this cache reads.
   */
  private writePacked(fresh: PackEntry[]): void {
    if (!this.usable || !this.folderIsReal(true)) return;
    const old = this.loadedPacks();
    const entries = new Map<string, PackEntry>();
    for (const entry of fresh) entries.set(packId(entry.kind, entry.key), entry);
    for (const id of this.used) {
      const entry = old.entries.get(id);
      if (entry && !entries.has(id)) entries.set(id, entry);
    }
    let bytes = 0;
    for (const entry of entries.values()) bytes += entry.payload.length;
    for (const [id, entry] of old.entries) {
      if (entries.has(id) || bytes + entry.payload.length > PACK_KEEP_BYTES) continue;
      entries.set(id, entry);
      bytes += entry.payload.length;
    }
    const name = writePack(this.dir, [...entries.values()], old.files);
    if (name === undefined) return;
    // Folders of these kinds are an older layout's (one file per entry): nothing reads them now.
    for (const kind of PACKED_KINDS) {
      const folder = path.join(this.dir, kind);
      const stat = lstatSync(folder, { throwIfNoEntry: false });
      // Removes a link itself, never what it points to.
      if (stat) rmSync(folder, { recursive: stat.isDirectory(), force: true });
    }
    this.stats.writes += fresh.length;
    this.packs = { entries, files: [name], rejected: 0 };
  }

  /** Writes `value` (plain JSON data) under `key` now, not at `flush`; a failure is silent. */
  write(kind: CacheKind, key: string, value: unknown): void {
    if (!this.usable || !this.folderIsReal(true)) return;
    if (writeCacheEntry(this.dir, kind, key, value)) this.stats.writes++;
  }

  /**
   * True when `.botc` and `.botc/cache` are real folders (not links). With `create`, makes
   * them (owner-only) and a `.gitignore` that keeps the cache out of version control.
   */
  private folderIsReal(create: boolean): boolean {
    const parent = path.dirname(this.dir);
    for (const folder of [parent, this.dir]) {
      const stat = lstatSync(folder, { throwIfNoEntry: false });
      if (stat === undefined) {
        if (!create) return false;
        try {
          mkdirSync(folder, { mode: 0o700 });
        } catch {
          this.usable = false;
          return false;
        }
        if (folder === this.dir) {
          try {
            writeFileSync(path.join(folder, '.gitignore'), '# botc build cache: safe to delete\n*\n', { mode: 0o600, flag: 'wx' });
          } catch {
            // Already there, or not writable: harmless either way.
          }
        }
        continue;
      }
      if (!stat.isDirectory()) {
        this.usable = false;
        return false;
      }
    }
    return true;
  }

  private miss(): undefined {
    this.stats.misses++;
    return undefined;
  }

  private reject(): undefined {
    this.stats.rejected++;
    this.stats.misses++;
    return undefined;
  }
}
