import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Credential, CredentialSource } from '../runtime/credentials.ts';
import { newId } from './sql-store.ts';
import type { AuditInput, CredentialSummary, StateStore } from './types.ts';

export class VaultKeyError extends Error {
  override name = 'VaultKeyError';
}

/**
 * The encryption key of stored credentials, from `BOTC_SECRET_KEY`: 32 bytes as 64 hex
 * characters or base64. Never stored with the data it protects.
 */
export function vaultKeyFromEnv(env: NodeJS.ProcessEnv): Buffer {
  const raw = env.BOTC_SECRET_KEY?.trim();
  if (!raw) throw new VaultKeyError('BOTC_SECRET_KEY is not set: credentials are encrypted with it (32 bytes, hex or base64)');
  const key = /^[0-9a-f]{64}$/i.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new VaultKeyError('BOTC_SECRET_KEY must be 32 bytes (64 hex characters or base64)');
  return key;
}

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
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(stored.iv, 'base64'));
    decipher.setAAD(associated(tenant, provider));
    decipher.setAuthTag(Buffer.from(stored.tag, 'base64'));
    const secret = Buffer.concat([decipher.update(Buffer.from(stored.ciphertext, 'base64')), decipher.final()]).toString('utf8');
    return { secret, scopes: stored.scopes };
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

function associated(tenant: string, provider: string): Buffer {
  return Buffer.from(`botc.credential/1\0${tenant}\0${provider}`, 'utf8');
}
