import { lstatSync, readdirSync, readFileSync, readlinkSync, type BigIntStats, type Dirent } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../../diagnostics/diagnostic.ts';
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
}

/**
 * The key of a whole build: botc's version, the build's options, and the path, kind and
 * content (sha256; a link's target text) of every source at the workspace root and every entry
 * under the source folders, walked without following links. Any change to a
 * source, an added or removed file, or a link retargeted gives another key.
 */
export function wholeBuildKey(root: string, options: { out: string; bots: readonly string[]; write: boolean; lock: string }, digests?: Map<string, string>): string {
  const parts: string[] = [botcVersionTag(), JSON.stringify({ ...options, bots: [...options.bots].sort() })];
  // A child's kind comes from its folder's listing (no lstat per file); a root source is lstat'd.
  type Kind = 'link' | 'folder' | 'file' | 'other' | undefined;
  const kindOf = (full: string): Kind => {
    const stat = lstatSync(full, { throwIfNoEntry: false });
    if (!stat) return undefined;
    return stat.isSymbolicLink() ? 'link' : stat.isDirectory() ? 'folder' : stat.isFile() ? 'file' : 'other';
  };
  const add = (relative: string, full: string, depth: number, kind: Kind): void => {
    if (kind === undefined) return;
    if (kind === 'link') {
      parts.push(`L ${relative}`, safe(() => readlinkSync(full)));
    } else if (kind === 'folder') {
      parts.push(`D ${relative}`);
      if (depth > 64) return;
      for (const entry of safeEntries(full)) {
        if (SKIPPED.has(entry.name)) continue;
        const kind: Kind = entry.isSymbolicLink() ? 'link' : entry.isDirectory() ? 'folder' : entry.isFile() ? 'file' : 'other';
        add(`${relative}/${entry.name}`, path.join(full, entry.name), depth + 1, kind);
      }
    } else if (kind === 'file') {
      const digest = safe(() => sha256Hex(readFileSync(full)));
      // Lent to the per-bot keys of the same build (incremental.ts), so no file is hashed twice.
      digests?.set(relative, digest);
      parts.push(`F ${relative}`, digest);
    } else {
      parts.push(`O ${relative}`);
    }
  };
  // Each source's own kind (a link, a folder, a file, or absent) is part of the walk below; the
  // rest of the root is not read by a build. Listing it would also make the key of a first
  // build differ from the key after it (`.botc/` and the output folder appear), so a cold build
  // could never be stored.
  for (const name of SOURCES) add(name, path.join(root, name), 0, kindOf(path.join(root, name)));
  return cacheKey('build', ...parts);
}

/**
 * A stored build whose outputs are still in place, byte for byte: every bundle file recorded
 * is in `outDir` with the recorded sha256, and no other bundle file is there. Otherwise
 * undefined (the build then runs).
 */
export function reusableBuild(cache: BuildCache, key: string, outDir: string | undefined): StoredBuild | undefined {
  const stored = cache.get<StoredBuild>('build', key);
  if (!stored || typeof stored.ok !== 'boolean' || !Array.isArray(stored.diagnostics) || !Array.isArray(stored.bundles) || stored.outputs === null || typeof stored.outputs !== 'object') return undefined;
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

/** The bundle files of `outDir` and their `StoredBuild.stats` fingerprints. */
export function outputStats(outDir: string): Record<string, string> {
  const stats: Record<string, string> = {};
  for (const name of safeList(outDir).filter((n) => n.endsWith('.bundle.json'))) {
    const stat = lstatSync(path.join(outDir, name), { throwIfNoEntry: false, bigint: true });
    if (stat?.isFile()) stats[name] = fingerprint(stat);
  }
  return stats;
}

function fingerprint(stat: BigIntStats): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
}

/** The bundle files of `outDir` and their sha256, for `StoredBuild.outputs`. */
export function outputDigests(outDir: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const name of safeList(outDir).filter((n) => n.endsWith('.bundle.json')).sort()) {
    outputs[name] = safe(() => sha256Hex(readFileSync(path.join(outDir, name))));
  }
  return outputs;
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
