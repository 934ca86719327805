/**
 * What of botc.config.json a runtime command needs besides its schema (config.ts): the file's
 * name and the provider settings it hands integrations. Kept apart so `botc call` reads a
 * config it checked before without loading the schema library (src/runtime/workspace-config.ts).
 */

export const CONFIG_FILE = 'botc.config.json';

/** The part of a checked config (`WorkspaceConfig`) that `providerConfig` reads. */
export interface ProviderSettings {
  providers?: Record<string, { oauth?: unknown } & Record<string, unknown>> | undefined;
}

/**
 * Provider configuration: botc.config.json `providers`, overridden by environment variables
 * `BOTC_PROVIDER_<PROVIDER>_<KEY>` (for example `BOTC_PROVIDER_GITHUB_BASE_URL`). When two
 * provider names share a prefix, the longer one wins.
 */
export function providerConfig(
  config: ProviderSettings,
  env: NodeJS.ProcessEnv,
  providers: readonly string[],
): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  // The OAuth settings configure `botc auth`, not the integration.
  for (const [provider, { oauth: _oauth, ...values }] of Object.entries(config.providers ?? {})) out[provider] = { ...values };
  const byLength = [...providers].sort((a, b) => b.length - a.length);
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || !key.startsWith('BOTC_PROVIDER_')) continue;
    const provider = byLength.find((p) => key.startsWith(`BOTC_PROVIDER_${p.toUpperCase()}_`));
    if (!provider) continue;
    const setting = key.slice(`BOTC_PROVIDER_${provider.toUpperCase()}_`.length).toLowerCase();
    if (setting) (out[provider] ??= {})[setting] = value;
  }
  return out;
}
