import { existsSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Diagnostic } from '../../diagnostics/diagnostic.ts';
import type { BuildContext } from '../context.ts';
import type { Entry } from '../discover/discover.ts';
import { loadBot, type BotSource } from './bots.ts';
import type { PendingIntegrations } from './integration-set.ts';

/** How long bots load before the event loop gets a turn (ms): the sandbox's answers wait at most this long. */
const SLICE_MS = 8;

/** One bot loaded ahead: its source (undefined when it did not load) and the diagnostics loading it reported. */
export interface EarlyBot {
  bot: BotSource | undefined;
  load: Diagnostic[];
}

/**
 * Loads bots while the integrations load. The integration stage waits for esbuild and the
 * sandboxed loader process (a large share of a cold build's wall time, docs/performance.md,
 * "Cold build"), during which the main thread has nothing else to do; loading the bots does
 * not depend on the integrations, so they load meanwhile, a few milliseconds at a time, the
 * event loop taking a turn in between so that the integration stage goes on as soon as its
 * answers come.
 *
 * Only when no bot can be reused from the cache (no cache, or no bot entry stored): a reused
 * bot is not loaded at all, and which bots are reused is known only once the integrations
 * are. Each bot's load diagnostics are reported as loading it reports them (the build sorts
 * all diagnostics at the end) and also kept with it, as the build keeps them per bot.
 */
export class EarlyBots {
  private readonly loaded = new Map<string, EarlyBot>();
  private next = 0;

  constructor(
    private readonly ctx: BuildContext,
    private readonly dirs: readonly Entry[],
  ) {}

  /**
   * Waits for the integration stage, loading bots in the meantime. Whatever goes wrong, the
   * schema worker the stage started is stopped before the error goes on.
   */
  async during(work: Promise<PendingIntegrations>): Promise<PendingIntegrations> {
    const cache = this.ctx.cache;
    if (cache && existsSync(path.join(cache.dir, 'bot'))) return work;
    let done = false;
    const settled = work.then(
      () => (done = true),
      () => (done = true),
    );
    try {
      while (!done && this.next < this.dirs.length) {
        const started = performance.now();
        while (this.next < this.dirs.length && performance.now() - started < SLICE_MS) this.loadNext();
        await nextTurn();
      }
    } catch (error) {
      await settled;
      await work.then((pending) => pending.schemas.close(), () => undefined);
      throw error;
    }
    return work;
  }

  /** The bot of `dir` if it was loaded ahead (once), else undefined. */
  take(dir: Entry): EarlyBot | undefined {
    const early = this.loaded.get(dir.path);
    this.loaded.delete(dir.path);
    return early;
  }

  private loadNext(): void {
    const dir = this.dirs[this.next++]!;
    const mark = this.ctx.diagnostics.mark;
    const bot = loadBot(this.ctx, dir);
    this.loaded.set(dir.path, { bot, load: this.ctx.diagnostics.items.slice(mark) });
  }
}
