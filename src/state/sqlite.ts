import { chmodSync, closeSync, existsSync, mkdirSync, openSync, realpathSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GENESIS_HASH } from './audit-chain.ts';
import { ADDED_COLUMNS, ADDED_INDEXES, SCHEMA, SqlStore, type SqlConnection, type SqlDriver, type SqlSyncConnection } from './sql-store.ts';

const APPEND_ONLY = [
  "CREATE TRIGGER IF NOT EXISTS botc_audit_no_update BEFORE UPDATE ON botc_audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
  "CREATE TRIGGER IF NOT EXISTS botc_audit_no_delete BEFORE DELETE ON botc_audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
  // INSERT OR REPLACE deletes the old row without firing DELETE triggers (unless the writing
  // connection turned on recursive_triggers, which an attacker's connection would not), so
  // every insert must be the next link of its tenant's chain: the next seq, after the last hash.
  `CREATE TRIGGER IF NOT EXISTS botc_audit_next_only BEFORE INSERT ON botc_audit
   WHEN NEW.seq IS NOT COALESCE((SELECT MAX(seq) FROM botc_audit WHERE tenant = NEW.tenant), 0) + 1
     OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM botc_audit WHERE tenant = NEW.tenant AND seq = NEW.seq - 1), '${GENESIS_HASH}')
   BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: an entry must follow the last one of its tenant'); END`,
  // Internal events are facts that automations have acted on: never changed or removed.
  "CREATE TRIGGER IF NOT EXISTS botc_event_no_update BEFORE UPDATE ON botc_event BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END",
  "CREATE TRIGGER IF NOT EXISTS botc_event_no_delete BEFORE DELETE ON botc_event BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END",
];

/** Owner-only: the file holds stored results, imported records and confirmation params. */
const FILE_MODE = 0o600;
const FOLDER_MODE = 0o700;

/** Options of the embedded store. */
export interface SqliteOptions {
  /** How long a connection waits for another process's write lock, in milliseconds (default 15000). */
  busyTimeoutMs?: number;
}

/**
 * Creates the database file's folder (0700, only the folders botc creates) and the file itself
 * (0600) before SQLite does, and tightens an existing file and its -wal/-shm companions to 0600.
 * SQLite creates the companions with the mode of the database file.
 */
function prepareFile(file: string): void {
  const folder = path.dirname(file);
  const created = mkdirSync(folder, { recursive: true, mode: FOLDER_MODE });
  if (created !== undefined) {
    // mkdir's mode is filtered by the umask; set it exactly on each folder botc made.
    for (let dir = folder; dir.length >= created.length; dir = path.dirname(dir)) {
      chmodSync(dir, FOLDER_MODE);
      if (dir === created) break;
    }
  }
  try {
    closeSync(openSync(file, 'wx', FILE_MODE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  tighten(file);
}

function tighten(file: string): void {
  for (const target of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    if (existsSync(target)) chmodSync(target, FILE_MODE);
  }
}

/**
 * The key of a database file's queue: its real path (links and `..` resolved), so one file
 * reached through two paths shares one queue instead of deadlocking on SQLite's lock.
 */
export function sqliteQueueKey(file: string): string {
  const absolute = path.resolve(file);
  try {
    return realpathSync(absolute);
  } catch {
    // Not there yet: the folder's real path and the file's name.
    try {
      return path.join(realpathSync(path.dirname(absolute)), path.basename(absolute));
    } catch {
      return absolute;
    }
  }
}

/**
 * The queue of each database file open in this process, shared by all its connections: a
 * connection waiting in BEGIN IMMEDIATE blocks the thread, so it must never wait for a
 * transaction of another connection of the same process, which that thread would have to finish.
 */
const lanes = new Map<string, Lane>();

/** One database file's queue: its last queued work, how many pieces are queued or running, and how many connections use it. */
interface Lane {
  tail: Promise<unknown>;
  queued: number;
  users: number;
}

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
  private readonly lane: Lane;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(file: string, options: SqliteOptions) {
    if (file !== ':memory:') prepareFile(file);
    this.laneKey = file === ':memory:' ? `:memory:${Math.random()}` : sqliteQueueKey(file);
    this.lane = lanes.get(this.laneKey) ?? { tail: Promise.resolve(), queued: 0, users: 0 };
    this.lane.users++;
    lanes.set(this.laneKey, this.lane);
    this.db = new Database(file, { timeout: options.busyTimeoutMs ?? 15_000 });
    this.db.pragma('journal_mode = WAL');
    if (file !== ':memory:') tighten(file);
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

  private readonly directSync: SqlSyncConnection = {
    all: <T>(sql: string, params: unknown[] = []) => this.prepare(sql).all(...params) as T[],
    run: (sql: string, params: unknown[] = []) => this.prepare(sql).run(...params).changes,
  };

  private readonly direct: SqlConnection = {
    all: async <T>(sql: string, params: unknown[] = []) => this.directSync.all<T>(sql, params),
    run: async (sql: string, params: unknown[] = []) => this.directSync.run(sql, params),
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

  /**
   * Now, when nothing of this file is queued or running in this process (`SqlDriver.transactionSync`):
   * better-sqlite3 is synchronous, so the transaction runs whole before anything else can start.
   */
  transactionSync<T extends object>(fn: (tx: SqlSyncConnection) => T): T | undefined {
    if (this.lane.queued > 0 || this.db.inTransaction) return undefined;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn(this.directSync);
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /**
   * Statements on one file run one at a time in this process, so a transaction is never
   * interleaved. `queued` counts the work queued or running, until it has finished.
   */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const lane = this.lane;
    lane.queued++;
    const counted = async (): Promise<T> => {
      try {
        return await work();
      } finally {
        lane.queued--;
      }
    };
    const next = lane.tail.then(counted, counted);
    lane.tail = next.catch(() => undefined);
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

/**
 * Opens (creating when missing) the SQLite store in `file`: owner-only (0600 file, 0700 for
 * folders it creates), WAL mode, tables and append-only guards set up. `:memory:` for a
 * throwaway database.
 */
export function openSqliteStore(file: string, options: SqliteOptions = {}): SqlStore {
  return new SqlStore(new SqliteDriver(file, options));
}
