import { providerOf } from '../../load/names.ts';
import type { Rule } from './rule.ts';

/**
 * A tool naming a deprecated method is warned, with its replacement; not for an integration in
 * `end_of_support`, whose error already says the tool must move.
 */
export const methodDeprecated: Rule = {
  code: 'method-deprecated',
  needs: 'integrations',
  check({ diagnostics, bot, integrations }) {
    if (!integrations) return;
    for (const { id, at } of bot.methodRefs) {
      const spec = integrations.methods.get(id);
      if (!spec?.deprecated || integrations.providers.get(providerOf(id))!.entry.lifecycle === 'end_of_support') continue;
      diagnostics.add('method-deprecated', { file: bot.manifestFile, at: at() }, { id, replacement: spec.replacement_method_id });
    }
  },
};
