import type { Diagnostics, Position } from '../../diagnostics/diagnostic.ts';
import type { DiagnosticCode } from '../../diagnostics/registry.ts';
import type { BotSource } from '../load/bots.ts';
import type { IntegrationSet } from '../load/integrations.ts';
import type { BotFacts } from './facts.ts';

/** What a cross-file rule reads: one bot, what is derived from it, and (for method rules) the integrations. */
export interface RuleContext {
  diagnostics: Diagnostics;
  bot: BotSource;
  /** Derived from a usable manifest; undefined when the manifest is missing or broken. */
  facts: BotFacts | undefined;
  /** The resolved integrations; present for rules with `needs: 'integrations'`. */
  integrations: IntegrationSet | undefined;
}

/**
 * A cross-file rule: one diagnostic code, checked by one small function. `needs` says when it
 * can run: `bot` rules right after a bot loads, `integrations` rules once the integrations are
 * resolved (they compare the bot's method ids with what the modules declare).
 */
export interface Rule {
  code: DiagnosticCode;
  needs: 'bot' | 'integrations';
  check: (ctx: RuleContext) => void;
}

/** Where a located problem is; positions are computed only when reported (locating re-parses). */
export type Locate = () => Position;
