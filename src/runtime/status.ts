import { randomUUID } from 'node:crypto';
import type { BundleTool } from '../bundle/format.ts';
import type { AuthStatus } from '../integration/types.ts';
import { providersOf } from '../tools/ops.ts';
import { CredentialUnavailableError, type Credential } from '../integration/credentials.ts';
import type { RuntimeParts } from './parts.ts';
import { DEFAULT_TIMEOUT_MS } from './parts.ts';
import { plainAuthStatus } from './plain.ts';
import { scrub } from './results.ts';

/**
 * The `status` op: each provider of the tool with its lifecycle and whether the tenant is
 * authenticated (scopes, a detail scrubbed of the secret). Only the AuthStatus fields reach the
 * caller, never whatever else the provider returned.
 */
export async function toolStatus(parts: RuntimeParts, tool: BundleTool, tenant: string) {
  const providers = [];
  for (const provider of providersOf(parts.bundle, tool)) {
    const credential = await parts.options.credentials?.get(tenant, provider).catch((error: unknown) => {
      if (error instanceof CredentialUnavailableError) return undefined;
      throw error;
    });
    const auth = await authStatus(parts, provider, tenant, credential);
    const scopes = Array.isArray(auth?.scopes) && auth.scopes.every((s) => typeof s === 'string') ? [...auth.scopes] : undefined;
    const detail = typeof auth?.detail === 'string' ? scrub(auth.detail, credential?.secret).slice(0, 500) : undefined;
    providers.push({
      provider,
      lifecycle: parts.bundle.integrations[provider]!.lifecycle,
      authenticated: auth?.authenticated === true,
      ...(scopes ? { scopes } : {}),
      ...(detail !== undefined ? { detail } : {}),
    });
  }
  return { tool: tool.name, tenant, providers };
}

/**
 * A provider's auth status, bounded by the call timeout like any call: the deadline is one
 * entry of the runtime's shared deadline queue (deadline.ts), whose signal aborts on expiry.
 */
function authStatus(parts: RuntimeParts, provider: string, tenant: string, credential: Credential | undefined): Promise<AuthStatus> {
  const timeout = parts.options.timeout_ms ?? DEFAULT_TIMEOUT_MS;
  return new Promise<AuthStatus>((resolve) => {
    const deadline = parts.executor.deadlines.add(timeout, undefined, () => resolve({ authenticated: false, detail: `the provider did not report its status within ${timeout} ms` }));
    const ctx = {
      tenant,
      trace_id: randomUUID(),
      classification: parts.bundle.integrations[provider]!.classification,
      get signal() {
        return deadline.signal;
      },
      ...(credential ? { credential: { secret: credential.secret, scopes: [...credential.scopes] } } : {}),
    };
    const failed = () => {
      if (deadline.done) return;
      deadline.settle();
      resolve({ authenticated: false, detail: 'the provider failed to report its status' });
    };
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve(parts.instances.get(provider)!.authStatus(ctx));
    } catch {
      pending = Promise.reject(new Error('authStatus threw synchronously'));
    }
    pending.then((value) => {
      if (deadline.done) return;
      let plain: AuthStatus;
      try {
        // Copied into plain data here: a getter or Proxy trap that throws is a failed status.
        plain = plainAuthStatus(value);
      } catch {
        failed();
        return;
      }
      deadline.settle();
      resolve(plain);
    }, failed);
  });
}
