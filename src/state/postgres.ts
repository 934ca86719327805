import pg from 'pg';
import { GENESIS_HASH } from './audit-chain.ts';
import { ADDED_COLUMNS, ADDED_INDEXES, SCHEMA, SqlStore, type SqlConnection, type SqlDriver } from './sql-store.ts';

/**
 * The audit log's guards, each a trigger installed when missing: no update or delete (an
 * `INSERT … ON CONFLICT DO UPDATE` is an update and fires the update trigger), no TRUNCATE
 * (which skips row triggers), and every insert the next link of its tenant's chain. The
 * internal event log (`table` botc_event) gets no update, delete or TRUNCATE alike.
 */
const AUDIT_GUARDS: readonly { trigger: string; table?: string; statements: readonly string[] }[] = [
  {
    trigger: 'botc_audit_append_only',
    statements: [
      `CREATE OR REPLACE FUNCTION botc_audit_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql`,
      'CREATE TRIGGER botc_audit_append_only BEFORE UPDATE OR DELETE ON botc_audit FOR EACH ROW EXECUTE FUNCTION botc_audit_append_only()',
    ],
  },
  {
    trigger: 'botc_audit_no_truncate',
    statements: [
      'CREATE TRIGGER botc_audit_no_truncate BEFORE TRUNCATE ON botc_audit FOR EACH STATEMENT EXECUTE FUNCTION botc_audit_append_only()',
    ],
  },
  {
    trigger: 'botc_audit_next_only',
    statements: [
      `CREATE OR REPLACE FUNCTION botc_audit_next_only() RETURNS trigger AS $$
       BEGIN
         IF NEW.seq IS DISTINCT FROM COALESCE((SELECT max(seq) FROM botc_audit WHERE tenant = NEW.tenant), 0) + 1
            OR NEW.prev_hash IS DISTINCT FROM COALESCE((SELECT hash FROM botc_audit WHERE tenant = NEW.tenant AND seq = NEW.seq - 1), '${GENESIS_HASH}') THEN
           RAISE EXCEPTION 'the audit log is append-only: an entry must follow the last one of its tenant';
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql`,
      'CREATE TRIGGER botc_audit_next_only BEFORE INSERT ON botc_audit FOR EACH ROW EXECUTE FUNCTION botc_audit_next_only()',
    ],
  },
  {
    // Internal events are facts that automations have acted on: never changed or removed.
    trigger: 'botc_event_append_only',
    table: 'botc_event',
    statements: [
      `CREATE OR REPLACE FUNCTION botc_event_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the event log is append-only'; END $$ LANGUAGE plpgsql`,
      'CREATE TRIGGER botc_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON botc_event FOR EACH STATEMENT EXECUTE FUNCTION botc_event_append_only()',
    ],
  },
];

/** Serializes schema set-up across processes that start at once. */
const MIGRATION_LOCK = 0x626f7463;

/** `?` placeholders to PostgreSQL's `$1, $2, ...`. Our SQL has no `?` inside string literals. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    // BIGINT columns hold millisecond times and sequence numbers, well inside 2^53.
    if (oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

function connection(client: pg.Pool | pg.PoolClient): SqlConnection {
  return {
    all: async <T>(sql: string, params: unknown[] = []) => (await client.query(numbered(sql), params)).rows as T[],
    run: async (sql: string, params: unknown[] = []) => (await client.query(numbered(sql), params)).rowCount ?? 0,
  };
}

/** A string literal of SQL (standard_conforming_strings, on since PostgreSQL 9.1). */
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * The whole schema set-up as one multi-statement query, so that opening a store costs one round
 * trip however many tables, columns and guards there are. PostgreSQL runs the statements of one
 * simple query as a single transaction, so the transaction-scoped advisory lock serializes
 * processes that start at once, is held until every statement has committed, and is released
 * even when a statement fails. Columns and guards are added only when missing: an up-to-date
 * database is spared the exclusive lock that ALTER TABLE and CREATE TRIGGER take even when they
 * have nothing to do.
 */
function migration(schema: string | undefined): string {
  const columns = ADDED_COLUMNS.map(
    ({ table, column, definition }) =>
      `IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = ${literal(table)}::regclass AND attname = ${literal(column)} AND NOT attisdropped) THEN
         EXECUTE ${literal(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column} ${definition}`)};
       END IF;`,
  );
  // The trigger of this schema's table, not a namesake in another schema.
  const guards = AUDIT_GUARDS.map(
    (guard) =>
      `IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = ${literal(guard.trigger)} AND tgrelid = ${literal(guard.table ?? 'botc_audit')}::regclass) THEN
         ${guard.statements.map((statement) => `EXECUTE ${literal(statement)};`).join('\n         ')}
       END IF;`,
  );
  return [
    `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`,
    ...(schema !== undefined ? [`CREATE SCHEMA IF NOT EXISTS "${schema}"`] : []),
    ...SCHEMA,
    `DO $botc_columns$ BEGIN\n${columns.join('\n')}\nEND $botc_columns$`,
    ...ADDED_INDEXES,
    `DO $botc_guards$ BEGIN\n${guards.join('\n')}\nEND $botc_guards$`,
  ].join(';\n');
}

class PostgresDriver implements SqlDriver {
  readonly kind = 'postgres' as const;
  readonly lockSuffix = ' FOR UPDATE';
  private readonly direct: SqlConnection;

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string | undefined,
  ) {
    this.direct = connection(pool);
  }

  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query(migration(this.schema));
    } finally {
      client.release();
    }
  }

  all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.direct.all<T>(sql, params);
  }

  run(sql: string, params: unknown[] = []): Promise<number> {
    return this.direct.run(sql, params);
  }

  async transaction<T>(fn: (tx: SqlConnection) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(connection(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * The store for runtimes on many machines: PostgreSQL, selected by a connection URL. With
 * `schema`, its tables live in that schema (created when missing), so several stores can
 * share one database.
 */
export async function openPostgresStore(url: string, options: { maxConnections?: number; schema?: string } = {}): Promise<SqlStore> {
  const { schema } = options;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`schema \`${schema.slice(0, 80)}\` must be a lowercase SQL identifier`);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    types,
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  });
  const driver = new PostgresDriver(pool, schema);
  try {
    await driver.migrate();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return new SqlStore(driver);
}
