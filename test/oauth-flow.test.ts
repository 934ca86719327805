import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type Io } from '../src/cli/main.ts';
import { openSqliteStore } from '../src/state/sqlite.ts';
import { CredentialVault } from '../src/state/vault.ts';
import { authorizeInBrowser, CLIENT_ID, CLIENT_SECRET, startAuthServer, type TestAuthServer } from './helpers/oidc.ts';
import { tempDir } from './helpers/workspace.ts';

const KEY = randomBytes(32).toString('hex');

let server: TestAuthServer;
beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(async () => {
  await server.close();
});

function workspace(oauth: Record<string, unknown>): { root: string; state: string } {
  const root = tempDir('botc-oauth-');
  writeFileSync(path.join(root, 'botc.config.json'), JSON.stringify({ providers: { github: { oauth } } }));
  return { root, state: path.join(root, 'state.db') };
}

const discovery = () => ({ issuer: server.issuer, client_id: CLIENT_ID, scopes: ['repo:read', 'offline_access'], redirect_port: server.redirectPort });

/**
 * Runs `botc auth login` in process. `browser` receives the authorization URL (the first line
 * of stdout) and acts as the person's browser; it returns when it has sent the redirect.
 */
async function login(ws: { root: string; state: string }, browser: (url: string) => Promise<void>, env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  let sawUrl: (url: string) => void = () => {};
  const urlSeen = new Promise<string>((resolve) => (sawUrl = resolve));
  const io: Io = {
    stdout: (text) => {
      if (stdout === '') sawUrl(text.split('\n')[0]!);
      stdout += text;
    },
    stderr: (text) => (stderr += text),
    env: { BOTC_SECRET_KEY: KEY, BOTC_OAUTH_GITHUB_CLIENT_SECRET: CLIENT_SECRET, ...env },
  };
  const running = main(['auth', 'login', 'github', '--tenant', 'acme', '--root', ws.root, '--state', ws.state, '--timeout-ms', '4000'], io);
  const driving = urlSeen.then(browser);
  const [status] = await Promise.all([running, driving]);
  return { status, stdout, stderr };
}

/** Follows the authorization URL and delivers the redirect to the loopback listener. */
const honestBrowser = async (url: string) => {
  const callback = await authorizeInBrowser(url, server.redirectPort);
  await fetch(callback).then((r) => r.arrayBuffer());
};

async function status(ws: { root: string; state: string }): Promise<unknown[]> {
  let out = '';
  const code = await main(['auth', 'status', '--root', ws.root, '--state', ws.state], { stdout: (t) => (out += t), stderr: () => {}, env: {} });
  expect(code).toBe(0);
  return JSON.parse(out) as unknown[];
}

describe('botc auth login against a real authorization server (oidc-provider)', () => {
  it('prints the authorization URL first, verifies state and PKCE, stores access and refresh token encrypted, exits 0', async () => {
    const ws = workspace(discovery());
    const run = await login(ws, honestBrowser);
    expect(run.stderr).not.toMatch(/failed/);
    expect(run.status).toBe(0);
    const first = new URL(run.stdout.split('\n')[0]!);
    expect(first.origin).toBe(server.issuer);
    expect(first.searchParams.get('code_challenge_method')).toBe('S256');
    expect(first.searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${server.redirectPort}/callback`);
    expect(first.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);

    const store = openSqliteStore(ws.state);
    try {
      const stored = await new CredentialVault(store, Buffer.from(KEY, 'hex')).getOAuth('acme', 'github');
      expect(stored?.tokens.access_token).toBeTruthy();
      expect(stored?.tokens.refresh_token).toBeTruthy();
      // The scopes the server granted (it drops offline_access without prompt=consent), not those asked for.
      expect(stored?.scopes).toEqual(['repo:read']);
      expect(stored!.expires_at!).toBeGreaterThan(Date.now());
      // Encrypted at rest: no token in the row, nor in the audit log or the command's output.
      const raw = JSON.stringify(await store.getCredential('acme', 'github'));
      expect(raw).not.toContain(stored!.tokens.access_token);
      const audit = JSON.stringify(await store.listAudit({ tenant: 'acme' }));
      expect(audit).toContain('credential.added');
      for (const token of [stored!.tokens.access_token, stored!.tokens.refresh_token!]) {
        expect(audit).not.toContain(token);
        expect(run.stdout + run.stderr).not.toContain(token);
      }
    } finally {
      await store.close();
    }
    const listed = await status(ws);
    expect(listed).toEqual([expect.objectContaining({ tenant: 'acme', provider: 'github', kind: 'oauth', scopes: ['repo:read'] })]);
    expect(JSON.stringify(listed)).not.toMatch(/token/);
  });

  it('works with configured endpoints instead of discovery', async () => {
    const ws = workspace({
      authorization_endpoint: `${server.issuer}/auth`,
      token_endpoint: `${server.issuer}/token`,
      revocation_endpoint: `${server.issuer}/token/revocation`,
      client_id: CLIENT_ID,
      scopes: ['repo:read', 'offline_access'],
      redirect_port: server.redirectPort,
    });
    const run = await login(ws, honestBrowser);
    expect(run.stderr).not.toMatch(/failed/);
    expect(run.status).toBe(0);
  });

  it('refuses a redirect with the wrong state: exit 1, nothing stored, audited', async () => {
    const ws = workspace(discovery());
    const run = await login(ws, async (url) => {
      const callback = await authorizeInBrowser(url, server.redirectPort);
      callback.searchParams.set('state', 'forged-state-from-an-attacker');
      await fetch(callback).then((r) => r.arrayBuffer());
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/state/);
    expect(await status(ws)).toEqual([]);
    const store = openSqliteStore(ws.state);
    try {
      expect((await store.listAudit({ tenant: 'acme', action: 'credential.login_failed' })).length).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('refuses a code bound to another PKCE verifier (a code injected from another login): the server answers invalid_grant', async () => {
    const ws = workspace(discovery());
    // The attacker's own login at the same server: its code carries the attacker's PKCE challenge.
    const attacker = new URL(`${server.issuer}/auth`);
    attacker.search = new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: `http://127.0.0.1:${server.redirectPort}/callback`,
      scope: 'repo:read',
      state: 'x',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const injected = await authorizeInBrowser(attacker.href, server.redirectPort);
    const run = await login(ws, async (url) => {
      const callback = new URL(injected);
      // The victim's state is copied so only PKCE can tell the code is not theirs.
      callback.searchParams.set('state', new URL(url).searchParams.get('state')!);
      await fetch(callback).then((r) => r.arrayBuffer());
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/invalid_grant/);
    expect(await status(ws)).toEqual([]);
  });

  it('revokes at the provider (RFC 7009) and then locally', async () => {
    const ws = workspace(discovery());
    expect((await login(ws, honestBrowser)).status).toBe(0);
    const store = openSqliteStore(ws.state);
    const before = await new CredentialVault(store, Buffer.from(KEY, 'hex')).getOAuth('acme', 'github');
    await store.close();
    let out = '';
    const code = await main(['auth', 'revoke', 'github', '--tenant', 'acme', '--root', ws.root, '--state', ws.state], {
      stdout: (t) => (out += t),
      stderr: () => {},
      env: { BOTC_SECRET_KEY: KEY, BOTC_OAUTH_GITHUB_CLIENT_SECRET: CLIENT_SECRET },
    });
    expect(code).toBe(0);
    expect(out).toMatch(/at the provider and locally/);
    expect(await status(ws)).toEqual([]);
    // The provider no longer honours the refresh token.
    const refreshed = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: before!.tokens.refresh_token! }),
    });
    expect(refreshed.status).toBe(400);
    expect(((await refreshed.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('says how to configure a provider that has no oauth settings (exit 2)', async () => {
    const root = tempDir('botc-oauth-');
    writeFileSync(path.join(root, 'botc.config.json'), '{}');
    let err = '';
    const code = await main(['auth', 'login', 'github', '--root', root], { stdout: () => {}, stderr: (t) => (err += t), env: { BOTC_SECRET_KEY: KEY } });
    expect(code).toBe(2);
    expect(err).toMatch(/no OAuth settings for `github`/);
  });
});
