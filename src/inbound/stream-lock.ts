import { createHash } from 'node:crypto';
import pg from 'pg';
import type { SyncTarget } from './sync.ts';

/**
 * "This stream is running here" across every process on one PostgreSQL database: a session
 * advisory lock per (schema, tenant, provider, stream), held on one connection of the worker
 * for as long as the run lasts. PostgreSQL drops the locks of a connection that ends, so a worker
 * that dies (SIGKILL included) frees its streams at once, and a run that takes longer than its
 * interval still keeps every other worker off the stream: the store's slot claim alone can only
 * guess that an old claim is a crash.
 */
export interface StreamLocks {
  /** Runs `work` while holding the stream's lock; `undefined` without running when another run holds it. */
  exclusive<T>(target: SyncTarget, work: () => Promise<T>): Promise<T | undefined>;
  close(): Promise<void>;
}

/**
 * Opens the locks' connection. `onError` hears about a connection that broke (the locks it held
 * are gone then; runs in flight finish, and the store's slot claim still keeps each interval to
 * one run); the next `exclusive` reconnects.
 */
export async function openStreamLocks(connectionString: string, onError?: (error: Error) => void): Promise<StreamLocks> {
  let client: pg.Client | undefined;
  let scope = '';
  const held = new Set<string>();
  const connect = async (): Promise<pg.Client> => {
    if (client) return client;
    const next = new pg.Client({ connectionString, application_name: 'botc-sync-locks' });
    next.on('error', (error) => {
      if (client === next) client = undefined;
      onError?.(error);
    });
    await next.connect();
    // Stores in different schemas of one database are different stores: their locks differ too.
    scope = (await next.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]?.schema ?? '';
    client = next;
    return next;
  };
  const keyOf = (t: SyncTarget): [number, number] => {
    const digest = createHash('sha256').update(`botc-sync\n${scope}\n${t.tenant}\n${t.provider}\n${t.stream.name}`).digest();
    return [digest.readInt32BE(0), digest.readInt32BE(4)];
  };
  await connect();
  return {
    async exclusive(target, work) {
      const name = `${target.tenant}/${target.provider}/${target.stream.name}`;
      // Advisory locks are re-entrant within a session: runs in this process are kept apart here.
      if (held.has(name)) return undefined;
      held.add(name);
      try {
        const session = await connect();
        const key = keyOf(target);
        const got = (await session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', key)).rows[0]?.ok === true;
        if (!got) return undefined;
        try {
          return await work();
        } finally {
          await session.query('SELECT pg_advisory_unlock($1, $2)', key).catch(() => undefined);
        }
      } finally {
        held.delete(name);
      }
    },
    async close() {
      const last = client;
      client = undefined;
      await last?.end().catch(() => undefined);
    },
  };
}
