import { providerOf } from '../../load/names.ts';
import type { Rule } from './rule.ts';

/** No tool names a method of an integration in `end_of_support` (it is disabled). */
export const lifecycleEndOfSupport: Rule = {
  code: 'lifecycle-end-of-support',
  needs: 'integrations',
  check({ diagnostics, bot, integrations }) {
    if (!integrations) return;
    for (const { id, at } of bot.methodRefs) {
      const provider = providerOf(id);
      if (!integrations.methods.has(id) || integrations.providers.get(provider)!.entry.lifecycle !== 'end_of_support') continue;
      diagnostics.add('lifecycle-end-of-support', { file: bot.manifestFile, at: at() }, { id, provider });
    }
  },
};
