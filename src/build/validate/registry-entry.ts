import type { Position } from '../../diagnostics/diagnostic.ts';
import type { DiagnosticParams } from '../../diagnostics/registry.ts';
import { MINIMUM_TIER, PERMISSION_TYPES, type PermissionType } from '../../governance/policy.ts';
import { ADVANCED_MODES } from '../../integration/types.ts';
import { clip } from '../../schema/common.ts';
import { type RegistryEntry } from '../../schema/registry.ts';
import type { Context, Located } from '../load/integration-set.ts';
import { REGISTRY_FILE } from '../load/integration-set.ts';

/** Checks of one registry entry on its own: advanced modes and partner permissions. */
export function checkModes(ctx: Context, entry: RegistryEntry, locate: Located['locate']): void {
  const advanced = entry.modes.filter((m) => (ADVANCED_MODES as readonly string[]).includes(m));
  if (advanced.length === 0 || entry.architecture_approval) return;
  ctx.diagnostics.add('mode-not-approved', { file: REGISTRY_FILE, at: locate('modes') }, { provider: entry.provider, modes: advanced });
}

/**
 * Returns the declared permission types of a partner integration, or undefined when methods
 * are not checked against them: first-party integrations, and partners whose list holds a
 * wildcard or unknown type (already `permission-invalid`; `permission-missing` would repeat it).
 */
export function checkPermissions(ctx: Context, entry: RegistryEntry, locate: Located['locate']): Set<PermissionType> | undefined {
  if (entry.tier === undefined && entry.permissions === undefined) return undefined;
  const declared = new Set<PermissionType>();
  let unreadable = false;
  const report = (at: Position, params: DiagnosticParams<'permission-invalid'>) => ctx.diagnostics.add('permission-invalid', { file: REGISTRY_FILE, at }, params);
  if (entry.tier === undefined) report(locate('permissions'), { variant: 'no-tier', provider: entry.provider });
  for (const [index, permission] of (entry.permissions ?? []).entries()) {
    const at = locate('type', 'permissions', index);
    if (/[*?]/.test(permission.type)) {
      report(at, { variant: 'wildcard', type: clip(permission.type), types: PERMISSION_TYPES });
      unreadable = true;
      continue;
    }
    if (!(PERMISSION_TYPES as readonly string[]).includes(permission.type)) {
      report(at, { variant: 'unknown', type: clip(permission.type), types: PERMISSION_TYPES });
      unreadable = true;
      continue;
    }
    const type = permission.type as PermissionType;
    if (!permission.justification || permission.justification.trim().length === 0) {
      report(locate(undefined, 'permissions', index), { variant: 'no-justification', type });
    }
    if (declared.has(type)) report(at, { variant: 'twice', type });
    if (entry.tier !== undefined && entry.tier < MINIMUM_TIER[type]) {
      report(at, { variant: 'tier', tier: entry.tier, type, minimum: MINIMUM_TIER[type] });
    }
    declared.add(type);
  }
  return unreadable ? undefined : declared;
}
