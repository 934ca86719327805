import { canonicalJson, sha256 } from '../bundle/canonical.ts';
import type { AuditAnchor, AuditEntry, AuditInput, AuditLogCheck } from './types.ts';

/**
 * The hash chain of the audit log, shared by every store (SQLite, PostgreSQL, memory): how an
 * entry is stored and hashed, and how a log is verified. One module, so that the stores cannot
 * drift apart in what they call intact. docs/security.md lists what verification proves.
 */

/** The `prev_hash` of a tenant's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** The action of the entry an append writes when it finds its tenant's chain head missing. */
export const HEAD_REBUILT_ACTION = 'audit.head_rebuilt';

/** An audit entry as stored: its detail as canonical JSON text, which is what the hash covers. */
export type AuditRow = Omit<AuditInput, 'detail'> & {
  seq: number;
  at: string;
  detail_json: string;
  prev_hash: string;
  hash: string;
};

/** The stored form of an audit entry, before its hash: the next link of its tenant's chain. */
export function auditRow(entry: AuditInput, seq: number, prevHash: string): Omit<AuditRow, 'hash'> {
  return {
    tenant: entry.tenant,
    seq,
    at: new Date().toISOString(),
    action: entry.action,
    actor: entry.actor,
    integration: entry.integration,
    method_id: entry.method_id,
    outcome: entry.outcome,
    trace_id: entry.trace_id,
    detail_json: canonicalJson(entry.detail),
    prev_hash: prevHash,
  };
}

/** The hash of an audit entry (hex sha256): its content and the hash before it. */
export function auditHash(row: Omit<AuditRow, 'hash'>): string {
  // An array of strings, numbers and nulls (the detail is already canonical JSON text), so
  // plain JSON.stringify is canonical here.
  return sha256(
    `${row.prev_hash}\n${JSON.stringify([row.tenant, Number(row.seq), row.at, row.action, row.actor, row.integration, row.method_id, row.outcome, row.trace_id, row.detail_json])}`,
  );
}

/**
 * The entry an append writes first when its tenant has entries but no chain head (someone
 * deleted the head row): the chain goes on from the last stored entry, and the log says so.
 */
export function headRebuiltEntry(tenant: string, last: { seq: number; hash: string }): AuditInput {
  return {
    tenant,
    action: HEAD_REBUILT_ACTION,
    actor: 'runtime',
    integration: null,
    method_id: null,
    outcome: 'ok',
    trace_id: null,
    detail: { reason: 'the chain head was missing; it was rebuilt from the last stored entry', last_seq: last.seq, last_hash: last.hash },
  };
}

export function toEntry(row: AuditRow): AuditEntry {
  return {
    tenant: row.tenant,
    seq: Number(row.seq),
    at: row.at,
    action: row.action,
    actor: row.actor,
    integration: row.integration,
    method_id: row.method_id,
    outcome: row.outcome,
    trace_id: row.trace_id,
    detail: JSON.parse(row.detail_json) as Record<string, unknown>,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

/** What a verifier reads from a store. Heads are read before rows (see `verifyAuditLog`). */
export interface AuditLogReader {
  /** The recorded chain head of each tenant (tenant, last seq, last hash). */
  heads(tenant?: string): Promise<AuditAnchor[]>;
  /** The tenants that have at least one entry. */
  tenantsWithEntries(tenant?: string): Promise<string[]>;
  /** One tenant's entries in seq order. */
  rows(tenant: string): Promise<AuditRow[]>;
}

/**
 * Verifies the audit log: every tenant that has entries, every tenant that has a chain head
 * (with or without entries), and every tenant an anchor (a signed checkpoint) names.
 *
 * Per tenant: seqs run 1, 2, 3… without gaps; each entry's `prev_hash` is the hash of the entry
 * before it (the genesis hash for the first); each hash matches its content; the recorded chain
 * head exists, and the entry at the head's seq exists with the head's hash; each anchor's entry
 * exists with the anchored hash. Heads are read before the entries, so entries appended while
 * verifying lie past the head and are checked like the others. The first failure is returned.
 */
export async function verifyAuditLog(reader: AuditLogReader, tenant?: string, anchors: readonly AuditAnchor[] = []): Promise<AuditLogCheck> {
  const heads = new Map((await reader.heads(tenant)).map((h) => [h.tenant, h]));
  const wanted = anchors.filter((a) => tenant === undefined || a.tenant === tenant);
  const tenants = [...new Set([...heads.keys(), ...(await reader.tenantsWithEntries(tenant)), ...wanted.map((a) => a.tenant)])].sort();
  const verified: AuditAnchor[] = [];
  let entries = 0;
  for (const name of tenants) {
    const fail = (seq: number, reason: string): AuditLogCheck => ({ verdict: { ok: false, tenant: name, seq, reason }, heads: [] });
    const rows = await reader.rows(name);
    const hashes: string[] = [];
    let previous = GENESIS_HASH;
    for (const [index, row] of rows.entries()) {
      const expected = index + 1;
      const seq = Number(row.seq);
      if (seq !== expected) return fail(expected, `entry ${expected} is missing (next is ${seq})`);
      if (row.prev_hash !== previous) return fail(seq, 'it does not follow the entry before it (deleted, inserted or reordered)');
      if (auditHash(row) !== row.hash) return fail(seq, 'its content does not match its hash (modified)');
      hashes.push(row.hash);
      previous = row.hash;
    }
    const last = rows.length;
    const head = heads.get(name);
    if (!head) {
      if (last > 0) return fail(last, `the chain head is missing (deleted); the log holds entries 1–${last}, and the next append rebuilds the head from entry ${last}`);
    } else if (Number(head.seq) > last) {
      return fail(last + 1, `the log ends at entry ${last} but the chain head records ${head.seq} (entries removed from the end)`);
    } else if (Number(head.seq) > 0 ? hashes[Number(head.seq) - 1] !== head.hash : head.hash !== GENESIS_HASH) {
      return fail(Number(head.seq), `entry ${head.seq} does not have the hash its chain head records (the log was rewritten)`);
    }
    for (const anchor of wanted.filter((a) => a.tenant === name)) {
      if (anchor.seq > last) return fail(last + 1, `the log ends at entry ${last} but the checkpoint records entry ${anchor.seq} (entries removed, or the log emptied)`);
      if (anchor.seq > 0 && hashes[anchor.seq - 1] !== anchor.hash) return fail(anchor.seq, `entry ${anchor.seq} does not have the hash the checkpoint records (the log was rewritten)`);
    }
    entries += last;
    if (last > 0) verified.push({ tenant: name, seq: last, hash: previous });
  }
  return { verdict: { ok: true, tenants: tenants.length, entries }, heads: verified };
}
