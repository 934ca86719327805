import { canonicalJson, sha256 } from '../bundle/canonical.ts';
import type { BundleIntegration } from '../bundle/format.ts';
import { MINIMUM_TIER, PERMISSION_FOR, WRITE_CAPABILITIES } from '../governance/policy.ts';
import type { MethodSpec } from '../integration/types.ts';

/**
 * How the seeds' rules apply to one method at run time:
 * - `read`: runs directly;
 * - `outbound_write`: preview first, then a person confirms (docs/governance.md, integration classes);
 * - `import`: the records go to the review queue, untrusted until approved (docs/governance.md, integration classes).
 */
export type CallKind = 'read' | 'outbound_write' | 'import';

export type Governance = { ok: true; kind: CallKind } | { ok: false; code: 'READ_ONLY_VIOLATION' | 'AUTH_FORBIDDEN'; message: string };

export function govern(spec: MethodSpec, integration: BundleIntegration): Governance {
  const writes = spec.capabilities.filter((c) => WRITE_CAPABILITIES.has(c));
  if (integration.classification === 'read_only' && (writes.length > 0 || spec.capabilities.includes('import'))) {
    return { ok: false, code: 'READ_ONLY_VIOLATION', message: `${spec.provider} is read-only; ${spec.method_id} would ${[...writes, ...spec.capabilities.filter((c) => c === 'import')].join(', ')}` };
  }
  if (integration.classification === 'inbound' && writes.length > 0) {
    return { ok: false, code: 'READ_ONLY_VIOLATION', message: `${spec.provider} is inbound; it may import but never ${writes.join(', ')}` };
  }
  if (integration.tier !== null) {
    const beyond = spec.capabilities.filter((c) => MINIMUM_TIER[PERMISSION_FOR[c]] > integration.tier!);
    if (beyond.length > 0) {
      return { ok: false, code: 'AUTH_FORBIDDEN', message: `a tier ${integration.tier} partner may not ${beyond.join(', ')}` };
    }
  }
  if (writes.length > 0) return { ok: true, kind: 'outbound_write' };
  if (spec.capabilities.includes('import')) return { ok: true, kind: 'import' };
  return { ok: true, kind: 'read' };
}

export interface ImportedRecord {
  key: string;
  json: string;
  sha256: string;
}

/**
 * The records of an import result: each element of `data.records` when it is a list,
 * otherwise the whole result as one record. A record's key is its `id` (or `key`,
 * `import_key`) when it has one, else the hash of its content, so a re-import of the same
 * record lands on the same row.
 */
export function importedRecords(data: unknown): ImportedRecord[] {
  const records = isObject(data) && Array.isArray(data['records']) ? (data['records'] as unknown[]) : [data];
  return records.map((record) => {
    const json = canonicalJson(record);
    const digest = sha256(json);
    const key = isObject(record) ? firstKey(record) : undefined;
    return { key: key ?? `sha256:${digest}`, json, sha256: digest };
  });
}

function firstKey(record: Record<string, unknown>): string | undefined {
  for (const field of ['id', 'key', 'import_key']) {
    const value = record[field];
    if (typeof value === 'string' || typeof value === 'number') return String(value);
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
