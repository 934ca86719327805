import { didYouMean, listNames } from '../../diagnostics/hints.ts';
import type { Rule } from './rule.ts';

/** Every tool an expert allows is installed by the bot (a tool renamed in the manifest is reported there instead). */
export const allowUnknownTool: Rule = {
  code: 'allow-unknown-tool',
  needs: 'bot',
  check({ diagnostics, bot, facts }) {
    if (!facts) return;
    const { installed, renamedInManifest } = facts;
    for (const expert of bot.experts) {
      for (const [index, tool] of expert.allow.entries()) {
        if (renamedInManifest.has(tool) || installed.has(tool)) continue;
        diagnostics.add(
          'allow-unknown-tool',
          { file: expert.prompt.file, at: expert.prompt.locate(['fexp_allow_tools', index]) },
          { expert: expert.name, tool, bot: bot.id, suggestion: didYouMean(tool, installed.keys()) ?? `installed tools: ${listNames([...installed.keys()])}` },
        );
      }
    }
  },
};
