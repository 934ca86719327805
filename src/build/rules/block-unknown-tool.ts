import { didYouMean, listNames } from '../../diagnostics/hints.ts';
import { clip } from '../../schema/common.ts';
import { BLOCK_PATTERN, isGlob } from '../load/glob.ts';
import type { Rule } from './rule.ts';

/** A literal (non-glob) block entry names an installed tool; otherwise it blocks nothing. */
export const blockUnknownTool: Rule = {
  code: 'block-unknown-tool',
  needs: 'bot',
  check({ diagnostics, bot, facts }) {
    if (!facts) return;
    const { installed } = facts;
    for (const expert of bot.experts) {
      for (const [index, pattern] of expert.block.entries()) {
        if (isGlob(pattern) || !BLOCK_PATTERN.test(pattern) || installed.has(pattern)) continue;
        diagnostics.add(
          'block-unknown-tool',
          { file: expert.prompt.file, at: expert.prompt.locate(['fexp_block_tools', index]) },
          {
            pattern: clip(pattern),
            bot: bot.id,
            suggestion: didYouMean(pattern, installed.keys()) ?? `installed tools: ${listNames([...installed.keys()])}; use a glob such as \`*${clip(pattern)}*\` to guard future tools`,
          },
        );
      }
    }
  },
};
