import { createServer, type Server } from 'node:http';
import { OAuthError, type GrantedTokens, type OAuthClient } from './client.ts';

/** How long `botc auth login` waits for the browser's redirect by default: 5 minutes. */
export const DEFAULT_LOGIN_TIMEOUT_MS = 5 * 60_000;

export interface LoginOptions {
  client: OAuthClient;
  /** The port of the loopback redirect (the one in `client.redirect_uri`). */
  port: number;
  /** Called once the loopback listener is up, with the URL the person must open. */
  onAuthorizationUrl: (url: URL) => void;
  /** Milliseconds to wait for the redirect (default DEFAULT_LOGIN_TIMEOUT_MS). */
  timeout_ms?: number;
  now?: () => number;
}

/**
 * The authorization code flow with PKCE over a loopback redirect (RFC 8252 §7.3): listens on
 * 127.0.0.1 only, hands out the authorization URL, and takes the first request to `/callback`.
 * That redirect must carry the `state` of this login (oauth4webapi checks it) and its code is
 * exchanged with this login's PKCE verifier, so a code injected by anyone else is refused.
 * Other paths get 404 and are ignored. Throws OAuthError; the listener is always closed.
 */
export async function loopbackLogin(options: LoginOptions): Promise<GrantedTokens> {
  const { client } = options;
  const now = options.now ?? Date.now;
  const { url, state, code_verifier } = await client.begin();
  let server: Server | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<GrantedTokens>((resolve, reject) => {
      let handled = false;
      server = createServer((request, response) => {
        const callback = new URL(request.url ?? '/', client.redirect_uri);
        if (request.method !== 'GET' || callback.pathname !== '/callback' || handled) {
          response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
          return;
        }
        handled = true;
        client.finish(callback, state, code_verifier, now()).then(
          (tokens) => {
            response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('botc: signed in. You can close this window.\n');
            resolve(tokens);
          },
          (error: unknown) => {
            response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('botc: sign-in failed; see the terminal.\n');
            reject(error);
          },
        );
      });
      server.on('error', (error: NodeJS.ErrnoException) =>
        reject(new OAuthError(`cannot listen on 127.0.0.1:${options.port} for the redirect (${error.code ?? error.message})`)),
      );
      server.listen(options.port, '127.0.0.1', () => {
        timer = setTimeout(
          () => reject(new OAuthError(`no redirect to ${client.redirect_uri} within ${Math.round((options.timeout_ms ?? DEFAULT_LOGIN_TIMEOUT_MS) / 1000)} s`)),
          options.timeout_ms ?? DEFAULT_LOGIN_TIMEOUT_MS,
        );
        options.onAuthorizationUrl(url);
      });
    });
  } finally {
    if (timer) clearTimeout(timer);
    const listening = server as Server | undefined;
    if (listening?.listening) {
      listening.closeAllConnections();
      await new Promise<void>((done) => listening.close(() => done()));
    }
  }
}
