import { clip } from '../../schema/common.ts';
import { blockers, promptPath, takeMisnamed } from './facts.ts';
import type { Locate, Rule } from './rule.ts';

/**
 * Every allowed, installed, unblocked tool has `prompts/tool_<tool>.md`: reported once per
 * tool, at the first expert that allows it, listing every expert that does. A misnamed tool
 * prompt (`tool_isues.md`) is reported as an orphan whose hint names the tool, not here.
 */
export const toolPromptMissing: Rule = {
  code: 'tool-prompt-missing',
  needs: 'bot',
  check({ diagnostics, bot, facts }) {
    if (!facts) return;
    const withoutPrompt = new Map<string, { experts: string[]; file: string; at: Locate }>();
    for (const expert of bot.experts) {
      const blocks = blockers(expert.block);
      for (const [index, tool] of expert.allow.entries()) {
        if (facts.renamedInManifest.has(tool) || !facts.installed.has(tool)) continue;
        if (blocks.some((b) => b.regex.test(tool))) continue;
        if (bot.toolPrompts.has(tool) || facts.misnamedFor.has(tool) || bot.refused.has(`tool_${tool}`)) continue;
        const missing = withoutPrompt.get(tool);
        if (missing) missing.experts.push(expert.name);
        else withoutPrompt.set(tool, { experts: [expert.name], file: expert.prompt.file, at: () => expert.prompt.locate(['fexp_allow_tools', index]) });
      }
    }
    for (const [tool, { experts, file, at }] of withoutPrompt) {
      const misnamed = takeMisnamed(bot, `tool_${tool}.md`);
      diagnostics.add('tool-prompt-missing', { file, at: at() }, { tool, experts, misnamed: misnamed === undefined ? undefined : clip(misnamed), create: promptPath(bot, 'tool', tool) });
    }
  },
};
