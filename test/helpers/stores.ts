import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync } from 'node:fs';
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

/**
 * A state file as a new store leaves it (tables, guards, WAL mode), closed: copying and opening
 * it costs a fraction of creating and migrating a file (measured: 3 ms against 25 ms, of which
 * 2.5 ms against 9 ms of CPU; the rest is file-system waits). Made by the first
 * open of each test file (it lives in that file's temporary folders), so every file still
 * creates one store from nothing.
 */
let template: Promise<string> | undefined;
async function sqliteTemplate(): Promise<string> {
  const made = await template;
  if (made !== undefined && existsSync(made)) return made;
  template = (async () => {
    const file = path.join(tempDir('botc-state-template-'), 'state.db');
    await openSqliteStore(file).close();
    return file;
  })();
  return template;
}

export const sqliteBackend: Backend = {
  name: 'sqlite',
  async open() {
    const file = path.join(tempDir('botc-state-'), 'state.db');
    copyFileSync(await sqliteTemplate(), file);
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

/**
 * What a schema holds besides rows: its tables, indexes and sequences with their columns,
 * constraints and privileges, its triggers and functions, and any schema named after it (a
 * job queue's `<schema>_jobs`). A test that changed any of it (dropped a guard, added a trigger
 * that simulates a crash, altered a table) leaves a different fingerprint.
 */
const FINGERPRINT = `
  SELECT md5(concat_ws('|',
    (SELECT string_agg(concat_ws(':', c.relname, c.relkind, c.relacl::text, c.relrowsecurity,
       (SELECT string_agg(concat_ws(' ', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef), ',' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)), ';' ORDER BY c.relname)
       FROM pg_class c WHERE c.relnamespace = n.oid),
    (SELECT string_agg(concat_ws(':', k.conname, pg_get_constraintdef(k.oid)), ';' ORDER BY k.conname)
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE c.relnamespace = n.oid),
    (SELECT string_agg(concat_ws(':', t.tgname, t.tgenabled, c.relname), ';' ORDER BY t.tgname, c.relname)
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = n.oid),
    (SELECT string_agg(concat_ws(':', p.proname, md5(p.prosrc)), ';' ORDER BY p.proname) FROM pg_proc p WHERE p.pronamespace = n.oid),
    (SELECT string_agg(o.nspname, ';' ORDER BY o.nspname) FROM pg_namespace o WHERE starts_with(o.nspname, n.nspname || '_'))
  )) AS fingerprint
  FROM pg_namespace n WHERE n.nspname = current_schema()`;

/**
 * Empties every table of the schema, guarded ones included: `replica` mode skips the append-only
 * triggers for this one transaction (the test server's user is its superuser).
 */
const EMPTY = `SELECT set_config('session_replication_role', 'replica', true);
  DO $empty$ DECLARE t text; BEGIN
    FOR t IN SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' ORDER BY relname LOOP
      EXECUTE format('DELETE FROM %I', t);
    END LOOP;
  END $empty$`;

/** A migrated PostgreSQL schema that a disposed TestDb left exactly as migrated, emptied. */
interface SpareSchema {
  schema: string;
  client: pg.Client;
  fingerprint: string;
}

/**
 * Schemas to reuse within the current test file. Creating and migrating a schema costs tens of
 * DDL statements and dropping it as many again; emptying one costs a handful of DELETEs. A
 * reused schema is indistinguishable from a new one: same tables, columns, guards and functions
 * (the fingerprint says so), no rows. Only schemas whose URL no one read are reused (only this
 * process used them). setup.ts drops them after each file.
 */
const spares: SpareSchema[] = [];

/** Drops the schemas kept for reuse (setup.ts, after each test file). */
export async function dropSpareSchemas(): Promise<void> {
  for (const { schema, client } of spares.splice(0)) {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** The fingerprint (see FINGERPRINT) of the schema first on `client`'s search path. */
export const fingerprintOf = async (client: pg.Client) => (await client.query<{ fingerprint: string }>(FINGERPRINT)).rows[0]!.fingerprint;

export const postgresBackend: Backend = {
  name: 'postgres',
  async open() {
    const url = PG_URL!;
    const stores: SqlStore[] = [];
    const spare = spares.pop();
    const schema = spare?.schema ?? `botc_t_${randomBytes(6).toString('hex')}`;
    const connect = async () => {
      const store = await openPostgresStore(url, { schema, maxConnections: 4 });
      stores.push(store);
      return store;
    };
    let client: pg.Client;
    let fingerprint: string;
    if (spare) {
      ({ client, fingerprint } = spare);
    } else {
      await connect();
      client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
      await client.connect();
      fingerprint = await fingerprintOf(client);
    }
    const raw: RawDb = {
      async exec(sql) {
        await client.query(sql);
      },
      async all<T>(sql: string, params: unknown[] = []) {
        return (await client.query(placeholders(sql), params)).rows as T[];
      },
    };
    const address = `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    // Whoever read the URL may have handed it to another process, which could still write (a
    // killed worker's last statement) after this test ends: such a schema is never reused.
    let handedOut = false;
    let disposed = false;
    return {
      kind: 'postgres',
      get url() {
        handedOut = true;
        return address;
      },
      raw,
      connect,
      dropAuditGuards: () =>
        raw.exec('DROP TRIGGER IF EXISTS botc_audit_append_only ON botc_audit; DROP TRIGGER IF EXISTS botc_audit_no_truncate ON botc_audit; DROP TRIGGER IF EXISTS botc_audit_next_only ON botc_audit;'),
      crashOnCursorWrite: () =>
        raw.exec(`CREATE FUNCTION test_crash_cursor() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'simulated crash'; END $$ LANGUAGE plpgsql;
                  CREATE TRIGGER test_crash_cursor BEFORE INSERT OR UPDATE ON botc_cursor FOR EACH ROW EXECUTE FUNCTION test_crash_cursor();`),
      stopCrashing: () => raw.exec('DROP TRIGGER test_crash_cursor ON botc_cursor; DROP FUNCTION test_crash_cursor();'),
      async dispose() {
        // Once only: a schema kept for reuse must never be kept twice (two tests would share it).
        if (disposed) return;
        disposed = true;
        for (const store of stores.splice(0)) await store.close().catch(() => undefined);
        try {
          if (!handedOut && (await fingerprintOf(client)) === fingerprint) {
            await client.query(EMPTY);
            spares.push({ schema, client, fingerprint });
            return;
          }
        } catch {
          // not reusable: dropped below
        }
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
