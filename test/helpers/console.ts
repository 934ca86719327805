import { serve, type ServerType } from '@hono/node-server';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { build } from '../../src/build/build.ts';
import { ApprovedVersions } from '../../src/console/approved.ts';
import { createConsoleApp, type ConsoleOptions } from '../../src/console/app.ts';
import { ConsoleUsers } from '../../src/console/users.ts';
import type { CredentialSource } from '../../src/integration/credentials.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { openSqliteStore } from '../../src/state/sqlite.ts';
import type { ReviewItem, StateStore } from '../../src/state/types.ts';
import { REPO_ROOT } from './cli.ts';
import { tempDir } from './workspace.ts';
import { loopbackConfig } from '../servers/fake.ts';
import { SLACK_TOKEN, startSlack, type SlackFake } from '../servers/slack.ts';

/** Two people of two tenants; each secret is long enough for `users add`. */
export const ALICE = { tenant: 'acme', name: 'alice', secret: 'correct horse battery staple' };
export const BOB = { tenant: 'globex', name: 'bob', secret: 'globex bob secret 42' };
export const MESSAGE = { channel: 'C0100000002', text: ':rotating_light: sev1: webhook deliveries time out' };

const credentials: CredentialSource = {
  async get(tenant, provider) {
    return provider === 'slack' && (tenant === 'acme' || tenant === 'globex') ? { secret: SLACK_TOKEN, scopes: ['chat:write', 'channels:read', 'groups:read'] } : undefined;
  },
};

/** A console over a SQLite store, the workspace's support_triage bundle and a loopback Slack. */
export interface ConsoleFixture {
  dir: string;
  out: string;
  bundlePath: string;
  store: StateStore;
  stateFile: string;
  slack: SlackFake;
  users: ConsoleUsers;
  base: string;
  server: ServerType;
  /** Has the support_triage expert propose a Slack message in `tenant`, approver `approver`; returns the confirmation id. */
  propose(tenant: string, approver: string, text?: string): Promise<string>;
  /** Queues imported records (one batch) in a tenant; returns them. */
  importRecords(tenant: string, records: Record<string, unknown>[], batch?: string): Promise<ReviewItem[]>;
  close(): Promise<void>;
}

let built: { out: string } | undefined;

/**
 * Builds the repository's support_triage bot once per test file. Test files share a worker's
 * modules (isolate: false) and each file's temporary folders are removed after it, so a build
 * left by an earlier file is used only while its bundle is still there.
 */
async function buildOnce(): Promise<string> {
  if (!built || !existsSync(path.join(built.out, 'support_triage.bundle.json'))) {
    const out = tempDir('botc-console-out-');
    const result = await build({ root: REPO_ROOT, out, bots: ['support_triage'], write: true });
    if (!result.ok) throw new Error(`build failed: ${JSON.stringify(result.diagnostics.slice(0, 3))}`);
    built = { out };
  }
  return built.out;
}

export async function startConsole(extra: Partial<ConsoleOptions> = {}): Promise<ConsoleFixture> {
  const out = await buildOnce();
  const dir = tempDir('botc-console-');
  const stateFile = path.join(dir, 'state.db');
  const store = openSqliteStore(stateFile);
  const slack = await startSlack();
  const users = new ConsoleUsers(path.join(dir, 'console-users.json'));
  await users.add(ALICE.name, ALICE.tenant, ALICE.secret);
  await users.add(BOB.name, BOB.tenant, BOB.secret);
  const bundlePath = path.join(out, 'support_triage.bundle.json');
  const load = (s: StateStore) => Runtime.load(bundlePath, { root: REPO_ROOT, store: s, credentials, providerConfig: { slack: loopbackConfig(slack.baseUrl) }, bundle_path: bundlePath });
  const app = createConsoleApp({
    store,
    users,
    bundlesDir: out,
    approved: new ApprovedVersions(path.join(dir, 'approved.json')),
    runtimeFor: (_path, s) => load(s),
    ...extra,
  });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const shared = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'close') return async () => {};
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    dir, out, bundlePath, store, stateFile, slack, users, base, server,
    async propose(tenant, approver, text = MESSAGE.text) {
      const runtime = await load(shared);
      const result = await runtime.callTool({
        expert: 'escalation', tool: 'notify', op: 'call', tenant, approver,
        args: { method_id: 'slack.chat.post_message.v1', params: { channel: MESSAGE.channel, text } },
      });
      await runtime.close();
      const confirmation = !result.ok ? (result.meta['confirmation'] as { id?: string } | undefined) : undefined;
      if (!confirmation?.id) throw new Error(`expected CONFIRMATION_REQUIRED, got ${JSON.stringify(result).slice(0, 300)}`);
      return confirmation.id;
    },
    async importRecords(tenant, records, batch = `batch_${randomUUID().replace(/-/g, '')}`) {
      const items: ReviewItem[] = records.map((record) => {
        const json = JSON.stringify(record);
        return {
          id: `rev_${randomUUID().replace(/-/g, '')}`, tenant, provider: 'github', method_id: 'github.issues.list.v1', record_key: String(record['id']),
          record_json: json, record_sha256: createHash('sha256').update(json).digest('hex'), status: 'pending', batch_id: batch,
          created_at: Date.now(), decided_by: null, decided_at: null,
        };
      });
      return store.enqueueImport(items, null);
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await slack.stop();
      await store.close();
    },
  };
}

/** A signed-in person over fetch: the session cookie and the page's CSRF token. */
export interface Browserless {
  cookie: string;
  csrf: string;
  get(pathname: string): Promise<Response>;
  post(pathname: string, fields: Record<string, string>, options?: { csrf?: string | null; headers?: Record<string, string> }): Promise<Response>;
}

/** Reads a cookie value from a response's Set-Cookie headers. */
export function cookieFrom(response: Response, name: string): string | undefined {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const [key, value] = pair!.split('=');
    if (key === name) return value;
  }
  return undefined;
}

export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF field on the page');
  return match[1]!;
}

/** Signs in with fetch as `who`; throws unless it succeeds. */
export async function signIn(base: string, who: { tenant: string; name: string; secret: string }): Promise<Browserless> {
  const form = await fetch(`${base}/login`);
  const loginCookie = cookieFrom(form, 'botc_login')!;
  const response = await fetch(`${base}/login`, {
    method: 'POST', redirect: 'manual',
    headers: { cookie: `botc_login=${loginCookie}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrfOf(await form.text()), tenant: who.tenant, name: who.name, secret: who.secret }),
  });
  if (response.status !== 303) throw new Error(`sign-in failed: ${response.status}`);
  const cookie = `botc_session=${cookieFrom(response, 'botc_session')}`;
  const home = await fetch(`${base}/confirmations`, { headers: { cookie } });
  const csrf = csrfOf(await home.text());
  return {
    cookie, csrf,
    get: (pathname) => fetch(`${base}${pathname}`, { headers: { cookie }, redirect: 'manual' }),
    post: (pathname, fields, options = {}) => {
      const token = options.csrf === undefined ? csrf : options.csrf;
      return fetch(`${base}${pathname}`, {
        method: 'POST', redirect: 'manual',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...(options.headers ?? {}) },
        body: new URLSearchParams({ ...(token === null ? {} : { _csrf: token }), ...fields }),
      });
    },
  };
}
