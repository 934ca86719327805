import { parseArgs } from 'node:util';
import { readConfig } from '../config.ts';
import { clientSecretVariable, loopbackLogin, oauthClient, OAuthError, type OAuthClient } from '../oauth/index.ts';
import { CredentialVault, vaultKeyFromEnv } from '../state/vault.ts';
import type { Io } from './io.ts';
import { storeFor } from './state.ts';
import { UsageError } from './usage.ts';
import { workspaceRoot } from './workspace.ts';

const OPTIONS = {
  root: { type: 'string' },
  state: { type: 'string' },
  tenant: { type: 'string' },
  actor: { type: 'string' },
  'timeout-ms': { type: 'string' },
  'client-secret-stdin': { type: 'boolean', default: false },
} as const;

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/**
 * `botc auth login|status|revoke`: OAuth credentials of a tenant (docs/oauth-and-automations.md).
 * Tokens go to the encrypted vault and are never printed; exit 1 when the authorization server
 * refuses or the redirect fails its checks, 2 for usage errors.
 */
export async function runAuth(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, 'botc help auth lists the options');
  }
  const { values, positionals } = parsed;
  const cwd = io.cwd ?? process.cwd();
  const actor = `user:${values.actor ?? io.env.USER ?? 'cli'}`;
  if (sub === 'status') {
    if (positionals.length > 0) throw new UsageError('botc auth status takes no provider', 'filter with --tenant');
    const store = await storeFor(values, io);
    try {
      const rows = (await store.listCredentials(values.tenant)).filter((c) => c.revoked_at === null);
      const view = rows.map((c) => ({
        tenant: c.tenant,
        provider: c.provider,
        kind: c.oauth ? 'oauth' : 'secret',
        expires_at: iso(c.expires_at),
        scopes: c.scopes,
        created_at: iso(c.created_at),
      }));
      io.stdout(`${JSON.stringify(view, null, 2)}\n`);
      return 0;
    } finally {
      await store.close();
    }
  }
  if (sub !== 'login' && sub !== 'revoke') {
    throw new UsageError(sub === undefined ? 'botc auth needs a subcommand' : `unknown subcommand \`auth ${sub.slice(0, 64)}\``, 'botc auth login|status|revoke');
  }
  const [provider] = positionals;
  if (!provider || positionals.length !== 1) throw new UsageError(`botc auth ${sub} takes one provider`, `botc auth ${sub} <provider> --tenant T`);
  const tenant = values.tenant ?? 'default';
  const key = vaultKeyFromEnv(io.env);
  const root = workspaceRoot(values.root, cwd);
  const config = readConfig(root);
  const settings = config.providers && Object.hasOwn(config.providers, provider) ? config.providers[provider]!.oauth : undefined;
  if (sub === 'login' && !settings) {
    throw new UsageError(
      `botc.config.json has no OAuth settings for \`${provider.slice(0, 64)}\``,
      `add "providers": {"${provider.slice(0, 64)}": {"oauth": {"issuer": "https://...", "client_id": "...", "scopes": [...], "redirect_port": 8765}}}`,
    );
  }
  let secret = io.env[clientSecretVariable(provider)] ?? '';
  if (values['client-secret-stdin']) {
    if (!io.stdin) throw new UsageError('the client secret is read from standard input');
    secret = (await io.stdin()).replace(/\r?\n$/, '');
    if (!secret) throw new UsageError('no client secret on standard input');
  }
  const store = await storeFor({ ...values, root }, io);
  try {
    const vault = new CredentialVault(store, key);
    if (sub === 'login') {
      await vault.checkKey(tenant);
      const timeout = values['timeout-ms'] === undefined ? undefined : Number(values['timeout-ms']);
      if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) throw new UsageError('--timeout-ms is a positive whole number of milliseconds');
      try {
        const client = await oauthClient(provider, settings!, secret);
        const granted = await loopbackLogin({
          client,
          port: settings!.redirect_port,
          onAuthorizationUrl: (url) => {
            io.stdout(`${url.href}\n`);
            io.stderr(`botc: open the URL above to sign in to ${provider} for tenant ${tenant}; waiting for the redirect to ${client.redirect_uri}\n`);
          },
          ...(timeout !== undefined ? { timeout_ms: timeout } : {}),
        });
        const summary = await vault.putOAuth(tenant, provider, granted.tokens, granted.scopes, granted.expires_at, actor);
        io.stdout(`${JSON.stringify({ tenant, provider, kind: 'oauth', expires_at: iso(summary.expires_at), scopes: summary.scopes, refreshable: granted.tokens.refresh_token !== null })}\n`);
        return 0;
      } catch (error) {
        if (!(error instanceof OAuthError)) throw error;
        await store.appendAudit({ tenant, action: 'credential.login_failed', actor, integration: provider, method_id: null, outcome: 'AUTH_REQUIRED', trace_id: null, detail: { reason: error.message.slice(0, 300), ...(error.code ? { error: error.code } : {}) } });
        io.stderr(`botc: auth login ${provider} failed: ${error.message}\n`);
        return 1;
      }
    }
    // revoke: at the provider first (RFC 7009) when it has a revocation endpoint, then locally.
    const stored = await vault.getOAuth(tenant, provider);
    let providerProblem: string | undefined;
    let atProvider = false;
    if (stored && settings) {
      try {
        const client: OAuthClient = await oauthClient(provider, settings, secret);
        if (client.can_revoke) {
          if (stored.tokens.refresh_token) await client.revoke(stored.tokens.refresh_token, 'refresh_token');
          await client.revoke(stored.tokens.access_token, 'access_token');
          atProvider = true;
        }
      } catch (error) {
        if (!(error instanceof OAuthError)) throw error;
        providerProblem = error.message;
      }
    }
    const revoked = await vault.revoke(tenant, provider, actor);
    if (providerProblem) io.stderr(`botc: the provider did not confirm the revocation (${providerProblem}); the credential is revoked locally\n`);
    if (!revoked) {
      io.stdout(`no active ${provider} credential for ${tenant}\n`);
      return 1;
    }
    io.stdout(`revoked ${provider} for ${tenant}${atProvider ? ' at the provider and locally' : ' locally'}\n`);
    return providerProblem ? 1 : 0;
  } finally {
    await store.close();
  }
}
