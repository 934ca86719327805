import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/console/app.ts';
import { decideConfirmation } from '../src/console/confirmations.ts';
import { ConsoleUsers } from '../src/console/users.ts';
import { main } from '../src/cli/main.ts';
import { MemoryStore } from '../src/state/memory.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { ALICE, BOB, MESSAGE, cookieFrom, csrfOf, signIn, startConsole, type ConsoleFixture } from './helpers/console.ts';
import { tempDir, writeFiles } from './helpers/workspace.ts';

let fx: ConsoleFixture;

beforeAll(async () => {
  fx = await startConsole();
});
afterAll(async () => {
  await fx?.close();
});
beforeEach(() => {
  fx.slack.reset();
});

const PAGES = ['/confirmations', '/reviews', '/audit', '/bundles', '/bundles/support_triage'];

describe('console: sign-in and sessions', () => {
  it('sends a person who is not signed in to the sign-in page, and refuses their posts', async () => {
    for (const page of PAGES) {
      const response = await fetch(`${fx.base}${page}`, { redirect: 'manual' });
      expect(response.status, page).toBe(303);
      expect(response.headers.get('location')).toBe('/login');
    }
    const id = await fx.propose('acme', 'alice');
    const post = await fetch(`${fx.base}/confirmations/${id}/approve`, { method: 'POST', body: new URLSearchParams({ _csrf: 'x' }) });
    expect(post.status).toBe(401);
    expect(fx.slack.posted).toHaveLength(0);
  });

  it('refuses a wrong secret, an unknown name and another tenant alike (401)', async () => {
    for (const attempt of [{ ...ALICE, secret: 'wrong wrong wrong' }, { ...ALICE, name: 'mallory' }, { ...ALICE, tenant: 'globex' }]) {
      await expect(signIn(fx.base, attempt)).rejects.toThrow('sign-in failed: 401');
    }
  });

  it('sets the session cookie HttpOnly, SameSite=Strict, Path=/ and a fresh id at each sign-in', async () => {
    const form = await fetch(`${fx.base}/login`);
    const login = cookieFrom(form, 'botc_login')!;
    const planted = 'planted-session-id';
    const response = await fetch(`${fx.base}/login`, {
      method: 'POST', redirect: 'manual',
      headers: { cookie: `botc_login=${login}; botc_session=${planted}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrfOf(await form.text()), tenant: ALICE.tenant, name: ALICE.name, secret: ALICE.secret }),
    });
    expect(response.status).toBe(303);
    const line = response.headers.getSetCookie().find((l) => l.startsWith('botc_session='))!;
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/SameSite=Strict/);
    expect(line).toMatch(/Path=\//);
    expect(line).not.toMatch(/Secure/);
    expect(cookieFrom(response, 'botc_session')).not.toBe(planted);
    expect(cookieFrom(response, 'botc_session')!.length).toBeGreaterThanOrEqual(43);
  });

  it('marks cookies Secure with the __Host- prefix when served over TLS', async () => {
    const users = new ConsoleUsers(path.join(tempDir('botc-console-tls-'), 'users.json'));
    await users.add(ALICE.name, ALICE.tenant, ALICE.secret);
    const app = createConsoleApp({ store: new MemoryStore(), users, bundlesDir: fx.out, secure: true, runtimeFor: () => Promise.reject(new Error('unused')) });
    const form = await app.request('https://console.example/login');
    const line = form.headers.getSetCookie()[0]!;
    expect(line).toMatch(/^__Host-botc_login=/);
    expect(line).toMatch(/Secure/);
    const login = /^__Host-botc_login=([^;]+)/.exec(line)![1]!;
    const response = await app.request('https://console.example/login', {
      method: 'POST', headers: { cookie: `__Host-botc_login=${login}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrfOf(await form.text()), tenant: ALICE.tenant, name: ALICE.name, secret: ALICE.secret }),
    });
    const session = response.headers.getSetCookie().find((l) => l.startsWith('__Host-botc_session='))!;
    expect(session).toMatch(/Secure/);
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=/);
  });

  it('refuses a sign-in post without the sign-in form token (login CSRF)', async () => {
    const response = await fetch(`${fx.base}/login`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ tenant: ALICE.tenant, name: ALICE.name, secret: ALICE.secret }),
    });
    expect(response.status).toBe(403);
    expect(response.headers.getSetCookie().some((l) => l.startsWith('botc_session='))).toBe(false);
  });

  it('ends the session of a person removed from the console, and at sign-out', async () => {
    await fx.users.add('carol', 'acme', 'carol secret 123456');
    const carol = await signIn(fx.base, { tenant: 'acme', name: 'carol', secret: 'carol secret 123456' });
    expect((await carol.get('/confirmations')).status).toBe(200);
    fx.users.remove('carol', 'acme');
    expect((await carol.get('/confirmations')).status).toBe(303);
    const alice = await signIn(fx.base, ALICE);
    expect((await alice.post('/logout', {})).status).toBe(303);
    expect((await alice.get('/confirmations')).status).toBe(303);
  });
});

describe('console: CSRF and cross-site requests', () => {
  it('refuses an approval without the CSRF token or with a wrong one (403), and sends nothing', async () => {
    const id = await fx.propose('acme', 'alice');
    const alice = await signIn(fx.base, ALICE);
    expect((await alice.post(`/confirmations/${id}/approve`, {}, { csrf: null })).status).toBe(403);
    expect((await alice.post(`/confirmations/${id}/approve`, {}, { csrf: 'A'.repeat(43) })).status).toBe(403);
    const bob = await signIn(fx.base, BOB);
    expect((await alice.post(`/confirmations/${id}/reject`, { reason: 'x' }, { csrf: bob.csrf })).status).toBe(403);
    expect(fx.slack.posted).toHaveLength(0);
    expect(await (await alice.get(`/confirmations/${id}`)).text()).toContain('>pending<');
  });

  it('refuses every state-changing route without the token', async () => {
    const alice = await signIn(fx.base, ALICE);
    const [item] = await fx.importRecords('acme', [{ id: 'csrf-1', title: 'x' }]);
    for (const route of [`/reviews/${item!.id}`, `/reviews/batch/${item!.batch_id}`, '/logout']) {
      expect((await alice.post(route, { decision: 'approved' }, { csrf: null })).status, route).toBe(403);
    }
    expect((await fx.store.listReviews({ tenant: 'acme', batch_id: item!.batch_id }))[0]!.status).toBe('pending');
  });

  it('refuses a post from another origin even with a valid token', async () => {
    const id = await fx.propose('acme', 'alice');
    const alice = await signIn(fx.base, ALICE);
    expect((await alice.post(`/confirmations/${id}/approve`, {}, { headers: { origin: 'https://evil.example' } })).status).toBe(403);
    expect((await alice.post(`/confirmations/${id}/approve`, {}, { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect((await alice.post(`/confirmations/${id}/approve`, {}, { headers: { origin: 'null' } })).status).toBe(403);
    expect(fx.slack.posted).toHaveLength(0);
  });
});

describe('console: security headers', () => {
  it('sends a CSP without inline scripts or styles, and no page has an inline script or style', async () => {
    const alice = await signIn(fx.base, ALICE);
    await fx.propose('acme', 'alice');
    const id = (await fx.store.listAudit({ tenant: 'acme', action: 'confirmation.created' })).at(-1)!.detail['confirmation_id'] as string;
    for (const page of [...PAGES, `/confirmations/${id}`, '/audit/1']) {
      const response = await alice.get(page);
      expect(response.status, page).toBe(200);
      const csp = response.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('same-origin');
      expect(response.headers.get('cache-control')).toBe('no-store');
      const body = await response.text();
      expect(body, page).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(body, page).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    }
  });

  it('answers 421 to a Host name it does not serve (DNS rebinding)', async () => {
    const app = createConsoleApp({ store: new MemoryStore(), users: fx.users, bundlesDir: fx.out, allowedHosts: ['127.0.0.1', 'localhost'], runtimeFor: () => Promise.reject(new Error('unused')) });
    expect((await app.request('http://rebind.example/login')).status).toBe(421);
    expect((await app.request('http://127.0.0.1:8780/login')).status).toBe(200);
  });

  it('refuses a request body over 64 KiB (413)', async () => {
    const response = await fetch(`${fx.base}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `a=${'x'.repeat(70_000)}` });
    expect(response.status).toBe(413);
  });
});

describe('console: tenants', () => {
  it("does not show or act on another tenant's confirmation, record or audit entry, also by URL guessing", async () => {
    const id = await fx.propose('acme', 'alice');
    const [record] = await fx.importRecords('acme', [{ id: 'acme-secret-record', title: 'acme only' }]);
    const bob = await signIn(fx.base, BOB);
    const list = await (await bob.get('/confirmations')).text();
    expect(list).not.toContain(id);
    expect((await bob.get(`/confirmations/${id}`)).status).toBe(404);
    expect((await bob.post(`/confirmations/${id}/approve`, {})).status).toBe(404);
    expect((await bob.post(`/confirmations/${id}/reject`, { reason: 'mine now' })).status).toBe(404);
    expect((await bob.get(`/reviews/${record!.id}`)).status).toBe(404);
    expect((await bob.post(`/reviews/${record!.id}`, { decision: 'approved' })).status).toBe(404);
    expect((await bob.post(`/reviews/batch/${record!.batch_id}`, { decision: 'approved' })).status).toBe(404);
    expect(await (await bob.get('/reviews')).text()).not.toContain('acme-secret-record');
    const audit = await (await bob.get('/audit')).text();
    expect(audit).not.toContain('slack.chat.post_message.v1');
    expect((await bob.get('/audit/999999')).status).toBe(404);
    expect(fx.slack.posted).toHaveLength(0);
    expect((await fx.store.getConfirmationById(id))!.used_at).toBeNull();
    expect((await fx.store.listReviews({ tenant: 'acme', batch_id: record!.batch_id }))[0]!.status).toBe('pending');
  });
});

describe('console: confirmations', () => {
  it('shows the exact request with credentials redacted and the Slack message as a message', async () => {
    const id = await fx.propose('acme', 'alice');
    const alice = await signIn(fx.base, ALICE);
    const page = await (await alice.get(`/confirmations/${id}`)).text();
    expect(page).toContain('aria-label="Slack message"');
    expect(page).toContain(MESSAGE.text);
    expect(page).toContain('[redacted]');
    expect(page).not.toContain('xoxb-');
    expect(page).toContain('exactly the request that was proposed');
    expect(page).toContain('expert:escalation');
  });

  it('approves as the signed-in person: the runtime sends it and the audit names that person', async () => {
    const id = await fx.propose('acme', 'alice', 'approved from the console');
    const alice = await signIn(fx.base, ALICE);
    const response = await alice.post(`/confirmations/${id}/approve`, {});
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Approved and sent.');
    expect(fx.slack.posted).toEqual([expect.objectContaining({ channel: MESSAGE.channel, text: 'approved from the console' })]);
    const used = (await fx.store.listAudit({ tenant: 'acme', action: 'confirmation.used' })).find((e) => e.detail['confirmation_id'] === id)!;
    expect(used.actor).toBe('user:alice');
    const call = (await fx.store.listAudit({ tenant: 'acme', action: 'call' })).at(-1)!;
    expect(call).toMatchObject({ actor: 'user:alice', outcome: 'ok' });
    expect(call.detail['confirmed_by']).toBe('alice');
    // A second approval is refused by the runtime: a confirmation is used once.
    expect((await alice.post(`/confirmations/${id}/approve`, {})).status).toBe(409);
    expect(fx.slack.posted).toHaveLength(1);
  });

  it('refuses an approval by a person the confirmation does not name', async () => {
    await fx.users.add('dave', 'acme', 'dave secret 123456');
    const id = await fx.propose('acme', 'alice');
    const dave = await signIn(fx.base, { tenant: 'acme', name: 'dave', secret: 'dave secret 123456' });
    const response = await dave.post(`/confirmations/${id}/approve`, {});
    expect(response.status).toBe(409);
    expect(await response.text()).toContain('only alice may approve');
    expect(fx.slack.posted).toHaveLength(0);
  });

  it('refuses an approval whose recorded bundle no longer loads (409), and sends nothing', async () => {
    const id = await fx.propose('acme', 'alice');
    const outcome = await decideConfirmation(fx.store, () => Promise.reject(new Error('bundle changed')), { tenant: 'acme', id, person: 'alice', decision: 'approve' });
    expect(outcome).toMatchObject({ ok: false, status: 409 });
    expect(fx.slack.posted).toHaveLength(0);
    expect((await fx.store.getConfirmationById(id))!.used_at).toBeNull();
  });

  it('rejects with a reason: it can never be sent, and the audit names the person and the reason', async () => {
    const id = await fx.propose('acme', 'alice');
    const alice = await signIn(fx.base, ALICE);
    const response = await alice.post(`/confirmations/${id}/reject`, { reason: 'wrong channel' });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('>rejected<');
    const entry = (await fx.store.listAudit({ tenant: 'acme', action: 'confirmation.rejected' })).at(-1)!;
    expect(entry).toMatchObject({ actor: 'user:alice', outcome: 'ok' });
    expect(entry.detail).toMatchObject({ confirmation_id: id, reason: 'wrong channel' });
    expect((await alice.post(`/confirmations/${id}/approve`, {})).status).toBe(409);
    expect(fx.slack.posted).toHaveLength(0);
  });
});

describe('console: review queue and audit', () => {
  it('approves and rejects per record and per batch, and shows the diff against the approved version', async () => {
    const alice = await signIn(fx.base, ALICE);
    const [first, second] = await fx.importRecords('acme', [{ id: 'rec-1', title: 'first' }, { id: 'rec-2', title: 'second' }]);
    expect(await (await alice.post(`/reviews/${second!.id}`, { decision: 'rejected' })).text()).toContain('Rejected rec-2');
    await alice.post(`/reviews/batch/${first!.batch_id}`, { decision: 'approved' });
    const decided = await fx.store.listReviews({ tenant: 'acme', batch_id: first!.batch_id });
    expect(decided.map((r) => [r.record_key, r.status, r.decided_by])).toEqual(expect.arrayContaining([['rec-1', 'approved', 'alice'], ['rec-2', 'rejected', 'alice']]));
    const [changed] = await fx.importRecords('acme', [{ id: 'rec-1', title: 'first, edited' }]);
    const page = await (await alice.get(`/reviews/${changed!.id}`)).text();
    expect(page).toContain('<del class="del">-   &quot;title&quot;: &quot;first&quot;');
    expect(page).toContain('<ins class="add">+   &quot;title&quot;: &quot;first, edited&quot;');
  });

  it('filters the audit log and reports a tampered chain with its first bad entry', async () => {
    const alice = await signIn(fx.base, ALICE);
    await fx.propose('acme', 'alice');
    expect(await (await alice.get('/audit')).text()).toContain('Chain verified');
    const filtered = await (await alice.get('/audit?integration=slack&outcome=pending&actor=expert%3Aescalation')).text();
    expect(filtered).toContain('confirmation.created');
    expect(filtered).not.toContain('console.signed_in');
    expect(await (await alice.get('/audit?actor=alice')).text()).toContain('console.signed_in');
    const db = new Database(fx.stateFile);
    db.exec('DROP TRIGGER botc_audit_no_update');
    db.prepare("UPDATE botc_audit SET outcome = 'tampered' WHERE tenant = 'acme' AND seq = 2").run();
    db.close();
    const page = await (await alice.get('/audit')).text();
    expect(page).toContain('Chain broken at entry <a href="/audit/2">#2</a>');
  });
});

describe('botc console users', () => {
  const run = (argv: string[], stdin = '') => {
    const out = { stdout: '', stderr: '' };
    return main(argv, { stdout: (t) => { out.stdout += t; }, stderr: (t) => { out.stderr += t; }, stdin: async () => stdin, env: {} }).then((code) => ({ code, ...out }));
  };

  it('adds a person with the secret from stdin as an Argon2id hash, lists without hashes, removes', async () => {
    const root = tempDir('botc-console-users-');
    writeFiles(root, { 'botc.config.json': '{}' });
    expect((await run(['console', 'users', 'add', 'erin', '--tenant', 'acme', '--root', root], 'a long enough secret\n')).code).toBe(0);
    const file = readFileSync(path.join(root, '.botc/console-users.json'), 'utf8');
    expect(file).not.toContain('a long enough secret');
    expect(file).toMatch(/"password_hash": "\$argon2id\$v=19\$/);
    const listed = await run(['console', 'users', 'list', '--root', root]);
    expect(JSON.parse(listed.stdout)).toEqual([{ name: 'erin', tenant: 'acme', created_at: expect.any(String) }]);
    expect(listed.stdout).not.toContain('argon2');
    expect(await new ConsoleUsers(path.join(root, '.botc/console-users.json')).verify('erin', 'acme', 'a long enough secret')).toBe(true);
    expect((await run(['console', 'users', 'remove', 'erin', '--tenant', 'acme', '--root', root])).code).toBe(0);
    expect((await run(['console', 'users', 'remove', 'erin', '--tenant', 'acme', '--root', root])).code).toBe(1);
  });

  it('refuses a short secret, a bad name and a missing tenant (exit 2)', async () => {
    const root = tempDir('botc-console-users-');
    writeFiles(root, { 'botc.config.json': '{}' });
    expect((await run(['console', 'users', 'add', 'erin', '--tenant', 'acme', '--root', root], 'short')).code).toBe(2);
    expect((await run(['console', 'users', 'add', '../x', '--tenant', 'acme', '--root', root], 'a long enough secret')).code).toBe(2);
    expect((await run(['console', 'users', 'add', 'erin', '--root', root], 'a long enough secret')).code).toBe(2);
  });

  it('binds to loopback by default', async () => {
    const root = tempDir('botc-console-bind-');
    writeFiles(root, { 'botc.config.json': '{}' });
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/botc.js'), 'console', '--http', '0', '--root', root], { stdio: ['ignore', 'ignore', 'pipe'] });
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stderr.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(text);
      });
      child.once('exit', () => reject(new Error(`exited: ${text}`)));
    });
    child.kill('SIGTERM');
    expect(line).toMatch(/^botc: console at http:\/\/127\.0\.0\.1:\d+\/\n/);
  });
});
