import type { Diagnostics, Position } from '../../diagnostics/diagnostic.ts';
import { closest } from '../../diagnostics/hints.ts';
import { METHOD_ID_PATTERN, providerOf } from '../../load/names.ts';
import { clip } from '../../schema/common.ts';

/**
 * A provider renamed by a typo in the registry (`"provider": "githb"` for a module whose
 * methods are all `github.*`, in integrations/github/): the registry entry is the one mistake.
 * Reported once there, instead of once per method with a hint to rename every method id to
 * the typo. Returns the name the module's methods use, when that is what happened; the caller
 * then treats both names as unknowable, so no tool is also reported as naming an unknown method.
 */
export function checkRenamedProvider(
  diagnostics: Diagnostics,
  registryFile: string,
  entry: { provider: string; module: string },
  at: Position,
  specs: readonly unknown[],
): string | undefined {
  const prefixes = new Set(
    specs.flatMap((raw) => {
      const id = (raw as { method_id?: unknown } | null)?.method_id;
      return typeof id === 'string' && METHOD_ID_PATTERN.test(id) ? [providerOf(id)] : [];
    }),
  );
  if (prefixes.size !== 1) return undefined;
  const used = [...prefixes][0]!;
  if (used === entry.provider) return undefined;
  const folder = entry.module.split('/')[0];
  if (folder !== used && closest(entry.provider, [used]) === undefined) return undefined;
  diagnostics.add('integration-registry-invalid', { file: registryFile, at }, { variant: 'provider-renamed', provider: clip(entry.provider), module: entry.module, used, inFolder: folder === used, registry: registryFile });
  return used;
}
