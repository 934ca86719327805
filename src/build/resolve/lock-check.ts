import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Diagnostics, Position } from '../../diagnostics/diagnostic.ts';
import { IDEMPOTENCY } from '../../integration/types.ts';
import { describeReadFailure, type WorkspaceFiles } from '../../load/files.ts';
import type { FileContext } from '../context.ts';
import { parseJson } from '../../load/json.ts';
import { formatDifference } from '../../versioning/diff-format.ts';
import { LOCK_FILE, LOCK_FORMAT, nextVersion, updateLock, type LockFile, type LockUpdate } from '../../versioning/lock.ts';
import type { IntegrationSet } from '../load/integrations.ts';

const lockSchema = z.strictObject({
  format: z.literal(LOCK_FORMAT),
  methods: z.record(
    z.string(),
    z.strictObject({
      input_schema: z.unknown(),
      output_schema: z.unknown(),
      idempotency: z.enum(IDEMPOTENCY),
      capabilities: z.array(z.string()),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
});

/** A lock holds every method's schemas: larger than a prompt, still bounded. */
const LOCK_FILE_CAP = 32 * 1024 * 1024;

/** Where a method is declared, for diagnostics: its module file and the position of its id. */
export type MethodLocator = (methodId: string) => { file: string; at: Position } | undefined;

/**
 * The versioning stage: compares every declared method with `botc.lock.json`, when the workspace
 * has one (`mode: 'check'`), or computes the new lock (`mode: 'update'`, for `botc lock`).
 *
 * - a breaking change of a locked id: `method-redefined` (error) at the method's id, each
 *   difference as a JSON Pointer with before → after;
 * - a compatible change, a new id, or a locked id no longer declared: `lock-outdated` (warning)
 *   in check mode.
 *
 * Returns the update (the lock to write, and what changed), or undefined when there is no lock
 * to check or the lock file is broken (reported as `json-syntax`).
 */
export function checkLock(
  { files, diagnostics }: FileContext,
  set: IntegrationSet,
  used: ReadonlySet<string>,
  where: MethodLocator,
  mode: 'check' | 'update',
): LockUpdate | undefined {
  const previous = readLock(files, diagnostics);
  if (previous === 'broken') return undefined;
  if (previous === undefined && mode === 'check') return undefined;
  // A locked method of a provider whose module failed to load is unknown, not removed.
  const unknowable = (id: string) => set.unknowable.all || set.unknowable.methods.has(id) || set.unknowable.providers.has(id.split('.')[0] ?? '');
  const update = updateLock(previous, set.methods.values(), (id) => used.has(id) || unknowable(id));
  for (const { method_id, breaking } of update.refused) {
    const place = where(method_id) ?? { file: LOCK_FILE, at: undefined };
    diagnostics.add('method-redefined', place, { id: method_id, changes: breaking.map(formatDifference).join('; '), next: nextVersion(method_id) });
  }
  if (mode === 'update') return update;
  for (const id of update.updated) {
    const place = where(id) ?? { file: LOCK_FILE, at: undefined };
    diagnostics.add('lock-outdated', place, { variant: 'changed', id });
  }
  if (update.added.length > 0 || update.removed.length > 0) {
    diagnostics.add('lock-outdated', { file: LOCK_FILE, at: { line: 1, column: 1 } }, { variant: 'unrecorded', added: update.added, removed: update.removed });
  }
  return update;
}

function readLock(files: WorkspaceFiles, diagnostics: Diagnostics): LockFile | undefined | 'broken' {
  // Most workspaces have no lock: look before opening, so a build reads only files that exist.
  if (!existsSync(path.join(files.root, LOCK_FILE))) return undefined;
  const broken = (message: string, at?: Position) => {
    diagnostics.add('json-syntax', { file: LOCK_FILE, at }, { variant: 'lock', detail: message, hint: 'botc writes this file: restore it from version control, or delete it and run `botc lock`' });
    return 'broken' as const;
  };
  const read = files.read(LOCK_FILE, LOCK_FILE_CAP);
  if (!read.ok) return read.kind === 'missing' ? undefined : broken(`the lock file cannot be read: ${describeReadFailure(read)}`);
  const parsed = parseJson(read.text);
  if (!parsed.ok) return broken(parsed.message, parsed.at);
  const shape = lockSchema.safeParse(parsed.document.value);
  if (!shape.success) {
    const issue = shape.error.issues[0]!;
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    return broken(`not a ${LOCK_FORMAT} file: \`${path.join('.') || '(root)'}\`: ${issue.message}`, parsed.document.locate(path));
  }
  return shape.data as LockFile;
}
