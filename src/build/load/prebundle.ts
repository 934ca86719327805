import { existsSync } from 'node:fs';
import { MODULE_FILE_CAP, WorkspaceFiles } from '../../load/files.ts';
import { prebundle } from '../../load/sandbox.ts';
import { REGISTRY_FILE } from './integration-set.ts';

/**
 * Starts bundling the workspace's integration modules, as the registry names them, before a
 * first build walks its sources (src/load/sandbox.ts, `prebundle`). Only a head start: nothing
 * here is checked or reported, every problem is the integration stage's to find, and a module
 * whose text changes before the stage reads it is bundled again there. Never throws.
 */
export async function prebundleModules(files: WorkspaceFiles): Promise<void> {
  try {
    // A workspace without integrations: nothing to open at all.
    if (!existsSync(files.absolute(REGISTRY_FILE))) return;
    const registry = files.read(REGISTRY_FILE);
    if (!registry.ok) return;
    const entries = (JSON.parse(registry.text) as { integrations?: unknown }).integrations;
    if (!Array.isArray(entries)) return;
    const modules: { file: string; source: string }[] = [];
    for (const entry of entries as { module?: unknown }[]) {
      const module = entry?.module;
      if (typeof module !== 'string' || !WorkspaceFiles.isContained(module)) continue;
      const file = `integrations/${module}`;
      if (!WorkspaceFiles.isContained(file)) continue;
      const read = files.read(file, MODULE_FILE_CAP);
      if (read.ok) modules.push({ file: files.absolute(file), source: read.text });
    }
    await prebundle(files.root, modules);
  } catch {
    // The integration stage reads and reports the registry itself.
  }
}
