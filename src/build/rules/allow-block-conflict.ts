import { blockers } from './facts.ts';
import type { Rule } from './rule.ts';

/** No installed tool is both allowed by an expert and matched by the same expert's block list. */
export const allowBlockConflict: Rule = {
  code: 'allow-block-conflict',
  needs: 'bot',
  check({ diagnostics, bot, facts }) {
    if (!facts) return;
    for (const expert of bot.experts) {
      const blocks = blockers(expert.block);
      for (const [index, tool] of expert.allow.entries()) {
        if (facts.renamedInManifest.has(tool) || !facts.installed.has(tool)) continue;
        const blocker = blocks.find((b) => b.regex.test(tool));
        if (!blocker) continue;
        diagnostics.add('allow-block-conflict', { file: expert.prompt.file, at: expert.prompt.locate(['fexp_allow_tools', index]) }, { tool, pattern: blocker.pattern });
      }
    }
  },
};
