import type { Diagnostics } from '../../diagnostics/diagnostic.ts';
import { didYouMean, listNames } from '../../diagnostics/hints.ts';
import { providerOf } from '../../load/names.ts';
import type { BotSource } from '../load/bots.ts';
import type { IntegrationSet } from '../load/integrations.ts';

/**
 * The part of a bot's manifest checks that needs the integrations: every method its tools
 * name exists, and is not disabled, deprecated or of a deprecated integration.
 */
export function resolveToolMethods(diagnostics: Diagnostics, bot: BotSource, integrations: IntegrationSet): void {
  const file = bot.manifestFile;
  for (const { id, at } of bot.methodRefs) {
    const spec = integrations.methods.get(id);
    const provider = providerOf(id);
    if (!spec) {
      if (integrations.unknowable.all || integrations.unknowable.providers.has(provider) || integrations.unknowable.methods.has(id)) continue;
      const registered = integrations.providers.get(provider);
      diagnostics.report('unknown-method', {
        file,
        at: at(),
        message: registered ? `provider \`${provider}\` declares no method \`${id}\`` : `no integration declares \`${id}\`: provider \`${provider}\` is not registered`,
        hint: registered
          ? (didYouMean(id, registered.methods.map((m) => m.method_id)) ?? `\`${provider}\` declares ${listNames(registered.methods.map((m) => m.method_id))}`)
          : (didYouMean(provider, integrations.providers.keys()) ?? `registered providers: ${listNames([...integrations.providers.keys()])}`),
      });
      continue;
    }
    const { entry } = integrations.providers.get(provider)!;
    if (entry.lifecycle === 'end_of_support') {
      diagnostics.report('lifecycle-end-of-support', {
        file,
        at: at(),
        message: `\`${id}\` belongs to \`${provider}\`, which has reached end of support and is disabled`,
        hint: 'migrate the tool to another integration; end-of-support integrations cannot be installed',
      });
      continue;
    }
    if (entry.lifecycle === 'deprecated') {
      diagnostics.report('lifecycle-deprecated', {
        file,
        at: at(),
        message: `\`${id}\` belongs to \`${provider}\`, which is deprecated`,
        hint: 'plan a migration: deprecated integrations are restricted and will reach end of support',
      });
    }
    if (spec.deprecated) {
      diagnostics.report('method-deprecated', {
        file,
        at: at(),
        message: `\`${id}\` is deprecated`,
        hint: spec.replacement_method_id ? `use \`${spec.replacement_method_id}\` instead` : 'its integration names no replacement; plan to remove the method from the tool',
      });
    }
  }
}
