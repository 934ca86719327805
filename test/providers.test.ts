/**
 * The ported provider integrations (GitHub, Slack, HubSpot) end to end: bundles built from
 * the example workspace, loaded by the Runtime, calling fake provider servers over real HTTP.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import type { IntegrationResult, RetryPolicy } from '../src/integration/types.ts';
import type { CredentialSource } from '../src/integration/credentials.ts';
import { CursorSealer } from '../src/runtime/cursors.ts';
import { Runtime, type ToolCall } from '../src/runtime/runtime.ts';
import { MemoryStore } from '../src/state/memory.ts';
import { decideReview } from '../src/state/reviews.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { callConfirmed } from './helpers/governance.ts';
import { tempDir } from './helpers/workspace.ts';
import { loopbackConfig } from './servers/fake.ts';
import { GITHUB_ISSUES, GITHUB_OWNER, GITHUB_REPO, GITHUB_TOKEN, startGitHub, type GitHubFake } from './servers/github.ts';
import { HUBSPOT_DEALS, HUBSPOT_TOKEN, startHubSpot, type HubSpotFake } from './servers/hubspot.ts';
import { SLACK_CHANNELS, SLACK_TOKEN, startSlack, type SlackFake } from './servers/slack.ts';
import { STATUSPAGE_KEY, STATUSPAGE_PAGE, startStatuspage, type StatuspageFake } from './servers/statuspage.ts';

const WRONG_GITHUB_TOKEN = 'ghp_WRONGtoken9999999999999999999999999';
const SECRETS = [GITHUB_TOKEN, SLACK_TOKEN, HUBSPOT_TOKEN, STATUSPAGE_KEY, WRONG_GITHUB_TOKEN];

const CREDENTIALS: Record<string, Record<string, { secret: string; scopes: string[] }>> = {
  acme: {
    github: { secret: GITHUB_TOKEN, scopes: ['repo:read'] },
    slack: { secret: SLACK_TOKEN, scopes: ['chat:write', 'channels:read', 'groups:read'] },
    hubspot: { secret: HUBSPOT_TOKEN, scopes: ['crm.objects.deals.read', 'crm.objects.contacts.read'] },
    statuspage: { secret: STATUSPAGE_KEY, scopes: ['page:read'] },
  },
  revoked: {
    github: { secret: WRONG_GITHUB_TOKEN, scopes: ['repo:read'] },
  },
};

const credentials: CredentialSource = {
  async get(tenant, provider) {
    const found = CREDENTIALS[tenant]?.[provider];
    return found ? { secret: found.secret, scopes: [...found.scopes] } : undefined;
  },
};

const RETRIES: RetryPolicy = { max_attempts: 3, backoff_ms: 10, max_backoff_ms: 2000 };

let out: string;
let github: GitHubFake;
let slack: SlackFake;
let hubspot: HubSpotFake;
let statuspage: StatuspageFake;

beforeAll(async () => {
  out = tempDir('botc-providers-');
  const built = await build({ root: REPO_ROOT, out, write: true });
  expect(built.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(built.ok).toBe(true);
  [github, slack, hubspot, statuspage] = await Promise.all([startGitHub(), startSlack(), startHubSpot(), startStatuspage()]);
});

afterAll(async () => {
  await Promise.all([...loaded.values()].map(async (r) => (await r).close()));
  await Promise.all([github?.stop(), slack?.stop(), hubspot?.stop(), statuspage?.stop()]);
});

afterEach(() => {
  github.reset();
  slack.reset();
  hubspot.reset();
  statuspage.reset();
});

/** The key every runtime here seals cursors with, so a test can seal a raw cursor itself (cursors.ts). */
const CURSOR_KEY = Buffer.alloc(32, 3);
const sealer = new CursorSealer(CURSOR_KEY);
const seal = (method_id: string, params: Record<string, unknown>, raw: string) => sealer.seal({ tenant: 'acme', method_id, params }, raw);
const unseal = (method_id: string, params: Record<string, unknown>, sealed: string | null) => (sealed === null ? null : sealer.open({ tenant: 'acme', method_id, params }, sealed));

const loaded = new Map<string, Promise<Runtime>>();
/** The state of each loaded runtime (review queue, sync cursors), by the same key. */
const stores = new Map<string, MemoryStore>();

/** A runtime for `bot`, shared by the tests that use the same options. */
function load(bot: string, options: { timeout_ms?: number; retry_policy?: RetryPolicy } = {}): Promise<Runtime> {
  const key = JSON.stringify([bot, options]);
  let runtime = loaded.get(key);
  if (!runtime) {
    const store = new MemoryStore();
    stores.set(key, store);
    runtime = Runtime.load(path.join(out, `${bot}.bundle.json`), {
      root: REPO_ROOT,
      store,
      credentials,
      cursor_key: CURSOR_KEY,
      providerConfig: {
        github: loopbackConfig(github.baseUrl),
        slack: loopbackConfig(slack.baseUrl),
        hubspot: loopbackConfig(hubspot.baseUrl),
        statuspage: loopbackConfig(statuspage.baseUrl),
      },
      ...options,
    });
    loaded.set(key, runtime);
  }
  return runtime;
}

/** One tool call; every result is checked for leaked secrets. */
async function call(runtime: Runtime, toolCall: Omit<ToolCall, 'op'> & { op?: string }): Promise<IntegrationResult> {
  const result = await runtime.callTool({ op: 'call', tenant: 'acme', ...toolCall });
  const text = JSON.stringify(result);
  for (const secret of SECRETS) expect(text).not.toContain(secret);
  return result;
}

/** An outbound write a person confirms (tenant acme, approver alice): the confirmed send's result. */
async function confirmed(runtime: Runtime, toolCall: Omit<ToolCall, 'op'>): Promise<IntegrationResult> {
  const result = await callConfirmed(runtime, { op: 'call', tenant: 'acme', ...toolCall }, 'alice');
  const text = JSON.stringify(result);
  for (const secret of SECRETS) expect(text).not.toContain(secret);
  return result;
}

function ok(result: IntegrationResult): Extract<IntegrationResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result;
}

function failed(result: IntegrationResult): Extract<IntegrationResult, { ok: false }> {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.data).slice(0, 300)}`);
  return result;
}

const issuesCall = (method_id: string, params: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  expert: 'triager', tool: 'issues', args: { method_id, params, ...extra },
});
const listIssues = (extra: Record<string, unknown> = {}, params: Record<string, unknown> = {}) =>
  issuesCall('github.issues.list.v1', { owner: GITHUB_OWNER, repo: GITHUB_REPO, per_page: 3, ...params }, extra);
const getIssue = (number: number, tenant = 'acme') => ({
  ...issuesCall('github.issues.get.v1', { owner: GITHUB_OWNER, repo: GITHUB_REPO, number }), tenant,
});

describe('GitHub on HttpIntegration', () => {
  it('lists issues across three pages by following the Link-header cursor until it is null', async () => {
    const runtime = await load('support_triage');
    const pages: number[][] = [];
    const cursors: (string | null)[] = [];
    let cursor: string | undefined;
    do {
      const result = ok(await call(runtime, listIssues(cursor === undefined ? {} : { cursor })));
      const data = result.data as { issues: { number: number; state: string; author: string; labels: string[] }[] };
      pages.push(data.issues.map((i) => i.number));
      cursors.push(result.meta.next_cursor);
      expect(result.meta.provider_request_id).toMatch(/^C0DE:/);
      expect(typeof result.meta.rate_limit_remaining).toBe('number');
      expect(result.meta.provenance).toEqual({ source_type: 'github', source_ref: `${GITHUB_OWNER}/${GITHUB_REPO}` });
      cursor = result.meta.next_cursor ?? undefined;
    } while (cursor !== undefined && pages.length < 10);

    expect(pages).toHaveLength(3);
    expect(cursors.at(-1)).toBeNull();
    // Open issues newest first; the pull request GitHub mixes into the list is filtered out.
    const expected = GITHUB_ISSUES.filter((i) => i.state === 'open' && !i.pull_request).map((i) => i.number);
    expect(pages.flat()).toEqual(expected);
    expect(pages.flat()).not.toContain(7);
    // The cursor is opaque: it names no host and no URL.
    for (const c of cursors.slice(0, -1)) {
      expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(c).not.toContain('127.0.0.1');
    }

    const received = github.received(`/repos/${GITHUB_OWNER}/${GITHUB_REPO}/issues`);
    expect(received.map((r) => r.query['page'])).toEqual([undefined, '2', '3']);
    for (const r of received) {
      expect(r.method).toBe('GET');
      expect(r.auth).toBe('valid');
      expect(r.query).toMatchObject({ state: 'open', per_page: '3' });
      expect(r.headers['accept']).toBe('application/vnd.github+json');
      expect(r.headers['x-github-api-version']).toBe('2022-11-28');
      expect(r.headers['user-agent']).toBe('botc-github-integration');
      expect(r.headers).not.toHaveProperty('authorization');
    }
  });

  it('gets one issue with its body, assignees and closing time', async () => {
    const runtime = await load('support_triage');
    const result = ok(await call(runtime, getIssue(4)));
    expect(result.data).toEqual({
      issue: {
        number: 4,
        title: 'SSO login loops on Safari',
        state: 'open',
        labels: ['bug', 'auth'],
        author: 'ghost-writer',
        comments: 7,
        created_at: '2024-05-10T09:00:00Z',
        updated_at: '2024-05-16T09:00:00Z',
        html_url: `https://github.com/${GITHUB_OWNER}/${GITHUB_REPO}/issues/4`,
        body: 'Safari 17 only.',
        assignees: ['octocat', 'hubot'],
        closed_at: null,
      },
    });
    expect(result.meta.next_cursor).toBeNull();
    expect(result.meta.provenance.source_ref).toBe(`https://github.com/${GITHUB_OWNER}/${GITHUB_REPO}/issues/4`);
  });

  it('maps 404 to NOT_FOUND', async () => {
    const runtime = await load('support_triage');
    const result = failed(await call(runtime, getIssue(999)));
    expect(result.error).toMatchObject({ code: 'NOT_FOUND', http_status: 404, retriable: false });
  });

  it('maps 401 (a token GitHub rejects) to AUTH_REQUIRED, and never shows the token', async () => {
    const runtime = await load('support_triage');
    const result = failed(await call(runtime, getIssue(4, 'revoked')));
    expect(result.error).toMatchObject({ code: 'AUTH_REQUIRED', http_status: 401, retriable: false });
    expect(github.requests[0]!.auth).toBe('invalid');

    github.errorNext(401, 'Bad credentials');
    const again = failed(await call(runtime, getIssue(4)));
    expect(again.error.code).toBe('AUTH_REQUIRED');
  });

  it('refuses before any request when the tenant has no credential or lacks the scope', async () => {
    const runtime = await load('support_triage');
    expect(failed(await call(runtime, getIssue(4, 'nobody'))).error.code).toBe('AUTH_REQUIRED');
    expect(github.requests).toHaveLength(0);
  });

  it('maps 429 with Retry-After to a retriable RATE_LIMITED carrying the wait', async () => {
    const runtime = await load('support_triage');
    github.rateLimitNext(7);
    const result = failed(await call(runtime, listIssues()));
    expect(result.error).toMatchObject({ code: 'RATE_LIMITED', http_status: 429, retriable: true });
    expect(result.meta['retry_after_ms']).toBe(7000);
  });

  it('maps 403 with x-ratelimit-remaining: 0 to RATE_LIMITED, other 403s to AUTH_FORBIDDEN', async () => {
    const runtime = await load('support_triage');
    github.exhaustNext(30);
    const limited = failed(await call(runtime, listIssues()));
    expect(limited.error).toMatchObject({ code: 'RATE_LIMITED', http_status: 403, retriable: true });
    expect(limited.meta['retry_after_ms']).toBeGreaterThan(20_000);
    expect(limited.meta['retry_after_ms']).toBeLessThanOrEqual(31_000);

    github.errorNext(403, 'Resource not accessible by personal access token');
    const forbidden = failed(await call(runtime, listIssues()));
    expect(forbidden.error).toMatchObject({ code: 'AUTH_FORBIDDEN', http_status: 403, retriable: false });
  });

  it('maps 500 and 503 to a retriable PROVIDER_UNAVAILABLE', async () => {
    const runtime = await load('support_triage');
    github.errorNext(503);
    expect(failed(await call(runtime, listIssues())).error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', http_status: 503, retriable: true });
    github.errorNext(500);
    expect(failed(await call(runtime, listIssues())).error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', http_status: 500, retriable: true });
  });

  it('times out a provider that never answers', async () => {
    const runtime = await load('support_triage', { timeout_ms: 200 });
    github.hangNext();
    const started = Date.now();
    const result = failed(await call(runtime, listIssues()));
    expect(result.error).toMatchObject({ code: 'TIMEOUT', retriable: true });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(github.requests).toHaveLength(1);
  });

  it('waits for a slow provider that answers within the timeout', async () => {
    const runtime = await load('support_triage', { timeout_ms: 5_000 });
    github.slowNext(150);
    const result = ok(await call(runtime, getIssue(4)));
    expect((result.data as { issue: { number: number } }).issue.number).toBe(4);
  });

  it('retries a 503 under the retry policy and succeeds on the second attempt', async () => {
    const runtime = await load('support_triage', { retry_policy: RETRIES });
    github.errorNext(503);
    const result = ok(await call(runtime, getIssue(4)));
    expect(result.meta['attempts']).toHaveLength(2);
    expect((result.meta['attempts'] as { ok: boolean; code: string | null }[]).map((a) => a.code)).toEqual(['PROVIDER_UNAVAILABLE', null]);
    expect(github.requests).toHaveLength(2);
  });

  it('does not retry when Retry-After asks for longer than max_backoff_ms', async () => {
    const runtime = await load('support_triage', { retry_policy: RETRIES });
    github.rateLimitNext(5);
    const started = Date.now();
    const result = failed(await call(runtime, getIssue(4)));
    expect(result.error).toMatchObject({ code: 'RATE_LIMITED', retriable: true });
    expect(result.meta['attempts']).toHaveLength(1);
    expect(github.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('retries after a Retry-After within max_backoff_ms', async () => {
    const runtime = await load('support_triage', { retry_policy: RETRIES });
    github.rateLimitNext(1);
    const result = ok(await call(runtime, getIssue(4)));
    expect(result.meta['attempts']).toHaveLength(2);
    expect(github.requests).toHaveLength(2);
  });

  it('keeps the repository scope of search.v2 whatever the cursor says', async () => {
    const runtime = await load('support_triage');
    const forged = Buffer.from('q=token+is:issue&page=2', 'utf8').toString('base64url');
    const params = { owner: GITHUB_OWNER, repo: GITHUB_REPO, keywords: 'retry', per_page: 1 };
    // Sealed with the runtime's key: the integration's own defence is what is tested here.
    const result = await call(runtime, issuesCall('github.issues.search.v2', params, { cursor: seal('github.issues.search.v2', params, forged) }));
    ok(result);
    const [received] = github.received('/search/issues');
    expect(received!.query['q']).toBe(`retry repo:${GITHUB_OWNER}/${GITHUB_REPO} is:issue`);
    expect(received!.query['page']).toBe('2');
  });

  it('follows search pagination with the same cursor mechanism', async () => {
    const runtime = await load('support_triage');
    const params = { owner: GITHUB_OWNER, repo: GITHUB_REPO, keywords: 'the', per_page: 1, state: 'all' };
    const first = ok(await call(runtime, issuesCall('github.issues.search.v2', params)));
    const data = first.data as { total_count: number; items: { number: number }[] };
    expect(data.total_count).toBeGreaterThan(1);
    expect(first.meta.next_cursor).not.toBeNull();
    const second = ok(await call(runtime, issuesCall('github.issues.search.v2', params, { cursor: first.meta.next_cursor })));
    expect((second.data as typeof data).items[0]!.number).not.toBe(data.items[0]!.number);
  });

  it('refuses an owner that would climb out of the API path, without sending anything', async () => {
    const runtime = await load('support_triage');
    const result = failed(await call(runtime, issuesCall('github.issues.get.v1', { owner: '..', repo: '..', number: 1 })));
    expect(result.error.code).toBe('VALIDATION_FAILED');
    expect(github.requests).toHaveLength(0);
  });

  it('lists pull requests for the release notes drafter', async () => {
    const runtime = await load('release_notes');
    const result = ok(await call(runtime, {
      expert: 'drafter', tool: 'pulls',
      args: { method_id: 'github.pulls.list.v1', params: { owner: GITHUB_OWNER, repo: GITHUB_REPO, state: 'all' } },
    }));
    expect((result.data as { pulls: { number: number; head: string }[] }).pulls).toEqual([
      expect.objectContaining({ number: 7, head: 'fix/7', base: 'main', draft: false, merged_at: null }),
    ]);
    expect(github.requests[0]!.query).toMatchObject({ state: 'all', sort: 'updated', direction: 'desc' });
  });
});

describe('Slack on HttpIntegration', () => {
  const post = (params: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    expert: 'escalation', tool: 'notify', args: { method_id: 'slack.chat.post_message.v1', params, ...extra },
  });
  const MESSAGE = { channel: 'C0100000002', text: ':rotating_light: sev1: webhook deliveries time out (octo-org/platform#9)' };

  it('answers a dry run with the exact request, and sends nothing', async () => {
    const runtime = await load('support_triage');
    const result = ok(await call(runtime, post(MESSAGE, { dry_run: true })));
    expect(result.data).toEqual({
      dry_run: true,
      request: {
        method: 'POST',
        url: `${slack.baseUrl}/chat.postMessage`,
        headers: {
          accept: 'application/json',
          authorization: '[redacted]',
          'content-type': 'application/json; charset=utf-8',
        },
        body: { ...MESSAGE, unfurl_links: false },
      },
    });
    expect(result.meta['dry_run']).toBe(true);
    expect(slack.requests).toHaveLength(0);
    expect(slack.posted).toHaveLength(0);
  });

  it('posts a message for real once a person confirms the preview', async () => {
    const runtime = await load('support_triage');
    const result = ok(await confirmed(runtime, post({ ...MESSAGE, thread_ts: '1716195600.000100' })));
    expect(result.data).toEqual({ delivered: true, channel: MESSAGE.channel, ts: '1716195600.000001', text: MESSAGE.text });
    expect(result.meta.provider_request_id).toMatch(/^a1b2c3d4e5f6/);
    expect(result.meta.provenance).toEqual({ source_type: 'slack', source_ref: `${MESSAGE.channel}/1716195600.000001` });
    expect(slack.requests).toHaveLength(1);
    const [request] = slack.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/chat.postMessage', auth: 'valid' });
    expect(request!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(request!.body).toEqual({ ...MESSAGE, thread_ts: '1716195600.000100', unfurl_links: false });
    expect(slack.posted).toEqual([{ channel: MESSAGE.channel, text: MESSAGE.text, ts: '1716195600.000001' }]);
  });

  it.each([
    ['not_authed', 'AUTH_REQUIRED', false],
    ['invalid_auth', 'AUTH_REQUIRED', false],
    ['missing_scope', 'AUTH_FORBIDDEN', false],
    ['channel_not_found', 'NOT_FOUND', false],
    ['ratelimited', 'RATE_LIMITED', true],
    ['something_new', 'PROVIDER_ERROR', false],
  ])('maps ok:false `%s` (HTTP 200) to %s', async (error, code, retriable) => {
    const runtime = await load('support_triage');
    slack.slackErrorNext(error);
    const result = failed(await confirmed(runtime, post(MESSAGE)));
    expect(result.error).toMatchObject({ code, provider_code: error, http_status: 200, retriable });
    expect(slack.posted).toHaveLength(0);
  });

  it('reports an unknown channel as NOT_FOUND from the server itself', async () => {
    const runtime = await load('support_triage');
    const result = failed(await confirmed(runtime, post({ ...MESSAGE, channel: 'C0999999999' })));
    expect(result.error).toMatchObject({ code: 'NOT_FOUND', provider_code: 'channel_not_found' });
  });

  it('maps HTTP 429 with Retry-After to a retriable RATE_LIMITED', async () => {
    const runtime = await load('support_triage');
    slack.rateLimitNext(30);
    const result = failed(await confirmed(runtime, post(MESSAGE)));
    expect(result.error).toMatchObject({ code: 'RATE_LIMITED', http_status: 429, retriable: true });
    expect(result.meta['retry_after_ms']).toBe(30_000);
  });

  it('does not retry a non-idempotent post after a 503 without an idempotency key', async () => {
    const runtime = await load('support_triage', { retry_policy: RETRIES });
    slack.errorNext(503);
    const result = failed(await confirmed(runtime, post(MESSAGE)));
    expect(result.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retriable: true });
    expect(result.meta['attempts']).toHaveLength(1);
    expect(slack.requests).toHaveLength(1);
    expect(slack.posted).toHaveLength(0);
  });

  it('retries a non-idempotent post after a 503 when it carries an idempotency key', async () => {
    const runtime = await load('support_triage', { retry_policy: RETRIES });
    slack.errorNext(503);
    const result = ok(await confirmed(runtime, post(MESSAGE, { idempotency_key: 'alert-9-sev1' })));
    expect(result.meta['attempts']).toHaveLength(2);
    expect(slack.requests).toHaveLength(2);
    expect(slack.posted).toHaveLength(1);

    // The same key again replays the first result instead of posting twice, without a new confirmation.
    const replay = ok(await call(runtime, post(MESSAGE, { idempotency_key: 'alert-9-sev1' })));
    expect(replay.meta['idempotent_replay']).toBe(true);
    expect(slack.posted).toHaveLength(1);
  });

  it('lists channels with cursor pagination until next_cursor is null', async () => {
    const runtime = await load('support_triage');
    const list = (cursor?: string) => ({
      expert: 'escalation', tool: 'notify',
      args: { method_id: 'slack.channels.list.v1', params: { limit: 2 }, ...(cursor ? { cursor } : {}) },
    });
    const names: string[][] = [];
    let cursor: string | undefined;
    do {
      const result = ok(await call(runtime, list(cursor)));
      names.push((result.data as { channels: { name: string }[] }).channels.map((c) => c.name));
      cursor = result.meta.next_cursor ?? undefined;
    } while (cursor !== undefined && names.length < 10);
    const expected = SLACK_CHANNELS.filter((c) => !c.is_private && !c.is_archived).map((c) => c.name);
    expect(names).toHaveLength(3);
    expect(names.flat()).toEqual(expected);
    const received = slack.received('/conversations.list');
    expect(received.map((r) => r.method)).toEqual(['GET', 'GET', 'GET']);
    expect(received[0]!.query).toEqual({ types: 'public_channel', exclude_archived: 'true', limit: '2' });
    expect(received[1]!.query['cursor']).toBe(Buffer.from('team:C0100000003').toString('base64'));
  });

  it('maps a bad cursor (ok:false invalid_cursor) to VALIDATION_FAILED', async () => {
    const runtime = await load('support_triage');
    const result = failed(await call(runtime, {
      expert: 'escalation', tool: 'notify',
      args: { method_id: 'slack.channels.list.v1', params: {}, cursor: seal('slack.channels.list.v1', {}, 'bm90LWEtY3Vyc29y') },
    }));
    expect(result.error).toMatchObject({ code: 'VALIDATION_FAILED', provider_code: 'invalid_cursor' });
  });
});

describe('HubSpot on HttpIntegration', () => {
  const crm = (method_id: string, params: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    expert: 'pipeline_analyst', tool: 'crm', args: { method_id, params, ...extra },
  });

  it('lists deals across pages with paging.next.after', async () => {
    const runtime = await load('sales_digest');
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const result = ok(await call(runtime, crm('hubspot.deals.list.v1', { limit: 3 }, cursor ? { cursor } : {})));
      pages.push((result.data as { deals: { id: string }[] }).deals.map((d) => d.id));
      expect(result.meta.provider_request_id).toMatch(/^3b1c6a52-/);
      expect(typeof result.meta.rate_limit_remaining).toBe('number');
      cursor = result.meta.next_cursor ?? undefined;
    } while (cursor !== undefined && pages.length < 10);
    expect(pages).toEqual([['1001', '1002', '1003'], ['1004', '1005', '1006'], ['1007']]);
    const received = hubspot.received('/crm/v3/objects/deals');
    expect(received.map((r) => r.query['after'])).toEqual([undefined, '3', '6']);
    expect(received[0]!.query).toMatchObject({ limit: '3', archived: 'false' });
    expect(received[0]!.query['properties']!.split(',')).toContain('dealstage');
  });

  it('normalizes deals: amounts as numbers, unset values as null', async () => {
    const runtime = await load('sales_digest');
    const result = ok(await call(runtime, crm('hubspot.deals.list.v1', { limit: 4 })));
    const deals = (result.data as { deals: Record<string, unknown>[] }).deals;
    expect(deals[0]).toEqual({
      id: '1001', name: 'Northwind renewal', stage: 'contractsent', pipeline: 'default', amount: 412000,
      close_date: '2024-05-31T09:00:00.000Z', updated_at: '2024-05-21T10:00:00.000Z',
    });
    expect(deals[3]).toMatchObject({ id: '1004', amount: null, close_date: null });
  });

  it('imports changed deals through the search endpoint, the cursor travelling in the body; the records wait for review', async () => {
    const runtime = await load('sales_digest');
    const store = stores.get(JSON.stringify(['sales_digest', {}]))!;
    const since = '2024-05-15T00:00:00Z';
    const batches: string[] = [];
    const cursors: (string | null)[] = [];
    let cursor: string | undefined;
    do {
      const result = failed(await call(runtime, crm('hubspot.deals.import.v1', { since, limit: 2 }, cursor ? { cursor } : {})));
      // Imported records are untrusted: the call answers REVIEW_REQUIRED and hands out no data.
      expect(result.error.code).toBe('REVIEW_REQUIRED');
      expect('data' in result).toBe(false);
      expect(result.meta.cost_units).toBe(1);
      const review = result.meta['review'] as { batch_id: string; records: number; pending: number };
      expect(review.pending).toBe(review.records);
      batches.push(review.batch_id);
      cursor = result.meta.next_cursor ?? undefined;
      cursors.push(result.meta.next_cursor);
      // The sync cursor is saved with the records.
      // The store keeps the provider's raw cursor; the caller gets it sealed.
      expect(await store.getCursor('acme', 'hubspot.deals.import.v1')).toBe(unseal('hubspot.deals.import.v1', { since, limit: 2 }, result.meta.next_cursor));
    } while (cursor !== undefined && batches.length < 10);
    // Sealed by the runtime, and opaque inside too (the search's restart point).
    expect(cursors.map((c) => c === null)).toEqual([false, false, true]);
    const expected = HUBSPOT_DEALS.filter((d) => d.hs_lastmodifieddate >= '2024-05-15')
      .sort((a, b) => a.hs_lastmodifieddate.localeCompare(b.hs_lastmodifieddate))
      .map((d) => d.id);

    // A person approves them; only then does the runtime hand them out.
    const pages: string[][] = [];
    let checkpoint = '';
    for (const batch of batches) {
      expect((failed(await runtime.importedRecords('acme', batch))).error.code).toBe('REVIEW_REQUIRED');
      for (const item of await store.listReviews({ tenant: 'acme', batch_id: batch })) {
        await decideReview(store, { tenant: 'acme', id: item.id, decision: 'approved', reviewer: 'dana' });
      }
      const records = (ok(await runtime.importedRecords('acme', batch)).data as { records: { id: string; updated_at: string }[] }).records;
      records.sort((a, b) => a.updated_at.localeCompare(b.updated_at));
      pages.push(records.map((r) => r.id));
      checkpoint = records.at(-1)!.updated_at;
    }
    expect(pages.flat()).toEqual(expected);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(checkpoint).toBe('2024-05-21T10:00:00.000Z');

    const received = hubspot.received('/crm/v3/objects/deals/search');
    expect(received).toHaveLength(3);
    for (const r of received) {
      expect(r.method).toBe('POST');
      expect(r.query).toEqual({});
    }
    expect(received.map((r) => (r.body as { after?: string }).after)).toEqual([undefined, '2', '4']);
    expect((received[0]!.body as { filterGroups: unknown }).filterGroups).toEqual([
      { filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: String(Date.parse(since)) }] },
    ]);
  });

  it('gets a contact, and maps a missing one to NOT_FOUND', async () => {
    const runtime = await load('sales_digest');
    const found = ok(await call(runtime, crm('hubspot.contacts.get.v1', { contact_id: '52' })));
    expect(found.data).toEqual({
      contact: {
        id: '52', first_name: 'Dev', last_name: null, email: null, company: null, job_title: null,
        lifecycle_stage: 'lead', updated_at: '2024-05-02T09:00:00.000Z',
      },
    });
    expect(found.meta.provenance.source_ref).toBe('contact/52');
    const missing = failed(await call(runtime, crm('hubspot.contacts.get.v1', { contact_id: '404' })));
    expect(missing.error).toMatchObject({ code: 'NOT_FOUND', http_status: 404, provider_code: 'OBJECT_NOT_FOUND' });
  });

  it('maps HubSpot 401 and 429 bodies', async () => {
    const runtime = await load('sales_digest');
    hubspot.errorNext(401, 'INVALID_AUTHENTICATION');
    expect(failed(await call(runtime, crm('hubspot.deals.list.v1', {}))).error).toMatchObject({ code: 'AUTH_REQUIRED', provider_code: 'INVALID_AUTHENTICATION' });
    hubspot.rateLimitNext(2);
    const limited = failed(await call(runtime, crm('hubspot.deals.list.v1', {})));
    expect(limited.error).toMatchObject({ code: 'RATE_LIMITED', http_status: 429, retriable: true, provider_code: 'RATE_LIMITS' });
    expect(limited.meta['retry_after_ms']).toBe(2000);
  });
});

describe('Statuspage on HttpIntegration', () => {
  const status = (method_id: string, params: Record<string, unknown>) => ({
    expert: 'triager', tool: 'status', args: { method_id, params },
  });

  it('lists unresolved incidents, authenticating with `OAuth <key>`', async () => {
    const runtime = await load('support_triage');
    const result = ok(await call(runtime, status('statuspage.incidents.list.v1', { page_id: STATUSPAGE_PAGE, limit: 5 })));
    expect(result.data).toEqual({
      incidents: [{
        id: 'inc00000003', name: 'Webhook deliveries delayed', status: 'identified', impact: 'major', components: ['Webhooks'],
        created_at: '2024-05-21T08:00:00.000Z', updated_at: '2024-05-21T09:30:00.000Z', shortlink: 'https://stspg.io/inc000',
      }],
    });
    expect(result.meta.provider_request_id).toBe('sp-000001');
    expect(result.meta.next_cursor).toBeNull();
    expect(statuspage.requests).toEqual([expect.objectContaining({
      method: 'GET', path: `/pages/${STATUSPAGE_PAGE}/incidents/unresolved`, query: { per_page: '5' }, auth: 'valid',
    })]);
  });

  it('lists recent incidents and components (groups left out)', async () => {
    const runtime = await load('support_triage');
    const incidents = ok(await call(runtime, status('statuspage.incidents.list.v1', { page_id: STATUSPAGE_PAGE, only_unresolved: false, limit: 2 })));
    expect((incidents.data as { incidents: { id: string }[] }).incidents.map((i) => i.id)).toEqual(['inc00000003', 'inc00000002']);
    const components = ok(await call(runtime, status('statuspage.components.list.v1', { page_id: STATUSPAGE_PAGE })));
    expect((components.data as { components: { name: string }[] }).components.map((c) => c.name)).toEqual(['API', 'Webhooks', 'Dashboard']);
  });

  it('maps 420 to a retriable RATE_LIMITED and an unknown page to NOT_FOUND', async () => {
    const runtime = await load('support_triage');
    statuspage.throttleNext(3);
    const throttled = failed(await call(runtime, status('statuspage.components.list.v1', { page_id: STATUSPAGE_PAGE })));
    expect(throttled.error).toMatchObject({ code: 'RATE_LIMITED', http_status: 420, retriable: true });
    expect(throttled.meta['retry_after_ms']).toBe(3000);
    const missing = failed(await call(runtime, status('statuspage.components.list.v1', { page_id: 'nosuchpage' })));
    expect(missing.error).toMatchObject({ code: 'NOT_FOUND', http_status: 404 });
  });
});
