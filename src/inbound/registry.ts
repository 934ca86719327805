import { readFileSync } from 'node:fs';
import path from 'node:path';
import { registrySchema, type RegistryEntry } from '../schema/registry.ts';

/**
 * The registry entries of a workspace (integrations/manifest.json), checked against the
 * registry format, for the inbound commands that need the declarations and not the modules.
 * Throws an Error whose message says what is wrong; `botc check` reports it in full.
 */
export function readRegistryEntries(root: string): RegistryEntry[] {
  const file = path.join(root, 'integrations', 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`integrations/manifest.json ${error instanceof SyntaxError ? 'is not valid JSON' : `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`}`);
  }
  const parsed = registrySchema.safeParse(raw);
  if (!parsed.success) throw new Error('integrations/manifest.json breaks the registry format');
  return parsed.data.integrations;
}
