import { createServer as createNetServer } from 'node:net';
import { createServer, type Server } from 'node:http';
import Provider from 'oidc-provider';
import { loopbackLogin, oauthClient, type GrantedTokens } from '../../src/oauth/index.ts';

/** A free TCP port on 127.0.0.1 (listen on 0, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export const CLIENT_ID = 'botc-test';
export const CLIENT_SECRET = 'test-client-secret-4f1c9a7e2b';

export interface TestAuthServer {
  issuer: string;
  redirectPort: number;
  provider: Provider;
  /** Counts of successful token endpoint grants, by grant type. */
  grants: Record<string, number>;
  /** Refresh grants that failed, with the error code. */
  refreshErrors: string[];
  close(): Promise<void>;
}

/**
 * A real OpenID Provider (oidc-provider) on 127.0.0.1: one confidential client whose redirect
 * URI is the loopback callback of `botc auth login`, PKCE required, refresh tokens issued and
 * rotated, RFC 7009 revocation on. The login and consent screens are replaced by a programmatic
 * interaction that signs in `alice` and grants the requested scopes, so a test drives the flow
 * with plain HTTP requests as a browser would.
 */
export async function startAuthServer(options: { accessTtl?: number; refreshTtl?: number } = {}): Promise<TestAuthServer> {
  const port = await freePort();
  const redirectPort = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`http://127.0.0.1:${redirectPort}/callback`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    scopes: ['offline_access', 'repo:read', 'issues:write'],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false }, revocation: { enabled: true, allowedPolicy: async () => true } },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: { AccessToken: options.accessTtl ?? 3600, RefreshToken: options.refreshTtl ?? 86_400 },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  });
  const grants: Record<string, number> = {};
  const refreshErrors: string[] = [];
  provider.on('grant.success', (ctx) => {
    const type = String(ctx.oidc.params?.grant_type ?? 'unknown');
    grants[type] = (grants[type] ?? 0) + 1;
  });
  provider.on('grant.error', (ctx, error) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') refreshErrors.push(String((error as { error?: string }).error ?? error.message));
  });
  const callback = provider.callback();
  const server: Server = createServer(async (req, res) => {
    const match = /^\/interaction\/([^/?]+)/.exec(req.url ?? '');
    if (!match) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      const clientId = String(details.params['client_id']);
      const grant = new provider.Grant({ accountId: 'alice', clientId });
      grant.addOIDCScope(String(details.params['scope'] ?? ''));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { login: { accountId: 'alice' }, consent: { grantId } }, { mergeWithLastSubmission: false });
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    issuer,
    redirectPort,
    provider,
    grants,
    refreshErrors,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Plays the browser: follows the redirects of an authorization URL (keeping cookies) through
 * the interaction until the server redirects to the loopback callback, and returns that URL
 * without requesting it.
 */
export async function authorizeInBrowser(authorizationUrl: string, redirectPort: number): Promise<URL> {
  const cookies = new Map<string, string>();
  let url = authorizationUrl;
  for (let hops = 0; hops < 10; hops++) {
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair!.indexOf('=');
      cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    await response.arrayBuffer();
    const location = response.headers.get('location');
    if (!location) throw new Error(`the authorization server stopped at ${url} with HTTP ${response.status}`);
    const next = new URL(location, url);
    if (next.host === `127.0.0.1:${redirectPort}`) return next;
    url = next.href;
  }
  throw new Error('too many redirects');
}

/** Signs `alice` in through the real flow (oauth4webapi client, loopback listener) and returns the tokens. */
export async function signIn(server: TestAuthServer, scopes: string[] = ['repo:read']): Promise<GrantedTokens> {
  const client = await oauthClient('github', { issuer: server.issuer, client_id: CLIENT_ID, scopes, redirect_port: server.redirectPort }, CLIENT_SECRET);
  return loopbackLogin({
    client,
    port: server.redirectPort,
    timeout_ms: 4000,
    onAuthorizationUrl: (url) => {
      void authorizeInBrowser(url.href, server.redirectPort).then((callback) => fetch(callback)).then((r) => r.arrayBuffer());
    },
  });
}
