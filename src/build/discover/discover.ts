import { lstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type FastGlob from 'fast-glob';

/** fast-glob, loaded on first use: a rebuild that takes the listing from its source walk (`classifyEntries`) never needs it. */
let fastGlob: typeof FastGlob | undefined;
const fg = (): typeof FastGlob => (fastGlob ??= createRequire(import.meta.url)('fast-glob') as typeof FastGlob);

export interface Entry {
  /** Workspace-relative path with `/` separators. */
  path: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
}

/** Everything the build may read, found without following a single symlink (docs/security.md). */
export interface WorkspaceEntries {
  botDirs: Entry[];
  /** Entries directly inside each bot folder, keyed by bot folder name. */
  botChildren: Map<string, Entry[]>;
  /** Entries inside each bot's prompts/ folder, keyed by bot folder name. */
  botPrompts: Map<string, Entry[]>;
  commonPrompts: Entry[];
  integrationChildren: Entry[];
  /** Top-level `bots`, `prompts`, `integrations` when they are symlinks or not folders. */
  unsafeRoots: Entry[];
}

const TOP_LEVEL = ['bots', 'prompts', 'integrations'];
const NESTED = ['bots/*', 'bots/*/*', 'bots/*/prompts/*', 'prompts/*', 'integrations/*'];

export function discover(root: string): WorkspaceEntries {
  // fast-glob starts a pattern's walk at its static base and resolves that base through a
  // symlink (`prompts/*` lists a linked prompts/ folder), so only real top-level folders are searched.
  const realTops = new Set(TOP_LEVEL.filter((name) => isRealDirectory(path.join(root, name))));
  const patterns = [...TOP_LEVEL, ...NESTED.filter((p) => realTops.has(p.split('/')[0]!))];
  const found = fg().sync(patterns, {
    cwd: root,
    onlyFiles: false,
    followSymbolicLinks: false,
    dot: true,
    unique: true,
    objectMode: true,
    suppressErrors: true,
  });
  return classifyEntries(
    found.map((e) => ({
      path: e.path,
      kind: e.dirent.isSymbolicLink() ? 'symlink' : e.dirent.isDirectory() ? 'dir' : e.dirent.isFile() ? 'file' : 'other',
    })),
  );
}

/**
 * Sorts what discovery found into `WorkspaceEntries`: the entries `discover` lists (the
 * top-level `bots`, `prompts` and `integrations`, and inside the real ones `bots/*`,
 * `bots/*\/*`, `bots/*\/prompts/*`, `prompts/*`, `integrations/*`), in any order.
 */
export function classifyEntries(found: readonly Entry[]): WorkspaceEntries {
  const entries = [...found].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const result: WorkspaceEntries = {
    botDirs: [],
    botChildren: new Map(),
    botPrompts: new Map(),
    commonPrompts: [],
    integrationChildren: [],
    unsafeRoots: [],
  };
  for (const entry of entries) {
    const parts = entry.path.split('/');
    const [top, second, third] = parts;
    if (parts.length === 1) {
      if (entry.kind !== 'dir') result.unsafeRoots.push(entry);
    } else if (top === 'bots' && parts.length === 2) {
      result.botDirs.push(entry);
    } else if (top === 'bots' && parts.length === 3) {
      push(result.botChildren, second!, entry);
    } else if (top === 'bots' && parts.length === 4 && third === 'prompts') {
      push(result.botPrompts, second!, entry);
    } else if (top === 'prompts' && parts.length === 2) {
      result.commonPrompts.push(entry);
    } else if (top === 'integrations' && parts.length === 2) {
      result.integrationChildren.push(entry);
    }
  }
  return result;
}

function push(map: Map<string, Entry[]>, key: string, entry: Entry): void {
  const list = map.get(key);
  if (list) list.push(entry);
  else map.set(key, [entry]);
}

function isRealDirectory(absolute: string): boolean {
  try {
    return lstatSync(absolute).isDirectory();
  } catch {
    return false;
  }
}

/** What is wrong with an entry that should be a real folder or regular file, for messages. */
export function entryKindProblem(entry: Entry, expected: 'folder' | 'file'): string {
  return entry.kind === 'symlink' ? 'a symlink' : expected === 'folder' ? 'not a folder' : 'not a regular file';
}
