import { randomUUID } from 'node:crypto';
import { CredentialUnavailableError, type Credential, type CredentialSource } from '../integration/credentials.ts';
import type { StateStore } from '../state/types.ts';
import type { CredentialVault, StoredOAuth } from '../state/vault.ts';
import { OAuthError, type OAuthClient } from './client.ts';

/** Refresh this long before the access token expires: 60 s, for clock skew and the call's own time. */
export const DEFAULT_REFRESH_SKEW_MS = 60_000;
/** How long one refresh may hold its credential's lock before another process may take over: 30 s. */
export const DEFAULT_REFRESH_LOCK_MS = 30_000;

export interface RefreshingVaultOptions {
  store: StateStore;
  vault: CredentialVault;
  /** The OAuth client of a provider, or undefined when it has no `oauth` settings. */
  client: (provider: string) => Promise<OAuthClient | undefined>;
  now?: () => number;
  skew_ms?: number;
  lock_ms?: number;
  /** How often a process waiting for another's refresh looks again, ms (default 25). */
  poll_ms?: number;
}

/** What a person must do when a refresh cannot be made. */
const loginHint = (tenant: string, provider: string) => `log in again: botc auth login ${provider} --tenant ${tenant}`;

/**
 * The credential vault with OAuth refresh. A static secret is returned as stored. An OAuth
 * access token is returned while it has more than `skew_ms` left; after that, or once after the
 * provider rejected it (`refreshAfterRejection`, a 401), it is refreshed with exactly one
 * refresh in flight per credential across processes and machines: the refresher holds the
 * credential's lock row in the store, everyone else waits for the new token. A rotated refresh
 * token is saved with its access token in one statement. A failed refresh is audited
 * (`credential.refresh_failed`) and answered with CredentialUnavailableError (AUTH_REQUIRED)
 * whose message says to log in again; a refresh token the server declared invalid
 * (`invalid_grant`: expired or revoked) also ends the stored credential.
 */
export class RefreshingVault implements CredentialSource {
  private readonly now: () => number;
  private readonly holder = `refresh_${randomUUID()}`;

  constructor(private readonly options: RefreshingVaultOptions) {
    this.now = options.now ?? Date.now;
  }

  async get(tenant: string, provider: string): Promise<Credential | undefined> {
    const oauth = await this.options.vault.getOAuth(tenant, provider);
    if (!oauth) return this.options.vault.get(tenant, provider);
    if (oauth.expires_at === null || oauth.expires_at - (this.options.skew_ms ?? DEFAULT_REFRESH_SKEW_MS) > this.now()) return asCredential(oauth);
    return this.refresh(tenant, provider, oauth.tokens.access_token);
  }

  /**
   * The provider rejected `rejected` (HTTP 401): a new access token, refreshed unless another
   * process already did, or undefined when the credential is no OAuth credential.
   */
  async refreshAfterRejection(tenant: string, provider: string, rejected: Credential): Promise<Credential | undefined> {
    const oauth = await this.options.vault.getOAuth(tenant, provider);
    if (!oauth) return undefined;
    if (oauth.tokens.access_token !== rejected.secret) return asCredential(oauth);
    return this.refresh(tenant, provider, rejected.secret);
  }

  /** Replaces the access token `stale`, once across processes; the others wait for the result. */
  private async refresh(tenant: string, provider: string, stale: string): Promise<Credential> {
    const { store, vault } = this.options;
    const lockMs = this.options.lock_ms ?? DEFAULT_REFRESH_LOCK_MS;
    const deadline = this.now() + lockMs * 2;
    for (;;) {
      if (await store.claimRefreshLock(tenant, provider, this.holder, this.now(), lockMs)) {
        try {
          // Another process may have refreshed between our read and our lock.
          const current = await vault.getOAuth(tenant, provider);
          if (!current) throw new CredentialUnavailableError(`tenant \`${tenant}\` has no ${provider} credential any more; ${loginHint(tenant, provider)}`);
          if (current.tokens.access_token !== stale) return asCredential(current);
          return await this.refreshHolding(tenant, provider, current);
        } finally {
          await store.releaseRefreshLock(tenant, provider, this.holder);
        }
      }
      await new Promise((done) => setTimeout(done, this.options.poll_ms ?? 25));
      const current = await vault.getOAuth(tenant, provider);
      if (!current) throw new CredentialUnavailableError(`the ${provider} credential of tenant \`${tenant}\` could not be refreshed; ${loginHint(tenant, provider)}`);
      if (current.tokens.access_token !== stale) return asCredential(current);
      if (this.now() > deadline) throw new CredentialUnavailableError(`the ${provider} credential of tenant \`${tenant}\` is being refreshed by another process that does not finish; try again`);
    }
  }

  private async refreshHolding(tenant: string, provider: string, current: StoredOAuth): Promise<Credential> {
    const fail = async (reason: string, code: string | undefined, endCredential: boolean): Promise<never> => {
      await this.options.store.appendAudit({
        tenant,
        action: 'credential.refresh_failed',
        actor: 'runtime',
        integration: provider,
        method_id: null,
        outcome: 'AUTH_REQUIRED',
        trace_id: null,
        detail: { credential_id: current.id, reason: reason.slice(0, 300), ...(code ? { error: code } : {}) },
      });
      if (endCredential) await this.options.vault.revoke(tenant, provider, 'runtime');
      throw new CredentialUnavailableError(`the ${provider} credential of tenant \`${tenant}\` expired and could not be refreshed (${reason.slice(0, 200)}); ${loginHint(tenant, provider)}`);
    };
    if (current.tokens.refresh_token === null) return fail('no refresh token was granted', undefined, false);
    const client = await this.options.client(provider).catch((error: unknown) => {
      if (error instanceof OAuthError) return error;
      throw error;
    });
    if (client instanceof OAuthError) return fail(client.message, client.code, false);
    if (!client) return fail(`botc.config.json has no providers.${provider}.oauth settings`, undefined, false);
    let granted;
    try {
      granted = await client.refresh(current.tokens.refresh_token, current.scopes, this.now());
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      // invalid_grant: the refresh token expired or was revoked; it will never work again.
      return fail(error.message, error.code, error.code === 'invalid_grant');
    }
    await this.options.vault.putOAuth(tenant, provider, granted.tokens, granted.scopes, granted.expires_at, 'runtime', 'credential.refreshed');
    return { secret: granted.tokens.access_token, scopes: [...granted.scopes].sort() };
  }
}

function asCredential(oauth: StoredOAuth): Credential {
  return { secret: oauth.tokens.access_token, scopes: [...oauth.scopes] };
}
