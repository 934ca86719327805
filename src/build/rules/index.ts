import type { BuildContext } from '../context.ts';
import type { BotSource } from '../load/bots.ts';
import type { IntegrationSet } from '../load/integrations.ts';
import { allowBlockConflict } from './allow-block-conflict.ts';
import { allowUnknownTool } from './allow-unknown-tool.ts';
import { blockUnknownTool } from './block-unknown-tool.ts';
import { botFacts } from './facts.ts';
import { lifecycleDeprecated } from './lifecycle-deprecated.ts';
import { lifecycleEndOfSupport } from './lifecycle-end-of-support.ts';
import { methodDeprecated } from './method-deprecated.ts';
import { promptFileMisnamed } from './prompt-file-misnamed.ts';
import type { Rule } from './rule.ts';
import { skillMissing } from './skill-missing.ts';
import { toolPromptMissing } from './tool-prompt-missing.ts';
import { toolPromptOrphan } from './tool-prompt-orphan.ts';
import { toolUnreachable } from './tool-unreachable.ts';
import { unknownMethod } from './unknown-method.ts';

export type { Rule, RuleContext } from './rule.ts';

/**
 * The cross-file rules, one per diagnostic code, run in this order. Adding a rule: write
 * `rules/<code>.ts` exporting a `Rule`, and add it here. Order matters in one place only: the
 * rules that explain a misnamed prompt file (`skill-missing`, `tool-prompt-missing`) consume
 * it, and `prompt-file-misnamed`, last, reports the files no other diagnostic explained.
 */
export const RULES: readonly Rule[] = [
  skillMissing,
  blockUnknownTool,
  allowUnknownTool,
  allowBlockConflict,
  toolPromptMissing,
  toolPromptOrphan,
  toolUnreachable,
  promptFileMisnamed,
  unknownMethod,
  lifecycleEndOfSupport,
  lifecycleDeprecated,
  methodDeprecated,
];

/** Runs the rules of one bot that need only the bot (tools, experts, prompts agree). */
export function checkBot({ diagnostics }: BuildContext, bot: BotSource): void {
  const facts = botFacts(bot);
  for (const rule of RULES) if (rule.needs === 'bot') rule.check({ diagnostics, bot, facts, integrations: undefined });
}

/** Runs the rules of one bot that compare its tools' method ids with the resolved integrations. */
export function checkBotMethods({ diagnostics }: BuildContext, bot: BotSource, integrations: IntegrationSet): void {
  for (const rule of RULES) if (rule.needs === 'integrations') rule.check({ diagnostics, bot, facts: undefined, integrations });
}
