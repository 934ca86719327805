import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CredentialUnavailableError, type Credential, type CredentialSource } from '../runtime/credentials.ts';
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
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(associated(tenant, provider));
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    const stored = {
      id: newId('cred'),
      tenant,
      provider,
      ciphertext: ciphertext.toString('base64'),
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      scopes: [...new Set(scopes)].sort(),
      created_at: this.now(),
      revoked_at: null,
    };
    await this.store.putCredential(stored);
    await this.audit({ tenant, action: 'credential.added', actor, integration: provider, outcome: 'ok', detail: { credential_id: stored.id, scopes: stored.scopes } });
    const { ciphertext: _c, iv: _i, tag: _t, ...summary } = stored;
    return summary;
  }

  /** The tenant's own credential for a provider, decrypted for one call. */
  async get(tenant: string, provider: string): Promise<Credential | undefined> {
    const stored = await this.store.getCredential(tenant, provider);
    if (!stored) return undefined;
    return { secret: this.decrypt(stored), scopes: stored.scopes };
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
