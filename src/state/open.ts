import path from 'node:path';
import type { StateStore } from './types.ts';

/** Where the embedded store lives inside a workspace. */
export const DEFAULT_STATE_FILE = '.botc/state.db';

/**
 * Opens the state store a URL names: `postgres://…` / `postgresql://…` for PostgreSQL, a
 * `sqlite:` URL or a file path for SQLite. Without one, `<root>/.botc/state.db`.
 */
export async function openStore(location: string | undefined, root: string): Promise<StateStore> {
  if (location && /^postgres(ql)?:\/\//.test(location)) {
    const { openPostgresStore } = await import('./postgres.ts');
    return openPostgresStore(location);
  }
  const { openSqliteStore } = await import('./sqlite.ts');
  const file = location ? location.replace(/^sqlite:(\/\/)?/, '') : path.join(root, DEFAULT_STATE_FILE);
  return openSqliteStore(file === ':memory:' ? file : path.resolve(root, file));
}
