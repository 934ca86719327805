import { lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../../diagnostics/diagnostic.ts';
import { fingerprint, type SourceWalk } from './build-cache.ts';
import { botcVersionTag, cacheKey, sha256Hex, type BuildCache } from './cache.ts';

/** The stages of a build at which one bot's diagnostics are reported, in build order. */
export const BOT_STAGES = ['load', 'check', 'resolve', 'assemble'] as const;
export type BotStage = (typeof BOT_STAGES)[number];

/**
 * What a successful build remembers of one bot, so that the next build can skip loading,
 * checking and assembling it when none of its inputs changed: the bundle's digest and the
 * sha256 of the file written, the manifest's tool names and method ids (for the checks that
 * span bots), and the bot's own diagnostics (warnings only: a build with errors stores
 * nothing), per stage, in the order they were reported.
 */
export interface StoredBot {
  digest: string;
  /** sha256 of the bundle file's bytes; undefined for a build that wrote nothing (`check`). */
  sha256?: string;
  /**
   * The bundle file's inode, size, mtime and ctime (`fingerprint`), taken before its sha256:
   * a file whose four are unchanged is not read again. Any write, replacement or `touch`
   * changes the ctime, and the file is then hashed and compared.
   */
  stat?: string;
  tools: string[];
  refs: string[];
  diagnostics: Record<BotStage, Diagnostic[]>;
}

/** Workspace sources every bot's bundle may depend on, besides the bot's own folder. */
const SHARED_SOURCES = ['integrations', 'prompts', 'botc.config.json', 'botc.lock.json'];

/**
 * Per-bot reuse for `botc build` and `botc check` (builds that hand no bundle back). A bot's
 * key is the sha256 of botc's version, everything outside `bots/` that a bundle can depend on
 * (the integration registry, modules and their helpers, the common blocks, the config and the
 * lock, walked without following links, plus the declarations the modules returned and their
 * pins), and every entry of the bot's own folder. A bot is reused only when its entry is valid
 * and, for a build that writes, its bundle file is still in the output folder with the
 * recorded sha256; the build then keeps that file as it is and replays the bot's diagnostics
 * at the stages they were first reported, so the result is the one a full build gives.
 *
 * The bots are stored together, one entry per state of the shared sources (`bot` entries
 * keyed by the shared part alone), each bot under its name with its own key: a rebuild reads
 * one entry, not one per bot.
 */
export class BotReuse {
  private readonly keys = new Map<string, string>();
  private readonly fresh = new Map<string, StoredBot>();
  /** The stored bots of this state of the shared sources, by bot name; read on first lookup. */
  private index: Map<string, { key: string; value: StoredBot }> | undefined;
  /** Bots looked up and found in this build, by name (carried into the next index). */
  private readonly found = new Map<string, StoredBot>();
  /** Bundle files of reused bots whose fingerprint matched: not read again after the build. */
  private readonly reused = new Map<string, { stat: string; sha256: string }>();

  private constructor(
    private readonly cache: BuildCache,
    private readonly shared: string,
    /** The output folder, when the build writes. */
    private readonly outDir: string | undefined,
    private readonly walk: SourceWalk,
  ) {}

  /**
   * The reuse of a build, given what the integration stage produced (`integrations`: any JSON
   * value that changes whenever the declarations or pins do) and the walk of the sources that
   * made the whole-build key (`wholeBuildKey`): its parts under the shared sources and under
   * each bot's folder make the keys, so no source is listed or read again.
   */
  static open(cache: BuildCache, outDir: string | undefined, integrations: unknown, walk: SourceWalk): BotReuse {
    const parts = [botcVersionTag()];
    for (const name of SHARED_SOURCES) parts.push(name, JSON.stringify(walk.sections.get(name) ?? []));
    parts.push(JSON.stringify(integrations) ?? '');
    return new BotReuse(cache, cacheKey('bot-shared', ...parts), outDir, walk);
  }

  /** The key of a bot: the shared sources and the bot's own folder. */
  keyOf(bot: string): string {
    let key = this.keys.get(bot);
    if (key === undefined) {
      key = cacheKey('bot', this.shared, bot, JSON.stringify(this.walk.sections.get(`bots/${bot}`) ?? null));
      this.keys.set(bot, key);
    }
    return key;
  }

  /** The stored result of a bot whose inputs are unchanged and whose bundle file is in place, else undefined. */
  lookup(bot: string): StoredBot | undefined {
    const stored = this.stored().get(bot);
    if (stored === undefined || stored.key !== this.keyOf(bot)) return undefined;
    const found = this.check(bot, stored.value);
    if (found) this.found.set(bot, found);
    return found;
  }

  /** The stored bots of this state of the shared sources (entries that do not have the shape of `StoredBot` left out). */
  private stored(): Map<string, { key: string; value: StoredBot }> {
    if (this.index) return this.index;
    const entry = this.cache.get<StoredIndex>('bot', this.indexKey);
    this.index = new Map();
    const bots = entry !== null && typeof entry === 'object' ? entry.bots : undefined;
    if (bots !== null && typeof bots === 'object' && !Array.isArray(bots)) {
      for (const [name, item] of Object.entries(bots)) {
        if (item !== null && typeof item === 'object' && typeof item.key === 'string' && isStoredBot(item.value)) this.index.set(name, item);
      }
    }
    return this.index;
  }

  private get indexKey(): string {
    return cacheKey('bot-index', this.shared);
  }

  /** `stored` when its bundle file is in place (for a build that writes), else undefined. */
  private check(bot: string, stored: StoredBot): StoredBot | undefined {
    if (this.outDir === undefined) return stored;
    if (stored.sha256 === undefined) return undefined;
    const file = path.join(this.outDir, `${bot}.bundle.json`);
    const stat = lstatSync(file, { throwIfNoEntry: false, bigint: true });
    if (stat?.isFile() !== true) return undefined;
    if (stored.stat !== undefined && stored.stat === fingerprint(stat)) {
      this.reused.set(`${bot}.bundle.json`, { stat: stored.stat, sha256: stored.sha256 });
      return stored;
    }
    try {
      return sha256Hex(readFileSync(file)) === stored.sha256 ? stored : undefined;
    } catch {
      return undefined;
    }
  }

  /** Bundle files (by name) of the bots reused whose fingerprint matched, with that fingerprint and their sha256 (for `outputRecords`). */
  get reusedOutputs(): ReadonlyMap<string, { stat: string; sha256: string }> {
    return this.reused;
  }

  /** Remembers a bot built in this build; stored by `store` once its bundle file's digest is known. */
  remember(bot: string, value: StoredBot): void {
    this.fresh.set(bot, value);
  }

  /**
   * Puts the remembered bots in the cache (written with the build's other entries, only when
   * the build is free of errors). `outputs` maps bundle file names to the sha256 of their
   * bytes, `stats` to their fingerprints.
   */
  store(outputs: Record<string, string> | undefined, stats?: Record<string, string>): void {
    // Bots this build did not look at (a `--bot` build) keep their entries while their folder is there.
    const bots: Record<string, { key: string; value: StoredBot }> = {};
    for (const [bot, item] of this.stored()) {
      if (!this.keys.has(bot) && this.walk.sections.has(`bots/${bot}`)) bots[bot] = item;
    }
    for (const [bot, value] of this.found) {
      // A reused bundle hashed again (its fingerprint had changed, its bytes had not) gets its new fingerprint.
      const stat = stats?.[`${bot}.bundle.json`];
      const same = stat !== undefined && outputs?.[`${bot}.bundle.json`] === value.sha256;
      bots[bot] = { key: this.keyOf(bot), value: same ? { ...value, stat } : value };
    }
    for (const [bot, value] of this.fresh) {
      const name = `${bot}.bundle.json`;
      const sha256 = outputs?.[name];
      if (this.outDir !== undefined && sha256 === undefined) continue;
      const stat = stats?.[name];
      bots[bot] = { key: this.keyOf(bot), value: sha256 === undefined ? value : { ...value, sha256, ...(stat === undefined ? {} : { stat }) } };
    }
    this.fresh.clear();
    this.cache.put('bot', this.indexKey, { bots } satisfies StoredIndex);
  }
}

/** The stored bots of one state of the shared sources, by bot name, each with its key. */
interface StoredIndex {
  bots: Record<string, { key: string; value: StoredBot }>;
}

/** A stored entry has the shape `StoredBot` (an entry of the right format could still be hand-made). */
function isStoredBot(value: unknown): value is StoredBot {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<StoredBot>;
  const strings = (list: unknown) => Array.isArray(list) && list.every((s) => typeof s === 'string');
  return (
    typeof v.digest === 'string' &&
    (v.sha256 === undefined || typeof v.sha256 === 'string') &&
    (v.stat === undefined || typeof v.stat === 'string') &&
    strings(v.tools) &&
    strings(v.refs) &&
    v.diagnostics !== null &&
    typeof v.diagnostics === 'object' &&
    BOT_STAGES.every((stage) => Array.isArray(v.diagnostics![stage]) && v.diagnostics![stage].every((d) => d !== null && typeof d === 'object' && typeof d.message === 'string' && typeof d.file === 'string'))
  );
}
