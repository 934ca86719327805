import path from 'node:path';
import { clip } from '../../schema/common.ts';
import type { Rule } from './rule.ts';

/**
 * Files that look like prompts but break the layout, and that no other diagnostic already
 * explained (rules earlier in the list consume the ones they name): last in the list.
 */
export const promptFileMisnamed: Rule = {
  code: 'prompt-file-misnamed',
  needs: 'bot',
  check({ diagnostics, bot }) {
    const loaded = new Set([...bot.experts.map((e) => e.prompt), ...bot.skills.values(), ...bot.toolPrompts.values(), ...(bot.personality ? [bot.personality] : [])].map((p) => p.file));
    for (const [file, expected] of bot.misnamed) {
      diagnostics.add('prompt-file-misnamed', { file }, { variant: 'bot', base: clip(path.posix.basename(file)), expected, exists: loaded.has(`bots/${bot.id}/prompts/${expected}`) });
    }
  },
};
