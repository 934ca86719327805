import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CredentialUnavailableError, type Credential, type CredentialSource } from '../integration/credentials.ts';
import { KeyFormatError, parseKey32, weakKeyReason } from './keys.ts';
import { newId } from './sql-store.ts';
import type { AuditInput, CredentialSummary, StateStore, StoredCredential } from './types.ts';

/**
 * The vault key is missing, malformed, weak, or not the key the stored credentials were
 * encrypted with. The CLI reports it as a usage error (exit 2); the runtime answers the call
 * with AUTH_REQUIRED and this message, which never holds a secret.
 */
export class VaultKeyError extends CredentialUnavailableError {
  override name = 'VaultKeyError';
}

const GENERATE = 'generate one with `openssl rand -hex 32`';

/**
 * The encryption key of stored credentials, from `BOTC_SECRET_KEY`: exactly 32 bytes, as 64 hex
 * characters or 44 characters of padded canonical base64 or base64url (src/state/keys.ts), and
 * not a weak key (all zero, a repeated byte or block, a counting sequence, low entropy,
 * printable text). Never stored with the data it protects. Throws VaultKeyError.
 */
export function vaultKeyFromEnv(env: NodeJS.ProcessEnv): Buffer {
  const raw = env.BOTC_SECRET_KEY;
  if (raw === undefined || raw.trim() === '') throw new VaultKeyError(`BOTC_SECRET_KEY is not set: credentials are encrypted with it (32 random bytes; ${GENERATE})`);
  let key: Buffer;
  try {
    key = parseKey32(raw);
  } catch (error) {
    if (!(error instanceof KeyFormatError)) throw error;
    throw new VaultKeyError(`BOTC_SECRET_KEY ${error.message}: it must be 32 bytes as 64 hex characters or 44 characters of base64 ending in \`=\`; ${GENERATE}`);
  }
  const weak = weakKeyReason(key);
  if (weak) throw new VaultKeyError(`BOTC_SECRET_KEY ${weak}: it must be 32 random bytes; ${GENERATE}`);
  return key;
}

/** What a person hears when the key does not open a stored credential. */
export const WRONG_VAULT_KEY = 'the credential store cannot be decrypted with this key';

/**
 * Tenant-scoped credentials, encrypted at rest with AES-256-GCM. The tenant and provider are
 * the cipher's associated data, so a row copied to another tenant does not decrypt. Every
 * change and every refused access is audited; no secret is ever written to the audit log.
 */
export class CredentialVault implements CredentialSource {
  constructor(
    private readonly store: StateStore,
    private readonly key: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  async add(tenant: string, provider: string, secret: string, scopes: string[], actor: string): Promise<CredentialSummary> {
    if (secret.length === 0) throw new Error('the secret is empty');
    // One store, one key: a credential added under another key could never be read with the first.
    await this.checkKey(tenant);
    const stored = this.seal(tenant, provider, secret, scopes, {});
    await this.store.putCredential(stored);
    await this.audit({ tenant, action: 'credential.added', actor, integration: provider, outcome: 'ok', detail: { credential_id: stored.id, scopes: stored.scopes } });
    return summaryOf(stored);
  }

  /**
   * Stores OAuth tokens (access token, refresh token when granted) as the tenant's credential
   * for `provider`, encrypted like any secret, with the granted scopes and the access token's
   * expiry (`expiresAt`, ms since the epoch, or null when the server gave none). Replaces the
   * previous credential in one statement, so a rotated refresh token is never half saved.
   * Audited as `action` (`credential.added` for a login, `credential.refreshed` for a refresh)
   * without any token.
   */
  async putOAuth(
    tenant: string,
    provider: string,
    tokens: OAuthTokens,
    scopes: string[],
    expiresAt: number | null,
    actor: string,
    action: 'credential.added' | 'credential.refreshed' = 'credential.added',
  ): Promise<CredentialSummary> {
    if (tokens.access_token.length === 0) throw new Error('the access token is empty');
    await this.checkKey(tenant);
    const stored = this.seal(tenant, provider, JSON.stringify(tokens), scopes, { oauth: true, expires_at: expiresAt });
    await this.store.putCredential(stored);
    const expires = expiresAt === null ? null : new Date(expiresAt).toISOString();
    await this.audit({ tenant, action, actor, integration: provider, outcome: 'ok', detail: { credential_id: stored.id, scopes: stored.scopes, expires_at: expires } });
    return summaryOf(stored);
  }

  /** The tenant's OAuth tokens for a provider, decrypted; undefined when none or a static secret is stored. */
  async getOAuth(tenant: string, provider: string): Promise<StoredOAuth | undefined> {
    const stored = await this.store.getCredential(tenant, provider);
    if (!stored?.oauth) return undefined;
    return { id: stored.id, tokens: parseTokens(this.decrypt(stored)), scopes: stored.scopes, expires_at: stored.expires_at ?? null };
  }

  private seal(tenant: string, provider: string, plaintext: string, scopes: string[], extra: Pick<StoredCredential, 'oauth' | 'expires_at'>): StoredCredential {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(associated(tenant, provider));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      id: newId('cred'),
      tenant,
      provider,
      ciphertext: ciphertext.toString('base64'),
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      scopes: [...new Set(scopes)].sort(),
      created_at: this.now(),
      revoked_at: null,
      ...extra,
    };
  }

  /** The tenant's own credential for a provider, decrypted for one call. */
  async get(tenant: string, provider: string): Promise<Credential | undefined> {
    const stored = await this.store.getCredential(tenant, provider);
    if (!stored) return undefined;
    const plain = this.decrypt(stored);
    // An OAuth credential is used through its access token; the refresh token never leaves the vault.
    return { secret: stored.oauth ? parseTokens(plain).access_token : plain, scopes: stored.scopes };
  }

  /**
   * Proves the key opens the stored credentials before anything uses them: every active
   * credential of `tenant`, or one of another tenant when it has none. Throws VaultKeyError.
   */
  async checkKey(tenant: string): Promise<void> {
    const active = (summaries: CredentialSummary[]) => summaries.filter((c) => c.revoked_at === null);
    let candidates = active(await this.store.listCredentials(tenant));
    if (candidates.length === 0) candidates = active(await this.store.listCredentials()).slice(0, 1);
    for (const candidate of candidates) {
      const stored = await this.store.getCredential(candidate.tenant, candidate.provider);
      if (stored) this.decrypt(stored);
    }
  }

  private decrypt(stored: StoredCredential): string {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(stored.iv, 'base64'));
      decipher.setAAD(associated(stored.tenant, stored.provider));
      decipher.setAuthTag(Buffer.from(stored.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(stored.ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      // GCM's tag check failed: another key encrypted it, or the row was altered or copied.
      throw new VaultKeyError(
        `${WRONG_VAULT_KEY} (BOTC_SECRET_KEY): the ${stored.provider} credential of tenant \`${stored.tenant}\` was encrypted with another key, or its row was altered`,
      );
    }
  }

  /**
   * A request for a credential that may belong to another tenant. Only the requesting
   * tenant's own credentials are ever read; anything else is refused and audited.
   */
  async resolve(requestingTenant: string, owner: string, provider: string, actor: string): Promise<Credential | undefined> {
    if (owner !== requestingTenant) {
      await this.audit({
        tenant: requestingTenant,
        action: 'credential.denied',
        actor,
        integration: provider,
        outcome: 'AUTH_FORBIDDEN',
        detail: { requested_tenant: owner, reason: 'credentials are never shared across tenants' },
      });
      return undefined;
    }
    return this.get(requestingTenant, provider);
  }

  async revoke(tenant: string, provider: string, actor: string): Promise<boolean> {
    const revoked = await this.store.revokeCredential(tenant, provider, this.now());
    await this.audit({ tenant, action: 'credential.revoked', actor, integration: provider, outcome: revoked ? 'ok' : 'NOT_FOUND', detail: {} });
    return revoked;
  }

  list(tenant?: string): Promise<CredentialSummary[]> {
    return this.store.listCredentials(tenant);
  }

  private async audit(entry: Omit<AuditInput, 'method_id' | 'trace_id'>): Promise<void> {
    await this.store.appendAudit({ ...entry, method_id: null, trace_id: null });
  }
}

/** OAuth tokens as the vault keeps them, encrypted. Never printed, never audited. */
export interface OAuthTokens {
  access_token: string;
  /** Null when the server granted no refresh token: the credential then ends at its expiry. */
  refresh_token: string | null;
  token_type: string;
}

/** A stored OAuth credential, decrypted. `expires_at`: ms since the epoch, or null when unknown. */
export interface StoredOAuth {
  id: string;
  tokens: OAuthTokens;
  scopes: string[];
  expires_at: number | null;
}

function parseTokens(plain: string): OAuthTokens {
  const value = JSON.parse(plain) as Partial<OAuthTokens>;
  return { access_token: String(value.access_token ?? ''), refresh_token: typeof value.refresh_token === 'string' ? value.refresh_token : null, token_type: String(value.token_type ?? 'bearer') };
}

function summaryOf(stored: StoredCredential): CredentialSummary {
  const { ciphertext: _c, iv: _i, tag: _t, ...summary } = stored;
  return summary;
}

/**
 * The vault key of a provider's webhook signing secret: `<provider>#webhook`. Provider names
 * never hold `#`, so no integration can be registered under this key, and the runtime, which
 * asks the vault for the credential of a bundle's provider by its name, can never hand a
 * signing secret to an API call. The key is also the cipher's associated data, so a signing
 * secret's row moved under the provider's own name does not decrypt.
 */
export function webhookSecretKey(provider: string): string {
  return `${provider}#webhook`;
}

function associated(tenant: string, provider: string): Buffer {
  return Buffer.from(`botc.credential/1\0${tenant}\0${provider}`, 'utf8');
}
