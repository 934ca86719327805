import { runStream, type PageFetcher, type SyncOptions, type SyncOutcome, type SyncTarget } from './sync.ts';
import type { StateStore } from '../state/types.ts';

/**
 * What a long-running sync worker needs, whichever scheduler drives it (the in-process one on
 * SQLite, the PostgreSQL job queue in src/inbound/pg-scheduler.ts).
 */
export interface SchedulerOptions {
  store: StateStore;
  /** Every (tenant, provider, stream) this worker serves. */
  targets: readonly SyncTarget[];
  fetchPage: PageFetcher;
  /** Stops the worker: no new run starts; the promise resolves once the runs in flight ended. */
  signal: AbortSignal;
  /** Called after every run of a stream, whatever its outcome (`not_due` and `busy` included). */
  onOutcome?: (target: SyncTarget, outcome: SyncOutcome) => void;
  /** Called when a run or the scheduler itself failed unexpectedly (the store unreachable, ...); the worker goes on. */
  onError?: (error: Error, target?: SyncTarget) => void;
  /** Milliseconds since the epoch; tests only. */
  now?: () => number;
  /** Passed on to every run (tests shorten nothing else). */
  sync?: SyncOptions;
}

/** The longest single wait of a scheduler's timer: streams may run every 31 days, timers cannot wait that long. */
const MAX_WAIT_MS = 60_000;
/** How soon a stream that was `busy` (its previous run still in flight elsewhere) is tried again. */
const BUSY_RETRY_MS = 1_000;

/** The start of the interval after the one `at` falls in, in milliseconds since the epoch. */
export const nextSlotStart = (target: SyncTarget, at: number): number => {
  const intervalMs = target.stream.interval_seconds * 1000;
  return (Math.floor(at / intervalMs) + 1) * intervalMs;
};

/** One run of one stream with the worker's callbacks; never throws. */
export async function runOne(options: SchedulerOptions, target: SyncTarget): Promise<SyncOutcome | undefined> {
  try {
    const outcome = await runStream(options.store, target, options.fetchPage, { ...options.sync, ...(options.now ? { now: options.now } : {}) });
    options.onOutcome?.(target, outcome);
    return outcome;
  } catch (error) {
    // The store went away mid-run: the slot's claim (if written) makes the next interval go on
    // from the last committed page, as after a crash.
    options.onError?.(error instanceof Error ? error : new Error(String(error)), target);
    return undefined;
  }
}

/**
 * The in-process scheduler for one machine (the SQLite store): each stream runs at the start of
 * every interval (`interval_seconds`, cut from the epoch as the store's slot claim cuts it), and
 * right away when the worker starts. A stream never has two runs in flight in this process; the
 * slot claim in the store (src/inbound/sync.ts) keeps it to one run per interval even when
 * several processes share the file. Resolves when `signal` aborts and the runs in flight ended.
 */
export async function runLocalScheduler(options: SchedulerOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const dueAt = new Map<SyncTarget, number>(options.targets.map((t) => [t, now()]));
  const inFlight = new Set<Promise<void>>();
  const running = new Set<SyncTarget>();
  let wake: () => void = () => undefined;
  const onAbort = () => wake();
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (!options.signal.aborted) {
      const at = now();
      for (const target of options.targets) {
        if (running.has(target) || dueAt.get(target)! > at) continue;
        running.add(target);
        dueAt.set(target, nextSlotStart(target, at));
        const run = runOne(options, target).then((outcome) => {
          running.delete(target);
          if (outcome?.status === 'busy') dueAt.set(target, Math.min(dueAt.get(target)!, now() + BUSY_RETRY_MS));
          inFlight.delete(run);
          wake();
        });
        inFlight.add(run);
      }
      const waiting = options.targets.filter((t) => !running.has(t)).map((t) => dueAt.get(t)!);
      const wait = Math.min(MAX_WAIT_MS, Math.max(0, Math.min(...waiting, Infinity) - now()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
        if (options.signal.aborted) wake();
      });
    }
    await Promise.all(inFlight);
  } finally {
    options.signal.removeEventListener('abort', onAbort);
  }
}
