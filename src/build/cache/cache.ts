import { lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CACHE_DIR, CACHE_KEY as KEY, readCacheEntry, writeCacheEntry } from '../../load/cache-entry.ts';

// The entry format and key are shared with the runtime, which reads precompiled modules.
export { CACHE_DIR, CACHE_FORMAT, botcVersionTag, cacheKey, sha256Hex } from '../../load/cache-entry.ts';

/** The kinds of entry, each in its own folder. */
export type CacheKind = 'schema' | 'module-inputs' | 'declarations' | 'build' | 'compiled' | 'bot' | 'integrations' | 'sources';

/**
 * The build's content-addressed cache under `<root>/.botc/cache/`: an optimization only. Every
 * entry is stored with its kind, key, botc version and the sha256 of its payload; an entry
 * that is unreadable, torn, of another version or kind, or whose payload does not hash to the
 * stored value is ignored (as a miss) and overwritten by the next store. Nothing is ever
 * read through a symbolic link: when `.botc` or `.botc/cache` is not a real folder the cache
 * is off for the build. Folders are created owner-only (0700), entries 0600, each written to
 * a fresh temporary file and renamed into place, so a reader never sees half an entry.
 * Failures to write are ignored: the build's result never depends on the cache.
 */
export class BuildCache {
  /** Entries read back and accepted, and entries written, in this build (for tests and the benchmark). */
  readonly stats = { hits: 0, misses: 0, rejected: 0, writes: 0 };
  private usable = true;
  /** Entries stored by `put` and not yet written: a failed build writes nothing, the cache included. */
  private readonly pending = new Map<string, { kind: CacheKind; key: string; value: unknown }>();

  private constructor(readonly dir: string) {}

  /** The cache of a workspace, or undefined when `enabled` is false. */
  static open(root: string, enabled = true): BuildCache | undefined {
    return enabled ? new BuildCache(path.join(root, CACHE_DIR)) : undefined;
  }

  /** The value stored under `key`, if there is a valid entry; never throws. */
  get<T>(kind: CacheKind, key: string): T | undefined {
    if (!this.usable) return this.miss();
    const read = readCacheEntry(this.dir, kind, key);
    if (read === 'miss') return this.miss();
    if (read === 'reject') return this.reject();
    this.stats.hits++;
    return read.value as T;
  }

  /** True when an entry of this kind and key is stored (written, or pending in this build); it is not read or checked. */
  has(kind: CacheKind, key: string): boolean {
    if (!this.usable || !KEY.test(key)) return false;
    if (this.pending.has(`${kind}/${key}`)) return true;
    return lstatSync(path.join(this.dir, kind, `${key}.json`), { throwIfNoEntry: false })?.isFile() === true;
  }

  /** Stores `value` (plain JSON data) under `key` once `flush` is called; a failure is silent. */
  put(kind: CacheKind, key: string, value: unknown): void {
    if (!this.usable || !KEY.test(key)) return;
    this.pending.set(`${kind}/${key}`, { kind, key, value });
  }

  /** Writes what `put` stored (the build calls this only when it is free of errors). */
  flush(): void {
    for (const { kind, key, value } of this.pending.values()) this.write(kind, key, value);
    this.pending.clear();
  }

  /** Drops what `put` stored. */
  discard(): void {
    this.pending.clear();
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
