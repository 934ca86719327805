import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { hash } from 'node:crypto';
import path from 'node:path';
import type { Position } from '../diagnostics/diagnostic.ts';

/** Prompts and manifests larger than this are refused before parsing (docs/security.md). */
export const TEXT_FILE_CAP = 1024 * 1024;
/** Integration module sources are code, not prose; allow more. */
export const MODULE_FILE_CAP = 4 * 1024 * 1024;

export type ReadFailure =
  | { kind: 'missing' }
  | { kind: 'unsafe'; reason: string }
  | { kind: 'too-large'; size: number; cap: number }
  | { kind: 'encoding'; message: string; at: Position; byte: number; hint: string };

export type ReadResult = { ok: true; text: string; sha256: string } | ({ ok: false } & ReadFailure);

/**
 * Reads files inside one workspace root, refusing anything that is a symlink, lies
 * behind a symlinked folder, is not a regular file, or is over the size cap.
 * Every path is workspace-relative with `/` separators.
 */
export class WorkspaceFiles {
  readonly root: string;
  private readonly realDirs = new Map<string, boolean>();
  /** Bytes already read (and their sha256) by the build's walk of the sources; see `lend`. */
  private lent: { bytes: Map<string, Buffer>; digests: ReadonlyMap<string, string> } | undefined;

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

  /**
   * Lends the bytes a walk of the sources already read (workspace-relative path → bytes, read
   * from a regular file opened without following links, in a folder reached without following
   * links) with their sha256: `read` takes each once from here instead of opening and hashing
   * the file again, after the same containment and folder checks. `undefined` drops what is
   * left. The build lends only the bytes its whole-build key was computed from.
   */
  lend(bytes: Map<string, Buffer> | undefined, digests: ReadonlyMap<string, string> = new Map()): void {
    this.lent = bytes ? { bytes, digests } : undefined;
  }

  /**
   * Reads a text file: `ok` with its text (strict UTF-8, normalized as `decodeText` says) and
   * the sha256 of that text, or why it was refused (missing, unsafe, too large, bad encoding).
   */
  read(rel: string, cap = TEXT_FILE_CAP): ReadResult {
    if (!WorkspaceFiles.isContained(rel)) return { ok: false, kind: 'unsafe', reason: 'it resolves outside the workspace' };
    const dir = path.posix.dirname(rel);
    if (!this.isRealDir(dir)) {
      return { ok: false, kind: 'unsafe', reason: `folder \`${dir}\` is a symlink or resolves outside the workspace` };
    }
    const lent = this.lent?.bytes.get(rel);
    if (lent !== undefined) {
      this.lent!.bytes.delete(rel);
      if (lent.length <= cap) return decoded(lent, this.lent!.digests.get(rel));
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
      return decoded(buffer.subarray(0, filled), undefined);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * A folder is real when its resolved path is exactly where the workspace says it is: the root
   * is a real path, so that holds when its parent is real and the folder itself is not a link
   * (one `lstat` per folder, each remembered).
   */
  private isRealDir(relDir: string): boolean {
    if (relDir === '.' || relDir === '') return true;
    let known = this.realDirs.get(relDir);
    if (known === undefined) {
      known = this.isRealDir(path.posix.dirname(relDir));
      if (known) {
        const stat = lstatSync(this.absolute(relDir), { throwIfNoEntry: false });
        // A missing folder (or a file where a folder should be) is let through: the open
        // reports the file as missing.
        known = stat === undefined || !stat.isSymbolicLink();
      }
      this.realDirs.set(relDir, known);
    }
    return known;
  }
}

/**
 * A file's bytes as `WorkspaceFiles.read` answers them; `sha256`, when known, is that of the
 * bytes. The digest is of the normalized text; when nothing was normalized, those are the bytes.
 */
function decoded(bytes: Buffer, sha256: string | undefined): ReadResult {
  const text = decodeText(bytes);
  if (!text.ok) return text;
  if (!text.normalized) return { ok: true, text: text.text, sha256: sha256 ?? hash('sha256', bytes, 'hex') };
  return { ok: true, text: text.text, sha256: hash('sha256', text.text, 'hex') };
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
    case 'encoding':
      return failure.message;
  }
}

/**
 * Decodes one text input the single way every reader shares (prompts, manifests, the
 * registry, the config, module sources):
 *
 * - the bytes must be strict UTF-8 (RFC 3629): no invalid or overlong sequences, no
 *   surrogates, no NUL byte; a UTF-16 byte-order mark (FF FE, FE FF) or the NUL pattern of
 *   UTF-16 text is named as UTF-16;
 * - a UTF-8 byte-order mark (EF BB BF) is accepted and dropped;
 * - CRLF and lone CR line endings become LF, before anything parses the text, so that a
 *   Windows checkout (`core.autocrlf`) and a Linux one give the same text, digest and bundle.
 *
 * A failure names the line, column (in UTF-16 code units, as every other column) and byte
 * offset of the first offending byte.
 */
export function decodeText(bytes: Buffer): { ok: true; text: string; normalized: boolean } | ({ ok: false } & Extract<ReadFailure, { kind: 'encoding' }>) {
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    const order = bytes[0] === 0xff ? 'LE' : 'BE';
    return encodingFailure(bytes, 0, `the file is UTF-16 ${order} (it starts with the byte-order mark ${order === 'LE' ? 'FF FE' : 'FE FF'}), not UTF-8`);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const utf16 = looksUtf16(bytes);
    return encodingFailure(
      bytes,
      nul,
      utf16 ? `the file looks like UTF-16 ${utf16} without a byte-order mark, not UTF-8 (NUL byte at byte offset ${nul})` : `the file contains a NUL byte at byte offset ${nul} and is not UTF-8 text`,
    );
  }
  if (!isUtf8(bytes)) {
    const bad = firstInvalidUtf8(bytes);
    const value = bytes[bad]!;
    const legacy = windows1252(value);
    return encodingFailure(
      bytes,
      bad,
      `the file is not valid UTF-8: byte 0x${hex(value)} at byte offset ${bad} does not form a UTF-8 character${legacy ? ` (in Windows-1252 it is \`${legacy}\`)` : ''}`,
    );
  }
  let text = bytes.toString('utf8');
  const bom = text.charCodeAt(0) === 0xfeff;
  if (bom) text = text.slice(1);
  const cr = text.includes('\r');
  if (cr) text = text.replace(/\r\n?/g, '\n');
  // `normalized`: the text differs from the bytes (a byte-order mark dropped, line endings changed).
  return { ok: true, text, normalized: bom || cr };
}

function encodingFailure(bytes: Buffer, offset: number, message: string): { ok: false } & Extract<ReadFailure, { kind: 'encoding' }> {
  const before = bytes.subarray(0, offset);
  const lineStart = before.lastIndexOf(0x0a) + 1;
  let line = 1;
  for (let i = before.indexOf(0x0a); i >= 0; i = before.indexOf(0x0a, i + 1)) line++;
  // Characters before the byte on its line, counted the way columns are counted everywhere.
  const column = bytes.subarray(lineStart, offset).toString('utf8').replace(/\r$/, '').length + 1;
  return {
    ok: false,
    kind: 'encoding',
    message,
    at: { line, column },
    byte: offset,
    hint: 'save the file as UTF-8 (without a byte-order mark); in PowerShell 5 write it with `Out-File -Encoding utf8` or `Set-Content -Encoding utf8`, not `>`',
  };
}

/** `LE` or `BE` when NUL bytes sit at every odd (or every even) offset of ASCII-range text. */
function looksUtf16(bytes: Buffer): 'LE' | 'BE' | undefined {
  const sample = Math.min(bytes.length - (bytes.length % 2), 512);
  if (sample < 2) return undefined;
  let evenZero = 0;
  let oddZero = 0;
  for (let i = 0; i < sample; i += 2) {
    if (bytes[i] === 0) evenZero++;
    if (bytes[i + 1] === 0) oddZero++;
  }
  const pairs = sample / 2;
  if (oddZero >= pairs * 0.6 && evenZero === 0) return 'LE';
  if (evenZero >= pairs * 0.6 && oddZero === 0) return 'BE';
  return undefined;
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let length: number;
    let min = 0x80;
    let max = 0xbf;
    if (b < 0x80) length = 1;
    else if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) min = 0xa0; // overlong
      if (b === 0xed) max = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) min = 0x90;
      if (b === 0xf4) max = 0x8f;
    } else return i;
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i;
      const low = k === 1 ? min : 0x80;
      const high = k === 1 ? max : 0xbf;
      if (c < low || c > high) return i;
    }
    i += length;
  }
  return bytes.length;
}

/** Windows-1252 characters of 0x80–0x9F (the rest of 0xA0–0xFF is Latin-1), to name what a legacy byte meant. */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';

function windows1252(byte: number): string | undefined {
  if (byte < 0x80) return undefined;
  const char = byte < 0xa0 ? CP1252_HIGH[byte - 0x80]! : String.fromCharCode(byte);
  return /[\p{L}\p{N}\p{P}\p{S}]/u.test(char) ? char : undefined;
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

/** The `file-encoding` diagnostic of a read that failed on its bytes, or undefined for any other failure. */
export function encodingDiagnostic(file: string, failure: ReadFailure): { file: string; message: string; at: Position; hint: string } | undefined {
  if (failure.kind === 'encoding') return { file, message: failure.message, at: failure.at, hint: failure.hint };
  return undefined;
}
