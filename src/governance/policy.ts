import type { Capability, Classification, Idempotency } from '../integration/types.ts';

/**
 * What each integration class may do (docs/governance.md, integration classes). Read-only providers only read; inbound
 * providers read and import (imports wait for review); outbound providers deliver,
 * notify and write confirmed state. `workflow` is allowed to no class: an integration
 * never triggers execution on its own.
 */
export const ALLOWED_CAPABILITIES: Record<Classification, ReadonlySet<Capability>> = {
  read_only: new Set(['read', 'intelligence']),
  inbound: new Set(['read', 'intelligence', 'import']),
  outbound: new Set(['read', 'intelligence', 'write', 'delete', 'deliver', 'notify']),
};

/** Capabilities that change state somewhere; they cannot be `safe_read`. */
export const WRITE_CAPABILITIES: ReadonlySet<Capability> = new Set(['write', 'delete', 'deliver', 'notify', 'workflow']);

export type PermissionType = 'read' | 'write' | 'workflow' | 'intelligence';
export const PERMISSION_TYPES: readonly PermissionType[] = ['read', 'write', 'workflow', 'intelligence'];

/** The lowest partner tier that may hold each permission type (docs/governance.md, partner tiers). */
export const MINIMUM_TIER: Record<PermissionType, 1 | 2 | 3> = { read: 1, write: 2, workflow: 2, intelligence: 3 };

/** The permission a partner integration must declare for a method to use a capability. */
export const PERMISSION_FOR: Record<Capability, PermissionType> = {
  read: 'read',
  import: 'read',
  intelligence: 'intelligence',
  write: 'write',
  delete: 'write',
  deliver: 'write',
  notify: 'write',
  workflow: 'workflow',
};

/** Why a capability set and idempotency class disagree, or undefined. */
export function idempotencyProblem(capabilities: readonly Capability[], idempotency: Idempotency): string | undefined {
  const writes = capabilities.some((c) => WRITE_CAPABILITIES.has(c));
  const imports = capabilities.includes('import');
  if (writes && idempotency === 'safe_read') {
    return 'a method with a write capability cannot be `safe_read`';
  }
  if (!writes && !imports && idempotency !== 'safe_read') {
    return `a method that only reads must be \`safe_read\`, not \`${idempotency}\``;
  }
  return undefined;
}
