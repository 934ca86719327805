/**
 * Credentials: what the runtime hands an integration call and what credential sources (the
 * state store's vault, files, the environment, OAuth refresh) produce. They sit with the
 * integration contract, below both the runtime and the state stores. A credentials file is read
 * by credentials-file.ts, which needs the schema library (zod): runtime commands load it only
 * when a file is given.
 */

/**
 * A credential source cannot produce a credential, for a reason the caller may hear (the
 * message holds no secret): the runtime answers AUTH_REQUIRED with it instead of INTERNAL_ERROR.
 */
export class CredentialUnavailableError extends Error {
  override name = 'CredentialUnavailableError';
}

/** One tenant's credential for one provider: the secret and the OAuth scopes it grants. */
export interface Credential {
  secret: string;
  scopes: string[];
}

/** Where the runtime gets a tenant's credential for a provider. Secrets never leave it but for the call. */
export interface CredentialSource {
  get(tenant: string, provider: string): Promise<Credential | undefined>;
  /**
   * The provider rejected `rejected` as unauthenticated (HTTP 401): a renewed credential (an
   * OAuth refresh), or undefined when this source cannot renew it. The runtime asks once per
   * call and retries the call once with the answer. Throws CredentialUnavailableError when
   * renewing failed for a reason the caller may hear.
   */
  refreshAfterRejection?(tenant: string, provider: string, rejected: Credential): Promise<Credential | undefined>;
}

/**
 * `BOTC_CREDENTIAL_<PROVIDER>` (the secret) and `BOTC_CREDENTIAL_<PROVIDER>_SCOPES` (comma-separated),
 * for one tenant: the one the command runs for.
 */
export function credentialsFromEnv(env: NodeJS.ProcessEnv, tenant: string): CredentialSource {
  return {
    async get(forTenant, provider) {
      if (forTenant !== tenant) return undefined;
      const name = `BOTC_CREDENTIAL_${provider.toUpperCase()}`;
      const secret = env[name];
      if (!secret) return undefined;
      const scopes = (env[`${name}_SCOPES`] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      return { secret, scopes };
    },
  };
}

/** The first source that knows the credential wins. */
export function chainCredentials(...sources: CredentialSource[]): CredentialSource {
  return {
    async get(tenant, provider) {
      for (const source of sources) {
        const found = await source.get(tenant, provider);
        if (found) return found;
      }
      return undefined;
    },
    async refreshAfterRejection(tenant, provider, rejected) {
      // Only the source that handed out the rejected credential may renew it.
      for (const source of sources) {
        const found = await source.get(tenant, provider);
        if (!found) continue;
        return found.secret === rejected.secret && source.refreshAfterRejection ? source.refreshAfterRejection(tenant, provider, rejected) : undefined;
      }
      return undefined;
    },
  };
}
