import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The last version of each imported record that a person approved in the console, so the next
 * import of the same record can be shown as a diff against it. The review queue keeps only the
 * newest version of a record (re-imports upsert), so without this the approved text is gone.
 * One JSON file (mode 0600) keyed by tenant, provider and record key; `undefined` file keeps it
 * in memory (tests).
 */
export class ApprovedVersions {
  private memory: Record<string, string> = {};

  constructor(private readonly file?: string) {}

  get(tenant: string, provider: string, recordKey: string): string | undefined {
    return this.read()[key(tenant, provider, recordKey)];
  }

  put(tenant: string, provider: string, recordKey: string, recordJson: string): void {
    const all = this.read();
    all[key(tenant, provider, recordKey)] = recordJson;
    if (!this.file) {
      this.memory = all;
      return;
    }
    mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(all)}\n`, { mode: 0o600 });
    renameSync(temp, this.file);
  }

  private read(): Record<string, string> {
    if (!this.file) return { ...this.memory };
    if (!existsSync(this.file)) return {};
    return JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, string>;
  }
}

function key(tenant: string, provider: string, recordKey: string): string {
  return JSON.stringify([tenant, provider, recordKey]);
}
