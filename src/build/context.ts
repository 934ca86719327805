import type { Diagnostics } from '../diagnostics/diagnostic.ts';
import type { WorkspaceFiles } from '../load/files.ts';
import type { BuildCache } from './cache/cache.ts';
import type { WorkspaceEntries } from './discover/discover.ts';

/**
 * What every stage of one build shares, passed as one object from stage to stage instead of
 * positional `(files, diagnostics, ...)` arguments: the workspace's files, the collected
 * diagnostics, what discovery found, and the cache (absent when caching is off).
 */
export interface BuildContext {
  /** The workspace, read through the safe reader (no links, no special files, size caps). */
  files: WorkspaceFiles;
  /** Every stage reports here; nothing throws for an expected problem. */
  diagnostics: Diagnostics;
  /** The workspace's paths, listed once by the discover stage. */
  entries: WorkspaceEntries;
  /** The content-addressed cache under `.botc/cache/`, or undefined when disabled. */
  cache: BuildCache | undefined;
}

/** The part of the context a single file check needs (also used outside a build, by `botc explain`). */
export type FileContext = Pick<BuildContext, 'files' | 'diagnostics'>;
