import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, it } from 'vitest';
import { openPostgresStore } from '../../src/state/postgres.ts';
import type { SqlStore } from '../../src/state/sql-store.ts';
import { openSqliteStore } from '../../src/state/sqlite.ts';
import { tempDir } from './workspace.ts';

/** The PostgreSQL server of the tests (`bash .ci/postgres.sh` prints it; CI exports it). */
export const PG_URL = process.env['BOTC_TEST_PG_URL'];

/** Direct SQL access to a store's database, as an attacker or an operator with DB access has. */
export interface RawDb {
  /** Runs one or more statements. */
  exec(sql: string): Promise<void>;
  /** One query with `?` placeholders. */
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** One fresh, isolated database (a temporary SQLite file, or a PostgreSQL schema of its own). */
export interface TestDb {
  kind: 'sqlite' | 'postgres';
  /** What `--state` / BOTC_STATE_URL takes to reach this database. */
  url: string;
  raw: RawDb;
  /** Opens another store on the same database (another connection, as another process would). */
  connect(): Promise<SqlStore>;
  /** Drops the audit log's append-only triggers, as an attacker with DB access would. */
  dropAuditGuards(): Promise<void>;
  /** Makes every write of a sync cursor fail, as a crash in the middle of the import's transaction. */
  crashOnCursorWrite(): Promise<void>;
  /** Undoes `crashOnCursorWrite`. */
  stopCrashing(): Promise<void>;
  /** Closes every store opened with `connect` and the raw connection, and removes the database. */
  dispose(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  open(): Promise<TestDb>;
}

const placeholders = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

export const sqliteBackend: Backend = {
  name: 'sqlite',
  async open() {
    const file = path.join(tempDir('botc-state-'), 'state.db');
    const stores: SqlStore[] = [];
    const connect = async () => {
      const store = openSqliteStore(file);
      stores.push(store);
      return store;
    };
    await connect();
    const db = new Database(file, { timeout: 15_000 });
    const raw: RawDb = {
      async exec(sql) {
        db.exec(sql);
      },
      async all<T>(sql: string, params: unknown[] = []) {
        const statement = db.prepare(sql);
        return (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as T[];
      },
    };
    return {
      kind: 'sqlite',
      url: file,
      raw,
      connect,
      dropAuditGuards: () => raw.exec('DROP TRIGGER IF EXISTS botc_audit_no_update; DROP TRIGGER IF EXISTS botc_audit_no_delete; DROP TRIGGER IF EXISTS botc_audit_next_only;'),
      crashOnCursorWrite: () =>
        raw.exec(`CREATE TRIGGER test_crash_cursor_insert BEFORE INSERT ON botc_cursor BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;
                  CREATE TRIGGER test_crash_cursor_update BEFORE UPDATE ON botc_cursor BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;`),
      stopCrashing: () => raw.exec('DROP TRIGGER test_crash_cursor_insert; DROP TRIGGER test_crash_cursor_update;'),
      async dispose() {
        for (const store of stores.splice(0)) await store.close().catch(() => undefined);
        db.close();
      },
    };
  },
};

export const postgresBackend: Backend = {
  name: 'postgres',
  async open() {
    const url = PG_URL!;
    const schema = `botc_t_${randomBytes(6).toString('hex')}`;
    const stores: SqlStore[] = [];
    const connect = async () => {
      const store = await openPostgresStore(url, { schema, maxConnections: 4 });
      stores.push(store);
      return store;
    };
    await connect();
    const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await client.connect();
    const raw: RawDb = {
      async exec(sql) {
        await client.query(sql);
      },
      async all<T>(sql: string, params: unknown[] = []) {
        return (await client.query(placeholders(sql), params)).rows as T[];
      },
    };
    return {
      kind: 'postgres',
      url: `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
      raw,
      connect,
      dropAuditGuards: () =>
        raw.exec('DROP TRIGGER IF EXISTS botc_audit_append_only ON botc_audit; DROP TRIGGER IF EXISTS botc_audit_no_truncate ON botc_audit; DROP TRIGGER IF EXISTS botc_audit_next_only ON botc_audit;'),
      crashOnCursorWrite: () =>
        raw.exec(`CREATE FUNCTION test_crash_cursor() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'simulated crash'; END $$ LANGUAGE plpgsql;
                  CREATE TRIGGER test_crash_cursor BEFORE INSERT OR UPDATE ON botc_cursor FOR EACH ROW EXECUTE FUNCTION test_crash_cursor();`),
      stopCrashing: () => raw.exec('DROP TRIGGER test_crash_cursor ON botc_cursor; DROP FUNCTION test_crash_cursor();'),
      async dispose() {
        for (const store of stores.splice(0)) await store.close().catch(() => undefined);
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
        await client.end();
      },
    };
  },
};

export const BACKENDS: readonly Backend[] = [sqliteBackend, postgresBackend];

/**
 * `describe.each` over both SQL stores. Without BOTC_TEST_PG_URL the PostgreSQL suite is
 * skipped locally, and fails under CI (`CI` set): CI must prove both stores.
 */
export function describeStores(title: string, body: (backend: Backend) => void): void {
  describe.each(BACKENDS.map((backend) => ({ name: backend.name, backend })))(`${title} ($name)`, ({ backend }) => {
    if (backend.name === 'postgres' && !PG_URL) {
      if (process.env['CI']) {
        it('runs against PostgreSQL', () => {
          throw new Error('BOTC_TEST_PG_URL is not set: CI must run the PostgreSQL suite (bash .ci/postgres.sh prints the URL)');
        });
      } else {
        it.skip('runs against PostgreSQL (set BOTC_TEST_PG_URL; `bash .ci/postgres.sh` prints it)', () => {});
      }
      return;
    }
    body(backend);
  });
}
