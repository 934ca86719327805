import path from 'node:path';
import { closest } from '../../diagnostics/hints.ts';
import type { BotSource } from '../load/bots.ts';
import { BLOCK_PATTERN, globToRegExp } from '../load/glob.ts';

/**
 * What the cross-file rules of one bot agree on, computed once before they run (no diagnostics
 * here): which tools are installed, which experts allow each name, and how typos are read.
 */
export interface BotFacts {
  /** Installed tool name → its index in the manifest's `tools`. */
  installed: Map<string, number>;
  /** Allowed tool name → the experts that allow it, in expert order. */
  allowers: Map<string, string[]>;
  /**
   * A tool renamed by a typo in the manifest: the experts and the tool prompt agree on the name
   * it had, and outvote the manifest. Meant name → installed (misspelt) name. That is one error
   * at the manifest, not one per expert and prompt.
   */
  renamedInManifest: Map<string, string>;
  /** Installed tools that a misnamed tool prompt (`tool_isues.md`) was meant for. */
  misnamedFor: Set<string>;
  /** Installed tools some expert allows, counting near misses and manifest typos as allowed. */
  allowedSomewhere: Set<string>;
}

/** The facts of a bot with a usable manifest; undefined without one. */
export function botFacts(bot: BotSource): BotFacts | undefined {
  const manifest = bot.manifest;
  if (!manifest) return undefined;
  const installed = new Map(manifest.tools.map((t, i) => [t.name, i]));
  const allowers = new Map<string, string[]>();
  for (const expert of bot.experts) for (const tool of expert.allow) allowers.set(tool, [...(allowers.get(tool) ?? []), expert.name]);

  const renamedInManifest = new Map<string, string>();
  for (const name of new Set([...allowers.keys(), ...bot.toolPrompts.keys()])) {
    if (installed.has(name)) continue;
    const typo = closest(name, installed.keys());
    if (typo === undefined || renamedInManifest.has(name)) continue;
    const votesFor = (allowers.get(name)?.length ?? 0) + (bot.toolPrompts.has(name) ? 1 : 0);
    const votesAgainst = 1 + (allowers.get(typo)?.length ?? 0) + (bot.toolPrompts.has(typo) ? 1 : 0);
    if (votesFor > votesAgainst) renamedInManifest.set(name, typo);
  }
  const misnamedFor = new Set([...bot.toolPrompts.keys()].filter((n) => !installed.has(n) && !renamedInManifest.has(n)).flatMap((n) => closest(n, installed.keys()) ?? []));
  const allowedSomewhere = new Set<string>(renamedInManifest.values());
  for (const expert of bot.experts) {
    for (const tool of expert.allow) {
      if (renamedInManifest.has(tool)) continue;
      // A near miss names the tool the author meant: one typo is one diagnostic, not also `tool-unreachable`.
      const meant = installed.has(tool) ? tool : closest(tool, installed.keys());
      if (meant !== undefined) allowedSomewhere.add(meant);
    }
  }
  return { installed, allowers, renamedInManifest, misnamedFor, allowedSomewhere };
}

/** The expert's block patterns that are well formed, compiled. */
export function blockers(block: readonly string[]): { pattern: string; regex: RegExp }[] {
  return block.filter((p) => BLOCK_PATTERN.test(p)).map((p) => ({ pattern: p, regex: globToRegExp(p) }));
}

/**
 * The misnamed files that were meant to be `expected`, consumed so that each is reported once,
 * with the diagnostic it explains; their names as one phrase, or undefined when there are none.
 */
export function takeMisnamed(bot: BotSource, expected: string): string | undefined {
  const files = [...bot.misnamed].filter(([, meant]) => meant === expected).map(([file]) => file);
  for (const file of files) bot.misnamed.delete(file);
  return files.length === 0 ? undefined : files.map((file) => path.posix.basename(file)).join(' or ');
}

/** Where a bot's prompt of `kind` and `name` is written. */
export function promptPath(bot: BotSource, kind: string, name: string): string {
  return `bots/${bot.id}/prompts/${kind}_${name}.md`;
}
