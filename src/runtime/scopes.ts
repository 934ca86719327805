import type { Credential } from '../integration/credentials.ts';
import type { MethodSpec } from '../integration/types.ts';

/** A credential that passed the least-privilege check, or why the method may not run. */
export type CredentialCheck = { value: Credential | undefined } | { code: 'AUTH_REQUIRED' | 'AUTH_FORBIDDEN'; message: string };

const NO_CREDENTIAL: CredentialCheck = Object.freeze({ value: undefined });

/** Least privilege: a method runs only with a credential whose scopes cover its `auth_scopes`. */
export function checkScopes(tenant: string, spec: MethodSpec, credential: Credential | undefined): CredentialCheck {
  if (spec.auth_scopes.length === 0) return credential ? { value: credential } : NO_CREDENTIAL;
  if (!credential) return { code: 'AUTH_REQUIRED', message: `tenant \`${tenant}\` has no ${spec.provider} credential` };
  const missing = spec.auth_scopes.filter((s) => !credential.scopes.includes(s));
  if (missing.length > 0) {
    return { code: 'AUTH_FORBIDDEN', message: `the ${spec.provider} credential of tenant \`${tenant}\` lacks scope ${missing.join(', ')}` };
  }
  return { value: credential };
}
