/**
 * The SQLite state file on disk: owner-only permissions (it holds stored results, imported
 * records and confirmation params), and one queue per real file, however its path is spelled.
 */
import { chmodSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SqlStore } from '../src/state/sql-store.ts';
import { openSqliteStore, sqliteQueueKey } from '../src/state/sqlite.ts';
import type { AuditInput } from '../src/state/types.ts';
import { tempDir } from './helpers/workspace.ts';

const mode = (file: string) => statSync(file).mode & 0o777;
const posix = process.platform !== 'win32';

const entry = (n: number): AuditInput => ({
  tenant: 'acme', action: 'call', actor: 'expert:operator', integration: null, method_id: null, outcome: 'ok', trace_id: `t-${n}`, detail: { n },
});

const opened: SqlStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});
const open = (file: string, options: Parameters<typeof openSqliteStore>[1] = {}) => {
  const store = openSqliteStore(file, options);
  opened.push(store);
  return store;
};

describe.runIf(posix)('the state file is owner-only', () => {
  it('a new store: its folders 0700, the file and its -wal/-shm companions 0600', async () => {
    const root = tempDir('botc-perm-');
    const file = path.join(root, 'ws', '.botc', 'state.db');
    const store = open(file);
    await store.appendAudit(entry(1));
    expect(mode(path.join(root, 'ws'))).toBe(0o700);
    expect(mode(path.dirname(file))).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    expect(mode(`${file}-wal`)).toBe(0o600);
    expect(mode(`${file}-shm`)).toBe(0o600);
  });

  it('an existing world-readable file and companions are tightened on open; an existing folder is left alone', async () => {
    const root = tempDir('botc-perm-');
    const file = path.join(root, 'state.db');
    await open(file).appendAudit(entry(1));
    await opened.pop()!.close();
    writeFileSync(`${file}-wal`, '');
    for (const target of [file, `${file}-wal`]) chmodSync(target, 0o644);
    chmodSync(root, 0o755);
    const store = open(file);
    await store.appendAudit(entry(2));
    expect(mode(file)).toBe(0o600);
    expect(mode(`${file}-wal`)).toBe(0o600);
    expect(mode(`${file}-shm`)).toBe(0o600);
    expect(mode(root)).toBe(0o755);
    expect(await store.verifyAudit()).toEqual({ ok: true, tenants: 1, entries: 2 });
  });
});

describe.runIf(posix)('one SQLite file through two paths', () => {
  it('shares one queue: the key is the real path', () => {
    const root = tempDir('botc-lane-');
    mkdirSync(path.join(root, 'x'));
    symlinkSync(root, path.join(root, 'link'));
    const file = path.join(root, 'state.db');
    writeFileSync(file, '');
    expect(sqliteQueueKey(path.join(root, 'link', 'state.db'))).toBe(sqliteQueueKey(file));
    expect(sqliteQueueKey(path.join(root, 'x', '..', 'state.db'))).toBe(sqliteQueueKey(file));
    // A file that does not exist yet: its folder's real path and its name.
    expect(sqliteQueueKey(path.join(root, 'link', 'new.db'))).toBe(sqliteQueueKey(path.join(root, 'new.db')));
  });

  it('concurrent transactions through a symlinked folder and `x/../` neither deadlock nor fail with SQLITE_BUSY', async () => {
    const root = tempDir('botc-lane-');
    mkdirSync(path.join(root, 'x'));
    symlinkSync(root, path.join(root, 'link'));
    // A short busy timeout: with one queue per spelling, the second connection would block the
    // thread on the lock the first holds, then fail after this long.
    const stores = [path.join(root, 'state.db'), path.join(root, 'link', 'state.db'), `${root}/x/../state.db`].map((file) => open(file, { busyTimeoutMs: 500 }));
    const appends = [];
    for (let n = 0; n < 30; n++) appends.push(stores[n % 3]!.appendAudit(entry(n)));
    await Promise.all(appends);
    expect(await stores[0]!.verifyAudit()).toEqual({ ok: true, tenants: 1, entries: 30 });
  });
});
