import { didYouMean, listNames } from '../../diagnostics/hints.ts';
import { providerOf } from '../../load/names.ts';
import type { Rule } from './rule.ts';

/**
 * Every method id a tool names is declared by a registered integration. A method of a
 * provider whose registry or module is broken is unknowable, not unknown: already reported.
 */
export const unknownMethod: Rule = {
  code: 'unknown-method',
  needs: 'integrations',
  check({ diagnostics, bot, integrations }) {
    if (!integrations) return;
    for (const { id, at } of bot.methodRefs) {
      if (integrations.methods.has(id)) continue;
      const provider = providerOf(id);
      if (integrations.unknowable.all || integrations.unknowable.providers.has(provider) || integrations.unknowable.methods.has(id)) continue;
      const registered = integrations.providers.get(provider);
      const where = { file: bot.manifestFile, at: at() };
      if (registered) {
        const declared = registered.methods.map((m) => m.method_id);
        diagnostics.add('unknown-method', where, { variant: 'not-declared', provider, id, suggestion: didYouMean(id, declared) ?? `\`${provider}\` declares ${listNames(declared)}` });
      } else {
        const providers = [...integrations.providers.keys()];
        diagnostics.add('unknown-method', where, { variant: 'not-registered', provider, id, suggestion: didYouMean(provider, providers) ?? `registered providers: ${listNames(providers)}` });
      }
    }
  },
};
