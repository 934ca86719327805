import * as oauth from 'oauth4webapi';
import type { OAuthConfig } from '../config.ts';
import type { OAuthTokens } from '../state/vault.ts';

/**
 * The OAuth 2 protocol side of `botc auth`, built on oauth4webapi (RFC 6749 authorization code
 * grant, RFC 7636 PKCE with S256, RFC 8414 discovery, RFC 7009 revocation). botc writes no
 * protocol code of its own: it only chooses the library calls and keeps the tokens.
 * See docs/oauth-and-automations.md.
 */

/** An OAuth step failed; the message names the step and the server's error code, never a token. */
export class OAuthError extends Error {
  override name = 'OAuthError';
  constructor(
    message: string,
    /** The server's `error` code (`invalid_grant`, ...) when it sent one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Tokens from a token endpoint, with their expiry (ms since the epoch, or null) and granted scopes. */
export interface GrantedTokens {
  tokens: OAuthTokens;
  expires_at: number | null;
  scopes: string[];
}

/** The provider's authorization server and our registered client, ready for requests. */
export interface OAuthClient {
  readonly provider: string;
  readonly redirect_uri: string;
  readonly scopes: readonly string[];
  /** True when the server has a revocation endpoint (configured or discovered). */
  readonly can_revoke: boolean;
  /** Starts a login: the URL to open, and the state and PKCE verifier to check the redirect with. */
  begin(): Promise<{ url: URL; state: string; code_verifier: string }>;
  /**
   * Checks the redirect (`state`, error responses) and exchanges its code with the PKCE
   * verifier. Throws OAuthError (`state` mismatch, `access_denied`, `invalid_grant`, ...).
   */
  finish(callback: URL, state: string, codeVerifier: string, now: number): Promise<GrantedTokens>;
  /** The refresh grant; `previous` keeps a refresh token the server did not rotate. Throws OAuthError. */
  refresh(refreshToken: string, previousScopes: readonly string[], now: number): Promise<GrantedTokens>;
  /** RFC 7009 revocation of one token at the server. Throws OAuthError. */
  revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<void>;
}

/**
 * Plain http is allowed only for an authorization server on this machine (tests, local
 * development); every other endpoint must be https, as oauth4webapi enforces by default.
 */
function isLoopback(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
}

function requestOptions(url: URL): { [oauth.allowInsecureRequests]?: boolean } {
  return url.protocol === 'http:' && isLoopback(url) ? { [oauth.allowInsecureRequests]: true } : {};
}

/**
 * Builds the client of `provider` from its `oauth` settings: discovery (RFC 8414, then OpenID
 * discovery) when an issuer is given, else the configured endpoints. `clientSecret` may be
 * empty for a public client (PKCE alone then binds the code). Throws OAuthError when discovery fails.
 */
export async function oauthClient(provider: string, config: OAuthConfig, clientSecret: string): Promise<OAuthClient> {
  const as = await authorizationServer(config);
  const client: oauth.Client = { client_id: config.client_id };
  const auth = clientSecret ? oauth.ClientSecretBasic(clientSecret) : oauth.None();
  const redirectUri = `http://127.0.0.1:${config.redirect_port}/callback`;
  const options = (endpoint: string | undefined) => (endpoint ? requestOptions(new URL(endpoint)) : {});
  const scopes = [...config.scopes];
  return {
    provider,
    redirect_uri: redirectUri,
    scopes,
    can_revoke: as.revocation_endpoint !== undefined,
    async begin() {
      const codeVerifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const url = new URL(as.authorization_endpoint!);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', config.client_id);
      url.searchParams.set('redirect_uri', redirectUri);
      if (scopes.length > 0) url.searchParams.set('scope', scopes.join(' '));
      url.searchParams.set('state', state);
      url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
      url.searchParams.set('code_challenge_method', 'S256');
      return { url, state, code_verifier: codeVerifier };
    },
    async finish(callback, state, codeVerifier, now) {
      const params = await step('the authorization response', async () => oauth.validateAuthResponse(as, client, callback, state));
      const response = await step('the code exchange', () => oauth.authorizationCodeGrantRequest(as, client, auth, params, redirectUri, codeVerifier, options(as.token_endpoint)));
      const result = await step('the code exchange', () => oauth.processAuthorizationCodeResponse(as, client, response));
      return granted(result, null, scopes, now);
    },
    async refresh(refreshToken, previousScopes, now) {
      const response = await step('the refresh', () => oauth.refreshTokenGrantRequest(as, client, auth, refreshToken, options(as.token_endpoint)));
      const result = await step('the refresh', () => oauth.processRefreshTokenResponse(as, client, response));
      return granted(result, refreshToken, previousScopes, now);
    },
    async revoke(token, hint) {
      const response = await step('the revocation', () =>
        oauth.revocationRequest(as, client, auth, token, { ...options(as.revocation_endpoint), additionalParameters: { token_type_hint: hint } }),
      );
      await step('the revocation', () => oauth.processRevocationResponse(response));
    },
  };
}

async function authorizationServer(config: OAuthConfig): Promise<oauth.AuthorizationServer> {
  if (config.issuer === undefined) {
    return {
      issuer: new URL(config.authorization_endpoint!).origin,
      authorization_endpoint: config.authorization_endpoint!,
      token_endpoint: config.token_endpoint!,
      ...(config.revocation_endpoint !== undefined ? { revocation_endpoint: config.revocation_endpoint } : {}),
    };
  }
  const issuer = new URL(config.issuer);
  return step('discovery', async () => {
    const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...requestOptions(issuer) });
    return oauth.processDiscoveryResponse(issuer, response);
  });
}

/** Runs one library step; its errors become OAuthError with the server's code, never a token. */
async function step<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError || error instanceof oauth.AuthorizationResponseError) {
      const description = error.error_description ? `: ${error.error_description.slice(0, 200)}` : '';
      throw new OAuthError(`${what} failed: the authorization server answered \`${error.error}\`${description}`, error.error);
    }
    if (error instanceof oauth.WWWAuthenticateChallengeError) throw new OAuthError(`${what} failed: the authorization server refused the client (HTTP ${error.status})`, 'invalid_client');
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown }).code;
    throw new OAuthError(`${what} failed: ${message.slice(0, 300)}`, typeof code === 'string' ? code : undefined);
  }
}

function granted(result: oauth.TokenEndpointResponse, previousRefresh: string | null, requested: readonly string[], now: number): GrantedTokens {
  const expiresIn = typeof result.expires_in === 'number' && Number.isFinite(result.expires_in) ? result.expires_in : null;
  // RFC 6749 §5.1: the server names the granted scopes when they differ from those requested.
  const scopes = typeof result.scope === 'string' ? result.scope.split(' ').filter(Boolean) : [...requested];
  return {
    tokens: {
      access_token: result.access_token,
      // A server that does not rotate refresh tokens sends none back: the old one stays valid.
      refresh_token: result.refresh_token ?? previousRefresh,
      token_type: result.token_type,
    },
    expires_at: expiresIn === null ? null : now + expiresIn * 1000,
    scopes,
  };
}
