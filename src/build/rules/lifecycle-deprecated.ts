import { providerOf } from '../../load/names.ts';
import type { Rule } from './rule.ts';

/** A tool naming a method of a `deprecated` integration is warned (restricted, will reach end of support). */
export const lifecycleDeprecated: Rule = {
  code: 'lifecycle-deprecated',
  needs: 'integrations',
  check({ diagnostics, bot, integrations }) {
    if (!integrations) return;
    for (const { id, at } of bot.methodRefs) {
      const provider = providerOf(id);
      if (!integrations.methods.has(id) || integrations.providers.get(provider)!.entry.lifecycle !== 'deprecated') continue;
      diagnostics.add('lifecycle-deprecated', { file: bot.manifestFile, at: at() }, { id, provider });
    }
  },
};
