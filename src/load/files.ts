import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';

/** Prompts and manifests larger than this are refused before parsing (SECURITY.md item 5). */
export const TEXT_FILE_CAP = 1024 * 1024;
/** Integration module sources are code, not prose; allow more. */
export const MODULE_FILE_CAP = 4 * 1024 * 1024;

export type ReadFailure =
  | { kind: 'missing' }
  | { kind: 'unsafe'; reason: string }
  | { kind: 'too-large'; size: number; cap: number }
  | { kind: 'not-text' };

export type ReadResult = { ok: true; text: string; sha256: string } | ({ ok: false } & ReadFailure);

/**
 * Reads files inside one workspace root, refusing anything that is a symlink, lies
 * behind a symlinked folder, is not a regular file, or is over the size cap.
 * Every path is workspace-relative with `/` separators.
 */
export class WorkspaceFiles {
  readonly root: string;
  private readonly realDirs = new Map<string, boolean>();

  constructor(root: string) {
    this.root = realpathSync(root);
  }

  absolute(rel: string): string {
    return path.join(this.root, ...rel.split('/'));
  }

  /** True when `rel` is a plain relative path that stays inside the workspace. */
  static isContained(rel: string): boolean {
    if (rel.length === 0 || rel.includes('\0') || rel.includes('\\')) return false;
    if (path.posix.isAbsolute(rel)) return false;
    const normalized = path.posix.normalize(rel);
    return normalized !== '..' && !normalized.startsWith('../') && normalized === rel;
  }

  read(rel: string, cap = TEXT_FILE_CAP): ReadResult {
    if (!WorkspaceFiles.isContained(rel)) return { ok: false, kind: 'unsafe', reason: 'it resolves outside the workspace' };
    const dir = path.posix.dirname(rel);
    if (!this.isRealDir(dir)) {
      return { ok: false, kind: 'unsafe', reason: `folder \`${dir}\` is a symlink or resolves outside the workspace` };
    }
    let fd: number;
    try {
      // O_NOFOLLOW refuses a final-component symlink; O_NONBLOCK keeps a FIFO from hanging us.
      fd = openSync(this.absolute(rel), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, kind: 'missing' };
      if (code === 'ELOOP' || code === 'EMLINK') return { ok: false, kind: 'unsafe', reason: 'it is a symlink' };
      return { ok: false, kind: 'unsafe', reason: `it cannot be opened (${code ?? 'unknown error'})` };
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) return { ok: false, kind: 'unsafe', reason: 'it is not a regular file' };
      if (stat.size > cap) return { ok: false, kind: 'too-large', size: stat.size, cap };
      const buffer = Buffer.allocUnsafe(stat.size);
      let filled = 0;
      while (filled < stat.size) {
        const n = readSync(fd, buffer, filled, stat.size - filled, filled);
        if (n === 0) break;
        filled += n;
      }
      const bytes = buffer.subarray(0, filled);
      if (bytes.includes(0)) return { ok: false, kind: 'not-text' };
      let text = bytes.toString('utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      return { ok: true, text, sha256: createHash('sha256').update(bytes).digest('hex') };
    } finally {
      closeSync(fd);
    }
  }

  /** A folder is real when its resolved path is exactly where the workspace says it is. */
  private isRealDir(relDir: string): boolean {
    if (relDir === '.' || relDir === '') return true;
    let known = this.realDirs.get(relDir);
    if (known === undefined) {
      try {
        known = realpathSync(this.absolute(relDir)) === this.absolute(relDir);
      } catch {
        known = true; // a missing folder: the open reports it as missing
      }
      this.realDirs.set(relDir, known);
    }
    return known;
  }
}

/** A one-line reason for a failed read, for diagnostics. */
export function describeReadFailure(failure: ReadFailure): string {
  switch (failure.kind) {
    case 'missing':
      return 'the file does not exist';
    case 'unsafe':
      return failure.reason;
    case 'too-large':
      return `it is ${failure.size} bytes, over the ${failure.cap}-byte cap`;
    case 'not-text':
      return 'it contains NUL bytes and is not a text file';
  }
}
