import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { serializeSortedBundle, type Bundle } from '../../bundle/format.ts';
import { processGone } from '../../load/cache-entry.ts';
import { layOut, takeBundleText } from '../assemble/seal.ts';

// In its own file so that build.ts (a no-op rebuild) can check the output folder without
// loading the bundle format and its schema library.
export { outputFolderProblem } from './output-folder.ts';

/**
 * Temporary bundle files: `.<bot>.bundle.json.<pid>.<random>.tmp` (and the older
 * `<bot>.bundle.json.<pid>.tmp`). The pid tells a crashed build's leftovers from a running one's.
 */
const TEMPORARY = /^\.?[a-z][a-z0-9_]{0,63}\.bundle\.json\.(\d+)(?:\.[0-9a-f]+)?\.tmp$/;

/** True when `outDir` is the workspace root or inside it, by real paths. */
function insideWorkspace(root: string, outDir: string): boolean {
  try {
    const realRoot = realpathSync(root);
    const real = realpathSync(outDir);
    return real === realRoot || real.startsWith(realRoot + path.sep);
  } catch {
    return false;
  }
}

/** A bundle file as the writer wrote it (`BundleWriter.written`). */
export interface WrittenBundle {
  /** sha256 (hex) of the bytes written. */
  sha256: string;
  dev: bigint;
  ino: bigint;
  /** Bytes. */
  size: bigint;
  /** Modification time after the write, in nanoseconds since the epoch. */
  mtimeNs: bigint;
}

/**
 * Stage 5: writes each bundle as soon as it is assembled, to a temporary file beside its
 * target, and puts the files in place only once the whole build has succeeded. A build then
 * holds no bundle longer than it needs to, and a failed one leaves the output folder as it was.
 *
 * Temporary files are created exclusively (`O_CREAT | O_EXCL | O_NOFOLLOW`, a random name), so
 * a planted file or link is never written through; a build removes the temporary files that
 * crashed builds (no longer running) left behind. Stale bundles are pruned only in a folder
 * inside the workspace (`root`), never elsewhere.
 */
export class BundleWriter {
  private readonly staged: { name: string; temporary: string; target: string; written: WrittenBundle | undefined }[] = [];
  /** Bundle files already in place with the right bytes (a bot the build reused): neither written nor pruned. */
  private readonly kept = new Set<string>();
  private ready = false;
  /** The first folder this build created for the output, removed again on failure. */
  private created: string | undefined;

  constructor(
    private readonly outDir: string,
    /** The workspace root: pruning happens only inside it. */
    private readonly root: string,
  ) {}

  stage(bundle: Bundle): void {
    this.prepare();
    const name = `${bundle.bot.id}.bundle.json`;
    const target = path.join(this.outDir, name);
    const temporary = path.join(this.outDir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const staged: (typeof this.staged)[number] = { name, temporary, target, written: undefined };
    this.staged.push(staged);
    const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      const data = layOut(takeBundleText(bundle) ?? [serializeSortedBundle(bundle)]);
      for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset);
      // The digest of the bytes just written, and the file they went to: the cache records
      // them (outputRecords) without reading the file back.
      const stat = fstatSync(fd, { bigint: true });
      staged.written = { sha256: hash('sha256', data, 'hex'), dev: stat.dev, ino: stat.ino, size: stat.size, mtimeNs: stat.mtimeNs };
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The bundle files this build wrote (by file name), each with the sha256 of the bytes written
   * and the identity of the file written (device, inode, size, mtime, from `fstat` after the
   * write). Meaningful after `commit`.
   */
  get written(): ReadonlyMap<string, WrittenBundle> {
    return new Map(this.staged.flatMap((s) => (s.written ? [[s.name, s.written] as const] : [])));
  }

  /** Leaves the bundle file of this bot as it is: its bytes are already the ones the build would write. */
  keep(bot: string): void {
    this.kept.add(`${bot}.bundle.json`);
  }

  /** Renames every staged bundle into place; a full build also removes bundles of bots that no longer exist. */
  commit(pruneStale: boolean): void {
    this.prepare();
    for (const { temporary, target } of this.staged) renameSync(temporary, target);
    if (!pruneStale || !insideWorkspace(this.root, this.outDir)) return;
    const written = new Set([...this.staged.map((s) => s.name), ...this.kept]);
    for (const name of readdirSync(this.outDir)) {
      if (name.endsWith('.bundle.json') && !written.has(name)) rmSync(path.join(this.outDir, name), { force: true });
    }
  }

  /** Removes every staged file, and the output folder if this build created it. */
  discard(): void {
    for (const { temporary } of this.staged) rmSync(temporary, { force: true });
    if (this.created) rmSync(this.created, { recursive: true, force: true });
  }

  private prepare(): void {
    if (this.ready) return;
    this.created = mkdirSync(this.outDir, { recursive: true });
    this.ready = true;
    for (const name of readdirSync(this.outDir)) {
      const match = TEMPORARY.exec(name);
      // unlink never follows a link: a planted link is removed, not its target.
      if (match && processGone(Number(match[1]))) rmSync(path.join(this.outDir, name), { force: true });
    }
  }
}
