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
 * Opens the locks' connections (`sessions` of them, opened as streams need them). `onError` hears about a connection that broke (the locks it held
 * are gone then; runs in flight finish, and the store's slot claim still keeps each interval to
 * one run); the next `exclusive` reconnects.
 */
export async function openStreamLocks(connectionString: string, onError?: (error: Error) => void, sessions = 4): Promise<StreamLocks> {
  // Several sessions, each stream always on the same one: one connection would queue every
  // run's lock and unlock behind the others'.
  // Promises, so that two runs needing one session at once open it once.
  const clients: (Promise<pg.Client> | undefined)[] = Array.from({ length: sessions }, () => undefined);
  let scope = '';
  const held = new Set<string>();
  const connect = (index: number): Promise<pg.Client> => {
    const existing = clients[index];
    if (existing) return existing;
    const slot: { opening?: Promise<pg.Client> } = {};
    const open = async () => {
      const next = new pg.Client({ connectionString, application_name: 'botc-sync-locks' });
      next.on('error', (error) => {
        if (clients[index] === slot.opening) clients[index] = undefined;
        onError?.(error);
      });
      try {
        await next.connect();
        // Stores in different schemas of one database are different stores: their locks differ too.
        scope = (await next.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]?.schema ?? '';
      } catch (error) {
        if (clients[index] === slot.opening) clients[index] = undefined;
        await next.end().catch(() => undefined);
        throw error;
      }
      return next;
    };
    slot.opening = open();
    clients[index] = slot.opening;
    return slot.opening;
  };
  const keyOf = (t: SyncTarget): { key: [number, number]; session: number } => {
    const digest = createHash('sha256').update(`botc-sync\n${scope}\n${t.tenant}\n${t.provider}\n${t.stream.name}`).digest();
    return { key: [digest.readInt32BE(0), digest.readInt32BE(4)], session: digest.readUInt32BE(8) % sessions };
  };
  await connect(0);
  return {
    async exclusive(target, work) {
      const name = `${target.tenant}/${target.provider}/${target.stream.name}`;
      // Advisory locks are re-entrant within a session: runs in this process are kept apart here.
      if (held.has(name)) return undefined;
      held.add(name);
      try {
        const { key, session: index } = keyOf(target);
        const session = await connect(index);
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
      const open = clients.splice(0, clients.length, ...clients.map(() => undefined));
      await Promise.all(open.map(async (c) => (await c?.catch(() => undefined))?.end().catch(() => undefined)));
    },
  };
}
