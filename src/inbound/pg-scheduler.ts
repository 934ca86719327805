import { createHash } from 'node:crypto';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { nextSlotStart, runOne, type SchedulerOptions } from './scheduler.ts';
import { openStreamLocks, type StreamLocks } from './stream-lock.ts';
import type { SyncTarget } from './sync.ts';

/** Where the shared schedule lives, and how a worker polls it. */
export interface PgSchedulerOptions extends SchedulerOptions {
  /** The PostgreSQL URL of the state store; the job queue lives in the same database. */
  connectionString: string;
  /**
   * The schema of the job queue's tables. Default: `botc_jobs` when the store is in `public`,
   * else `<the store's schema>_jobs`, so a store kept in a schema of its own has its own queue.
   */
  schema?: string;
  /** How often an idle worker asks the queue for due runs, in seconds (default 1, at least 0.5). */
  pollingSeconds?: number;
  /** How often each worker puts every stream's current and next interval in the queue again, in ms (default 60 000). */
  reseedMs?: number;
}

/** The job that runs one stream for one interval. */
interface SyncJob {
  tenant: string;
  provider: string;
  stream: string;
  /** The interval (slot) the job is for: `floor(ms since the epoch / interval)`. */
  slot: number;
}

/** Jobs one fetch takes from the queue. */
const BATCH = 8;
/**
 * Runs one worker has in flight at most: the store's connections (10), as more would only queue
 * for them. A fetched job is handed to a run and the fetch loop goes on: waiting for a whole
 * batch to end would let one slow run hold back the jobs fetched with it. A worker at its limit
 * stops fetching, and the other workers take the jobs.
 */
const MAX_RUNS = 10;
/** How soon a run finding its stream busy tries again (within the same interval only). */
const BUSY_RETRY_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The shared scheduler on PostgreSQL: the schedule is kept in a pg-boss job queue in the store's
 * database, so any number of workers on any number of machines share it.
 *
 * - Each (tenant, provider, stream) has one job per interval: the job's id is derived from the
 *   stream and the interval's number, and pg-boss inserts a job whose id exists as a no-op. The
 *   job waits in the queue until its interval starts (`startAfter`), and exactly one worker
 *   fetches it (pg-boss's `SKIP LOCKED` fetch).
 * - A job puts the stream's next interval in the queue before it runs, so the schedule goes on
 *   when a worker dies mid-run. Every worker also puts each stream's current and next
 *   interval in at start and every `reseedMs`: a schedule lost with a failed insert comes back.
 * - The run itself still claims its interval in the store (src/inbound/sync.ts), so even a job
 *   fetched twice (a queue in another schema, workers with other streams, an expired job run
 *   again) runs a stream at most once per interval: correctness does not rest on the queue.
 * - Jobs are not retried: a failed run is audited and waits for the next interval.
 *
 * The queue is named for the set of streams (and intervals) the worker serves: workers started
 * with the same registry and tenants share one; a worker that serves other streams never
 * fetches a job it cannot run. Resolves when `signal` aborts and the runs in flight ended.
 */
export async function runPgScheduler(options: PgSchedulerOptions): Promise<void> {
  const schema = options.schema ?? (await queueSchema(options.connectionString));
  const byKey = new Map(options.targets.map((t) => [jobKey(t), t]));
  const served = options.targets.map((t) => `${jobKey(t)}@${t.stream.interval_seconds}`).sort();
  const queue = `botc-sync-${createHash('sha256').update(served.join('\n')).digest('hex').slice(0, 16)}`;
  // A completed job is kept (not archived) for two of the longest intervals: while it is, putting
  // its interval in again is a no-op.
  const keepSeconds = Math.max(12 * 3600, ...options.targets.map((t) => 2 * t.stream.interval_seconds));
  const boss = new PgBoss({ connectionString: options.connectionString, schema, max: 4, application_name: 'botc-sync', schedule: false, archiveCompletedAfterSeconds: keepSeconds });
  boss.on('error', (error) => options.onError?.(error));
  const inFlight = new Set<Promise<void>>();
  let reseed: NodeJS.Timeout | undefined;
  await boss.start();
  let opened: StreamLocks | undefined;
  try {
    const locks = await openStreamLocks(options.connectionString, (error) => options.onError?.(error));
    opened = locks;
    await createSharedQueue(boss, options.connectionString, schema, queue);
    const job = (target: SyncTarget, slot: number) => {
      const intervalMs = target.stream.interval_seconds * 1000;
      const data: SyncJob = { tenant: target.tenant, provider: target.provider, stream: target.stream.name, slot };
      return {
        id: jobId(queue, target, slot),
        name: queue,
        data,
        startAfter: new Date(slot * intervalMs),
        retryLimit: 0,
        // pg-boss marks a job active longer than this failed (it is never retried); the stream's
        // lock, not this, keeps a long run alone.
        expireInSeconds: Math.max(900, 2 * target.stream.interval_seconds),
        singletonKey: jobKey(target),
      };
    };
    const now = options.now ?? Date.now;
    const slotOf = (target: SyncTarget, at: number) => nextSlotStart(target, at) / (target.stream.interval_seconds * 1000) - 1;
    const seed = async () => {
      const at = now();
      try {
        await boss.insert(options.targets.flatMap((t) => [job(t, slotOf(t, at)), job(t, slotOf(t, at) + 1)]));
      } catch (error) {
        options.onError?.(error as Error);
      }
    };
    await seed();
    reseed = setInterval(() => void seed(), options.reseedMs ?? 60_000);
    const handle = async (data: SyncJob) => {
      const target = byKey.get(jobKey(data));
      if (!target || options.signal.aborted) return;
      // The next interval, sent before the run starts (and awaited after it, so it does not
      // delay the run): the schedule survives this worker dying mid-run.
      const chained = boss.insert([job(target, Math.max(data.slot, slotOf(target, now())) + 1)]).catch((error: Error) => options.onError?.(error, target));
      try {
        await runWhenDue(target, data);
      } finally {
        await chained;
      }
    };
    const runWhenDue = async (target: SyncTarget, data: SyncJob) => {
      const intervalMs = target.stream.interval_seconds * 1000;
      // The database's clock released the job; wait out a slightly slower clock here.
      const early = data.slot * intervalMs - now();
      if (early > 0) await sleep(Math.min(early, 5_000));
      // The previous run still going (here or on another machine): try again within the interval.
      for (;;) {
        const result = await locks.exclusive(target, async () => ({ outcome: await runOne(options, target) }));
        const busy = result === undefined || result.outcome?.status === 'busy';
        if (!busy || options.signal.aborted || slotOf(target, now() + BUSY_RETRY_MS) !== slotOf(target, now())) {
          if (result === undefined) options.onOutcome?.(target, { status: 'busy' });
          return;
        }
        await sleep(BUSY_RETRY_MS);
      }
    };
    let freed: () => void = () => undefined;
    await boss.work<SyncJob>(queue, { batchSize: BATCH, pollingIntervalSeconds: Math.max(0.5, options.pollingSeconds ?? 1) }, async (jobs) => {
      for (const j of jobs) {
        while (inFlight.size >= MAX_RUNS) await new Promise<void>((resolve) => (freed = resolve));
        const run: Promise<void> = handle(j.data).catch((error: unknown) => options.onError?.(error instanceof Error ? error : new Error(String(error)))).finally(() => {
          inFlight.delete(run);
          freed();
        });
        inFlight.add(run);
      }
    });
    await new Promise<void>((resolve) => {
      if (options.signal.aborted) resolve();
      else options.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    if (reseed) clearInterval(reseed);
    // Stop fetching, let the runs in flight end, then close the queue's connections.
    await boss.offWork(queue).catch(() => undefined);
    await Promise.allSettled([...inFlight]);
    await boss.stop({ graceful: true, wait: true, close: true, timeout: 10_000 }).catch(() => undefined);
    await opened?.close();
  }
}

/** A stream's key in the queue (tenant names cannot contain `/`). */
const jobKey = (t: SyncTarget | SyncJob): string => ('slot' in t ? `${t.tenant}/${t.provider}/${t.stream}` : `${t.tenant}/${t.provider}/${t.stream.name}`);

/** A UUID (version 8: derived, not random) for one stream's job of one interval in one queue. */
function jobId(queue: string, target: SyncTarget, slot: number): string {
  const hex = createHash('sha256').update(`${queue}\n${jobKey(target)}\n${target.stream.interval_seconds}\n${slot}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The default schema of the job queue for the store a URL reaches (see PgSchedulerOptions.schema). */
async function queueSchema(connectionString: string): Promise<string> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const current = (await client.query<{ schema: string | null }>('SELECT current_schema() AS schema')).rows[0]?.schema ?? 'public';
    return current === 'public' ? 'botc_jobs' : `${current}_jobs`.slice(0, 63);
  } finally {
    await client.end();
  }
}

/**
 * Creates the pg-boss queue `queue` (standard policy, no retries) in `schema`, one worker at a
 * time across processes: pg-boss's queue creation takes table locks in an order that deadlocks
 * (`40P01`) when two connections create a queue at once, as workers started together do. Once
 * the queue exists, creating it again is a no-op.
 */
export function createSharedQueue(boss: PgBoss, connectionString: string, schema: string, queue: string): Promise<void> {
  return oneAtATime(connectionString, `botc-sync-setup:${schema}`, () => boss.createQueue(queue, { name: queue, policy: 'standard', retryLimit: 0 }));
}

/**
 * Runs `work` while this process holds the PostgreSQL advisory lock named `name` (in the
 * single-key lock space, apart from the stream locks' two-key one), so processes doing the same
 * set-up do it one after the other.
 */
async function oneAtATime<T>(connectionString: string, name: string, work: () => Promise<T>): Promise<T> {
  const key = createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
  const client = new pg.Client({ connectionString, application_name: 'botc-sync-setup' });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
    return await work();
  } finally {
    // Closing the session releases the lock, whatever happened to `work`.
    await client.end().catch(() => undefined);
  }
}
