/**
 * PostgreSQL schema set-up, made cheap for the test suite without changing what it makes:
 *
 * - openPostgresStore sets up a schema in one round trip (one multi-statement query under a
 *   transaction-scoped advisory lock), whether the schema is new, up to date or made by an
 *   older botc, and stores opening one new schema at once all end with the same schema;
 * - the test helper (test/helpers/stores.ts) reuses a disposed test schema within a file only
 *   when it is exactly as migrated (its fingerprint) and no other process can have it (its URL
 *   was never read), and empties it first.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openPostgresStore } from '../src/state/postgres.ts';
import { SCHEMA } from '../src/state/sql-store.ts';
import { fingerprintOf, PG_URL, postgresBackend } from './helpers/stores.ts';

const made: string[] = [];
const clients: pg.Client[] = [];

/** A new schema name, dropped after the file. */
function schemaName(): string {
  const schema = `botc_t_${randomBytes(6).toString('hex')}`;
  made.push(schema);
  return schema;
}

/** A raw connection whose search path is `schema` (created when missing). */
async function rawOn(schema: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: PG_URL!, options: `-c search_path=${schema}` });
  await client.connect();
  clients.push(client);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  return client;
}

afterAll(async () => {
  for (const client of clients.splice(0)) {
    for (const schema of made) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    made.length = 0;
    await client.end().catch(() => undefined);
  }
});

describe.skipIf(!PG_URL)('PostgreSQL schema set-up', () => {
  it('opening a store sets up a new schema in one round trip, and checks an up-to-date one in one round trip', async () => {
    const schema = schemaName();
    const query = vi.spyOn(pg.Client.prototype, 'query');
    try {
      const store = await openPostgresStore(PG_URL!, { schema, maxConnections: 2 });
      expect(query).toHaveBeenCalledTimes(1);
      query.mockClear();
      const again = await openPostgresStore(PG_URL!, { schema, maxConnections: 2 });
      expect(query).toHaveBeenCalledTimes(1);
      await store.close();
      await again.close();
    } finally {
      query.mockRestore();
    }
  });

  it('a schema with only the first release\'s tables gains every added column, index and audit guard: the same schema as a new one', async () => {
    const fresh = schemaName();
    const old = schemaName();
    await (await openPostgresStore(PG_URL!, { schema: fresh, maxConnections: 1 })).close();
    const oldRaw = await rawOn(old);
    for (const statement of SCHEMA) await oldRaw.query(statement);
    const freshRaw = await rawOn(fresh);
    expect(await fingerprintOf(oldRaw)).not.toBe(await fingerprintOf(freshRaw));
    await (await openPostgresStore(PG_URL!, { schema: old, maxConnections: 1 })).close();
    expect(await fingerprintOf(oldRaw)).toBe(await fingerprintOf(freshRaw));
    // The guards work: the audit log refuses TRUNCATE.
    await expect(oldRaw.query('TRUNCATE botc_audit')).rejects.toThrow(/append-only/);
  });

  it('four stores opening one new schema at once all open, and leave the schema one store makes', async () => {
    const reference = schemaName();
    const raced = schemaName();
    await (await openPostgresStore(PG_URL!, { schema: reference, maxConnections: 1 })).close();
    const stores = await Promise.all([0, 1, 2, 3].map(() => openPostgresStore(PG_URL!, { schema: raced, maxConnections: 1 })));
    for (const store of stores) await store.close();
    expect(await fingerprintOf(await rawOn(raced))).toBe(await fingerprintOf(await rawOn(reference)));
  });

  it('the test helper reuses a disposed schema only when it is unchanged and its URL was never handed out, and hands it back empty with its guards', async () => {
    const first = await postgresBackend.open();
    const [{ schema: reusedSchema }] = await first.raw.all<{ schema: string }>('SELECT current_schema() AS schema');
    const store = await first.connect();
    await store.appendAudit({ tenant: 'acme', action: 'call', actor: 'runtime', integration: null, method_id: null, outcome: 'ok', trace_id: null, detail: {} });
    await first.dispose();

    const second = await postgresBackend.open();
    const [{ schema: firstSchema }] = await second.raw.all<{ schema: string }>('SELECT current_schema() AS schema');
    expect(firstSchema).toBe(reusedSchema);
    expect(await second.raw.all('SELECT count(*)::int AS n FROM botc_audit')).toEqual([{ n: 0 }]);
    expect(await second.raw.all('SELECT count(*)::int AS n FROM botc_audit_head')).toEqual([{ n: 0 }]);
    await expect(second.raw.exec('TRUNCATE botc_audit')).rejects.toThrow(/append-only/);
    await second.dropAuditGuards();
    await second.dispose();

    // Changed (its guards dropped): dropped, never handed out again.
    const third = await postgresBackend.open();
    const schemaOf = async (db: typeof third) => (await db.raw.all<{ schema: string }>('SELECT current_schema() AS schema'))[0]!.schema;
    const thirdSchema = await schemaOf(third);
    expect(thirdSchema).not.toBe(reusedSchema);
    await expect(third.raw.exec('TRUNCATE botc_audit')).rejects.toThrow(/append-only/);
    // Its URL read (another process may hold it): dropped too.
    expect(third.url).toContain(thirdSchema);
    await third.dispose();
    const fourth = await postgresBackend.open();
    expect(await schemaOf(fourth)).not.toBe(thirdSchema);
    await fourth.dispose();
  });
});
