import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { serializeSortedBundle, type Bundle } from '../bundle/format.ts';

/**
 * Stage 5: writes each bundle as soon as it is assembled, to a temporary file beside its
 * target, and puts the files in place only once the whole build has succeeded. A build then
 * holds no bundle longer than it needs to, and a failed one leaves the output folder as it was.
 */
export class BundleWriter {
  private readonly staged: { name: string; temporary: string; target: string }[] = [];
  private ready = false;
  /** The first folder this build created for the output, removed again on failure. */
  private created: string | undefined;

  constructor(private readonly outDir: string) {}

  stage(bundle: Bundle): void {
    this.prepare();
    const name = `${bundle.bot.id}.bundle.json`;
    const target = path.join(this.outDir, name);
    const temporary = `${target}.${process.pid}.tmp`;
    this.staged.push({ name, temporary, target });
    writeFileSync(temporary, serializeSortedBundle(bundle));
  }

  /** Renames every staged bundle into place; a full build also removes bundles of bots that no longer exist. */
  commit(pruneStale: boolean): void {
    this.prepare();
    for (const { temporary, target } of this.staged) renameSync(temporary, target);
    if (!pruneStale) return;
    const written = new Set(this.staged.map((s) => s.name));
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
  }
}
