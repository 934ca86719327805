import { didYouMean } from '../../diagnostics/hints.ts';
import type { Rule } from './rule.ts';

/** Every tool prompt belongs to an installed tool (or to one the manifest misspells, reported there). */
export const toolPromptOrphan: Rule = {
  code: 'tool-prompt-orphan',
  needs: 'bot',
  check({ diagnostics, bot, facts }) {
    if (!facts) return;
    for (const [name, prompt] of bot.toolPrompts) {
      if (facts.installed.has(name) || facts.renamedInManifest.has(name)) continue;
      diagnostics.add(
        'tool-prompt-orphan',
        { file: prompt.file, at: { line: 1, column: 1 } },
        { tool: name, bot: bot.id, manifest: bot.manifestFile, suggestion: didYouMean(name, facts.installed.keys()) },
      );
    }
  },
};
