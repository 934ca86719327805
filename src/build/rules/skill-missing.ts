import { didYouMean } from '../../diagnostics/hints.ts';
import { clip } from '../../schema/common.ts';
import { promptPath, takeMisnamed } from './facts.ts';
import type { Rule } from './rule.ts';

/** Every skill an expert names has its `skill_<name>.md` (a refused file was already reported). */
export const skillMissing: Rule = {
  code: 'skill-missing',
  needs: 'bot',
  check({ diagnostics, bot }) {
    for (const expert of bot.experts) {
      for (const [index, skill] of expert.skills.entries()) {
        if (bot.skills.has(skill) || bot.refused.has(`skill_${skill}`)) continue;
        const misnamed = takeMisnamed(bot, `skill_${skill}.md`);
        diagnostics.add(
          'skill-missing',
          { file: expert.prompt.file, at: expert.prompt.locate(['fexp_skills', index]) },
          { skill, misnamed: misnamed === undefined ? undefined : clip(misnamed), suggestion: didYouMean(skill, bot.skills.keys()) ?? `create ${promptPath(bot, 'skill', skill)}` },
        );
      }
    }
  },
};
