import { canonicalJson, sha256, sortKeys } from '../bundle/canonical.ts';
import { IDEMPOTENCY, type Idempotency, type MethodSpec } from '../integration/types.ts';
import { breakingSchemaChanges, type SchemaDifference } from './compat.ts';

/** The lock file's name at the workspace root, and its format tag. */
export const LOCK_FILE = 'botc.lock.json';
export const LOCK_FORMAT = 'botc.lock/1';

/** What the lock remembers of one method: the parts callers depend on, and their digest. */
export interface LockedMethod {
  input_schema: unknown;
  output_schema: unknown;
  idempotency: Idempotency;
  /** Sorted, so that the order a module declares them in does not change the lock. */
  capabilities: string[];
  /** sha256 of the JCS (RFC 8785) of the four fields above. */
  sha256: string;
}

/** `botc.lock.json`: every declared method id with what it promised when it was locked. */
export interface LockFile {
  format: typeof LOCK_FORMAT;
  methods: Record<string, LockedMethod>;
}

/** How a method compares with its locked entry. */
export interface MethodComparison {
  status: 'unchanged' | 'compatible' | 'breaking';
  /** The breaking differences (pointers start with `/input_schema`, `/output_schema`, `/idempotency`, `/capabilities`). */
  breaking: SchemaDifference[];
}

/** The lock entry of a method as declared now. */
export function lockEntry(spec: Pick<MethodSpec, 'input_schema' | 'output_schema' | 'idempotency' | 'capabilities'>): LockedMethod {
  const body = {
    input_schema: spec.input_schema,
    output_schema: spec.output_schema,
    idempotency: spec.idempotency,
    capabilities: [...spec.capabilities].sort(),
  };
  return { ...body, sha256: sha256(canonicalJson(body)) };
}

/**
 * Compares a method with its locked entry. Breaking: an input schema that rejects something it
 * accepted, an output schema that allows something it did not, idempotency that permits more
 * (`safe_read` → a write), or a new capability.
 */
export function compareWithLock(locked: LockedMethod, current: LockedMethod): MethodComparison {
  if (locked.sha256 === current.sha256) return { status: 'unchanged', breaking: [] };
  const breaking: SchemaDifference[] = [
    ...prefixed('/input_schema', breakingSchemaChanges(locked.input_schema, current.input_schema, 'input')),
    ...prefixed('/output_schema', breakingSchemaChanges(locked.output_schema, current.output_schema, 'output')),
  ];
  if (IDEMPOTENCY.indexOf(current.idempotency) > IDEMPOTENCY.indexOf(locked.idempotency)) {
    breaking.push({ pointer: '/idempotency', before: locked.idempotency, after: current.idempotency, reason: 'the method may now have effects that the old idempotency ruled out' });
  }
  const added = current.capabilities.filter((c) => !locked.capabilities.includes(c));
  if (added.length > 0) {
    breaking.push({ pointer: '/capabilities', before: locked.capabilities, after: current.capabilities, reason: `new capability ${added.map((c) => `\`${c}\``).join(', ')}` });
  }
  return { status: breaking.length > 0 ? 'breaking' : 'compatible', breaking };
}

/** The bytes of a lock file: sorted keys at every level, two-space indent, one trailing newline. */
export function serializeLock(lock: LockFile): string {
  return `${JSON.stringify(sortKeys(lock), null, 2)}\n`;
}

/** What `botc lock` does to a lock, method by method. */
export interface LockUpdate {
  /** The lock to write; equal to the old one when nothing changed. */
  lock: LockFile;
  added: string[];
  updated: string[];
  removed: string[];
  /** Locked ids whose declaration changed incompatibly: the lock keeps their old entry. */
  refused: { method_id: string; breaking: SchemaDifference[] }[];
}

/**
 * Records every declared method: new ids are added, compatible changes updated, breaking ones
 * refused (their old entry stays). A locked id that is no longer declared is dropped unless a
 * tool still uses it (`stillUsed`), in which case the build reports it as an unknown method.
 */
export function updateLock(previous: LockFile | undefined, declared: Iterable<MethodSpec>, stillUsed: (methodId: string) => boolean = () => false): LockUpdate {
  const methods: Record<string, LockedMethod> = {};
  const update: LockUpdate = { lock: { format: LOCK_FORMAT, methods }, added: [], updated: [], removed: [], refused: [] };
  const seen = new Set<string>();
  for (const spec of declared) {
    seen.add(spec.method_id);
    const current = lockEntry(spec);
    const locked = previous?.methods[spec.method_id];
    if (!locked) {
      methods[spec.method_id] = current;
      update.added.push(spec.method_id);
      continue;
    }
    const comparison = compareWithLock(locked, current);
    if (comparison.status === 'breaking') {
      methods[spec.method_id] = locked;
      update.refused.push({ method_id: spec.method_id, breaking: comparison.breaking });
    } else {
      methods[spec.method_id] = current;
      if (comparison.status === 'compatible') update.updated.push(spec.method_id);
    }
  }
  for (const [id, locked] of Object.entries(previous?.methods ?? {})) {
    if (seen.has(id)) continue;
    if (stillUsed(id)) methods[id] = locked;
    else update.removed.push(id);
  }
  for (const list of [update.added, update.updated, update.removed]) list.sort();
  update.refused.sort((a, b) => (a.method_id < b.method_id ? -1 : 1));
  return update;
}

/** The next version of a method id: `github.issues.list.v1` → `github.issues.list.v2`. */
export function nextVersion(methodId: string): string {
  const match = /^(.*\.v)(\d+)$/.exec(methodId);
  return match ? `${match[1]}${Number(match[2]) + 1}` : `${methodId}.v2`;
}

function prefixed(prefix: string, differences: SchemaDifference[]): SchemaDifference[] {
  return differences.map((d) => ({ ...d, pointer: d.pointer === '/' ? prefix : `${prefix}${d.pointer}` }));
}
