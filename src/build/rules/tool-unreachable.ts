import type { Rule } from './rule.ts';

/**
 * Every installed tool is allowed by some expert. A tool the experts and the tool prompt call
 * by another, near name is one diagnostic at the manifest that names the rename. Skipped when
 * an expert file is broken (what it allows is unknown) or there is no expert (`expert-missing`
 * already says it all; every tool would be "unreachable").
 */
export const toolUnreachable: Rule = {
  code: 'tool-unreachable',
  needs: 'bot',
  check({ diagnostics, bot, facts }) {
    if (!facts) return;
    const { installed, renamedInManifest, allowedSomewhere, allowers } = facts;
    for (const [meant, typo] of renamedInManifest) {
      diagnostics.add(
        'tool-unreachable',
        { file: bot.manifestFile, at: bot.locateInManifest(['tools', installed.get(typo)!, 'name']) },
        { variant: 'renamed-in-manifest', tool: typo, meant, allowedBy: allowers.get(meant) ?? [], promptExists: bot.toolPrompts.has(meant) },
      );
    }
    if (!bot.expertsComplete || bot.experts.length === 0) return;
    for (const [name, index] of installed) {
      if (allowedSomewhere.has(name)) continue;
      diagnostics.add('tool-unreachable', { file: bot.manifestFile, at: bot.locateInManifest(['tools', index, 'name']) }, { variant: 'unallowed', tool: name });
    }
  },
};
