import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../../diagnostics/diagnostic.ts';
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
  tools: string[];
  refs: string[];
  diagnostics: Record<BotStage, Diagnostic[]>;
}

/** Workspace sources every bot's bundle may depend on, besides the bot's own folder. */
const SHARED_SOURCES = ['integrations', 'prompts', 'botc.config.json', 'botc.lock.json'];
const SKIPPED = new Set(['node_modules', '.botc', '.git']);

/**
 * Per-bot reuse for `botc build` and `botc check` (builds that hand no bundle back). A bot's
 * key is the sha256 of botc's version, everything outside `bots/` that a bundle can depend on
 * (the integration registry, modules and their helpers, the common blocks, the config and the
 * lock, walked without following links, plus the declarations the modules returned and their
 * pins), and every entry of the bot's own folder. A bot is reused only when its entry is valid
 * and, for a build that writes, its bundle file is still in the output folder with the
 * recorded sha256; the build then keeps that file as it is and replays the bot's diagnostics
 * at the stages they were first reported, so the result is the one a full build gives.
 */
export class BotReuse {
  private readonly keys = new Map<string, string>();
  private readonly fresh = new Map<string, StoredBot>();

  private constructor(
    private readonly cache: BuildCache,
    private readonly root: string,
    private readonly shared: string,
    /** The output folder, when the build writes. */
    private readonly outDir: string | undefined,
    private readonly digests: ReadonlyMap<string, string> | undefined,
  ) {}

  /**
   * The reuse of a build, given what the integration stage produced (`integrations`: any JSON
   * value that changes whenever the declarations or pins do). `digests`: the sha256 of files
   * already hashed in this build (by workspace-relative path), which are then not read again.
   */
  static open(cache: BuildCache, root: string, outDir: string | undefined, integrations: unknown, digests?: ReadonlyMap<string, string>): BotReuse {
    const hash = createHash('sha256');
    hash.update(botcVersionTag());
    for (const name of SHARED_SOURCES) walk(hash, root, name, 0, digests);
    hash.update(`\u0000I${JSON.stringify(integrations) ?? ''}`);
    return new BotReuse(cache, root, hash.digest('hex'), outDir, digests);
  }

  /** The key of a bot: the shared sources and the bot's own folder. */
  keyOf(bot: string): string {
    let key = this.keys.get(bot);
    if (key === undefined) {
      const hash = createHash('sha256');
      walk(hash, this.root, `bots/${bot}`, 0, this.digests);
      key = cacheKey('bot', this.shared, bot, hash.digest('hex'));
      this.keys.set(bot, key);
    }
    return key;
  }

  /** The stored result of a bot whose inputs are unchanged and whose bundle file is in place, else undefined. */
  lookup(bot: string): StoredBot | undefined {
    const stored = this.cache.get<StoredBot>('bot', this.keyOf(bot));
    if (!isStoredBot(stored)) return undefined;
    if (this.outDir === undefined) return stored;
    if (stored.sha256 === undefined) return undefined;
    const file = path.join(this.outDir, `${bot}.bundle.json`);
    if (lstatSync(file, { throwIfNoEntry: false })?.isFile() !== true) return undefined;
    try {
      return sha256Hex(readFileSync(file)) === stored.sha256 ? stored : undefined;
    } catch {
      return undefined;
    }
  }

  /** Remembers a bot built in this build; stored by `store` once its bundle file's digest is known. */
  remember(bot: string, value: StoredBot): void {
    this.fresh.set(bot, value);
  }

  /**
   * Puts the remembered bots in the cache (written with the build's other entries, only when
   * the build is free of errors). `outputs` maps bundle file names to the sha256 of their bytes.
   */
  store(outputs: Record<string, string> | undefined): void {
    for (const [bot, value] of this.fresh) {
      const sha256 = outputs?.[`${bot}.bundle.json`];
      if (this.outDir !== undefined && sha256 === undefined) continue;
      this.cache.put('bot', this.keyOf(bot), sha256 === undefined ? value : { ...value, sha256 });
    }
    this.fresh.clear();
  }
}

/** Adds the path, kind and content of `relative` (and, for a folder, of every entry under it) to `hash`. */
function walk(hash: ReturnType<typeof createHash>, root: string, relative: string, depth: number, digests: ReadonlyMap<string, string> | undefined): void {
  const full = path.join(root, relative);
  const stat = lstatSync(full, { throwIfNoEntry: false });
  if (!stat) {
    hash.update(`\u0000A ${relative}`);
  } else if (stat.isSymbolicLink()) {
    hash.update(`\u0000L ${relative}\u0000${safe(() => readlinkSync(full))}`);
  } else if (stat.isDirectory()) {
    hash.update(`\u0000D ${relative}`);
    if (depth > 64) return;
    let names: string[] = [];
    try {
      names = readdirSync(full).sort();
    } catch {
      hash.update('\u0000unreadable');
    }
    for (const name of names) if (!SKIPPED.has(name)) walk(hash, root, `${relative}/${name}`, depth + 1, digests);
  } else if (stat.isFile()) {
    hash.update(`\u0000F ${relative}\u0000${digests?.get(relative) ?? safe(() => sha256Hex(readFileSync(full)))}`);
  } else {
    hash.update(`\u0000O ${relative}`);
  }
}

function safe(read: () => string): string {
  try {
    return read();
  } catch {
    return '\u0000unreadable';
  }
}

/** A stored entry has the shape `StoredBot` (an entry of the right format could still be hand-made). */
function isStoredBot(value: unknown): value is StoredBot {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<StoredBot>;
  const strings = (list: unknown) => Array.isArray(list) && list.every((s) => typeof s === 'string');
  return (
    typeof v.digest === 'string' &&
    (v.sha256 === undefined || typeof v.sha256 === 'string') &&
    strings(v.tools) &&
    strings(v.refs) &&
    v.diagnostics !== null &&
    typeof v.diagnostics === 'object' &&
    BOT_STAGES.every((stage) => Array.isArray(v.diagnostics![stage]) && v.diagnostics![stage].every((d) => d !== null && typeof d === 'object' && typeof d.message === 'string' && typeof d.file === 'string'))
  );
}
