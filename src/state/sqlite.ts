import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ADDED_COLUMNS, ADDED_INDEXES, SCHEMA, SqlStore, type SqlConnection, type SqlDriver } from './sql-store.ts';

const APPEND_ONLY = [
  "CREATE TRIGGER IF NOT EXISTS botc_audit_no_update BEFORE UPDATE ON botc_audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
  "CREATE TRIGGER IF NOT EXISTS botc_audit_no_delete BEFORE DELETE ON botc_audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
];

/**
 * The queue of each database file open in this process, shared by all its connections: a
 * connection waiting in BEGIN IMMEDIATE blocks the thread, so it must never wait for a
 * transaction of another connection of the same process, which that thread would have to finish.
 */
const lanes = new Map<string, { tail: Promise<unknown>; users: number }>();

/**
 * The embedded store: one SQLite file (WAL mode), safe for several processes. Writes that
 * need a consistent read (the audit chain head) take the write lock up front with
 * BEGIN IMMEDIATE; within one process transactions are queued, per database file.
 */
class SqliteDriver implements SqlDriver {
  readonly kind = 'sqlite' as const;
  readonly lockSuffix = '';
  private readonly db: Database.Database;
  private readonly laneKey: string;
  private readonly lane: { tail: Promise<unknown>; users: number };
  private readonly statements = new Map<string, Database.Statement>();

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.laneKey = file === ':memory:' ? `:memory:${Math.random()}` : path.resolve(file);
    this.lane = lanes.get(this.laneKey) ?? { tail: Promise.resolve(), users: 0 };
    this.lane.users++;
    lanes.set(this.laneKey, this.lane);
    this.db = new Database(file, { timeout: 15_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const statement of [...SCHEMA, ...APPEND_ONLY]) this.db.exec(statement);
      addMissingColumns(this.db);
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private readonly direct: SqlConnection = {
    all: async <T>(sql: string, params: unknown[] = []) => this.prepare(sql).all(...params) as T[],
    run: async (sql: string, params: unknown[] = []) => this.prepare(sql).run(...params).changes,
  };

  all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.serialized(() => this.direct.all<T>(sql, params));
  }

  run(sql: string, params: unknown[] = []): Promise<number> {
    return this.serialized(() => this.direct.run(sql, params));
  }

  transaction<T>(fn: (tx: SqlConnection) => Promise<T>): Promise<T> {
    return this.serialized(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  /** Statements on one file run one at a time in this process, so a transaction is never interleaved. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.lane.tail.then(work, work);
    this.lane.tail = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.serialized(async () => this.db.close());
    if (--this.lane.users === 0 && lanes.get(this.laneKey) === this.lane) lanes.delete(this.laneKey);
  }
}

/** Upgrades a database made by an older botc: SQLite has no ADD COLUMN IF NOT EXISTS, so ask first. */
function addMissingColumns(db: Database.Database): void {
  const existing = new Map<string, Set<string>>();
  for (const { table, column, definition } of ADDED_COLUMNS) {
    let columns = existing.get(table);
    if (!columns) {
      columns = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
      existing.set(table, columns);
    }
    if (!columns.has(column)) {
      db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
      columns.add(column);
    }
  }
  for (const statement of ADDED_INDEXES) db.exec(statement);
}

export function openSqliteStore(file: string): SqlStore {
  return new SqlStore(new SqliteDriver(file));
}
