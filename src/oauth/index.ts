import type { WorkspaceConfig } from '../config.ts';
import { oauthClient, type OAuthClient } from './client.ts';

export { OAuthError, oauthClient, type GrantedTokens, type OAuthClient } from './client.ts';
export { DEFAULT_LOGIN_TIMEOUT_MS, loopbackLogin, type LoginOptions } from './login.ts';
export { DEFAULT_REFRESH_LOCK_MS, DEFAULT_REFRESH_SKEW_MS, RefreshingVault, type RefreshingVaultOptions } from './refresh.ts';

/** The environment variable holding a provider's OAuth client secret: `BOTC_OAUTH_<PROVIDER>_CLIENT_SECRET`. */
export function clientSecretVariable(provider: string): string {
  return `BOTC_OAUTH_${provider.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_CLIENT_SECRET`;
}

/**
 * The OAuth clients of a workspace's providers, built on first use (discovery runs once per
 * provider) from botc.config.json, with client secrets from the environment. A provider
 * without `oauth` settings has none (undefined).
 */
export function oauthClients(config: WorkspaceConfig, env: NodeJS.ProcessEnv): (provider: string) => Promise<OAuthClient | undefined> {
  const cache = new Map<string, Promise<OAuthClient>>();
  return async (provider) => {
    const settings = config.providers && Object.hasOwn(config.providers, provider) ? config.providers[provider]!.oauth : undefined;
    if (!settings) return undefined;
    let client = cache.get(provider);
    if (!client) {
      client = oauthClient(provider, settings, env[clientSecretVariable(provider)] ?? '');
      cache.set(provider, client);
      client.catch(() => cache.delete(provider));
    }
    return client;
  };
}

/** True when some provider of the workspace has `oauth` settings. */
export function hasOAuthProviders(config: WorkspaceConfig): boolean {
  return Object.values(config.providers ?? {}).some((p) => p.oauth !== undefined);
}
