import { randomBytes } from 'node:crypto';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { describe, expect, it } from 'vitest';
import { createSharedQueue } from '../src/inbound/pg-scheduler.ts';
import { PG_URL, postgresBackend } from './helpers/stores.ts';

/**
 * Workers on several machines start at the same time (a deployment, a restart). pg-boss's queue
 * creation deadlocks (40P01) when several connections run it at once — six workers creating
 * their shared queue together fail this way nearly every time — so botc creates the queue
 * under a lock, one worker after the other.
 */
describe.runIf(PG_URL)('sync workers starting at once on PostgreSQL', () => {
  it('six workers creating the shared queue together all succeed', async () => {
    const db = await postgresBackend.open();
    const schema = `botc_jobs_start_${randomBytes(4).toString('hex')}`;
    const bosses = Array.from({ length: 6 }, () => new PgBoss({ connectionString: db.url, schema, max: 2, schedule: false, supervise: false }));
    try {
      await Promise.all(bosses.map((boss) => boss.start()));
      for (const queue of ['botc-sync-a', 'botc-sync-b', 'botc-sync-c']) {
        const settled = await Promise.allSettled(bosses.map((boss) => createSharedQueue(boss, db.url, schema, queue)));
        expect(settled.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason))).toEqual([]);
        expect(await bosses[0]!.getQueue(queue)).toMatchObject({ name: queue });
      }
    } finally {
      await Promise.all(bosses.map((boss) => boss.stop({ graceful: false, wait: true }).catch(() => undefined)));
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
      await db.dispose();
    }
  }, 30_000);
});
