/**
 * The example integrations on the HTTP base, called directly against their loopback fakes:
 * Link-header pagination (RFC 8288), rate limits (RFC 9110 Retry-After, GitHub's secondary
 * limits), and HubSpot's search limit of 10,000 results.
 */
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { retryAfterMs, type CallContext, type Integration, type IntegrationResult } from '../src/integration/index.ts';
import { importModule } from '../src/load/modules.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { loopbackConfig } from './servers/fake.ts';
import { GITHUB_OWNER, GITHUB_REPO, GITHUB_TOKEN, githubError, startGitHub, type GitHubFake } from './servers/github.ts';
import { HUBSPOT_DEALS, HUBSPOT_SEARCH_CAP, HUBSPOT_TOKEN, manyDeals, startHubSpot, type HubSpotFake } from './servers/hubspot.ts';

type IntegrationClass = new (context: { phase: 'runtime'; provider: string; config: Record<string, unknown> }) => Integration;

async function integrationClass(provider: string, exported: string): Promise<IntegrationClass> {
  const module = await importModule(path.join(REPO_ROOT, 'integrations', provider, 'index.ts'), `http-providers-${provider}`);
  return module[exported] as IntegrationClass;
}

let github: GitHubFake;
let hubspot: HubSpotFake;
let GitHub: IntegrationClass;
let HubSpot: IntegrationClass;

beforeAll(async () => {
  [github, hubspot, GitHub, HubSpot] = await Promise.all([
    startGitHub(), startHubSpot(), integrationClass('github', 'GitHubIntegration'), integrationClass('hubspot', 'HubSpotIntegration'),
  ]);
});

afterAll(async () => {
  await Promise.all([github?.stop(), hubspot?.stop()]);
});

beforeEach(() => {
  github.reset();
  hubspot.reset();
});

function context(secret: string, classification: NonNullable<CallContext['classification']>): CallContext {
  return { tenant: 'acme', trace_id: 't', signal: AbortSignal.timeout(5000), credential: { secret, scopes: [] }, classification };
}

function invoke(integration: Integration, ctx: CallContext, method_id: string, args: Record<string, unknown>, cursor?: string | null): Promise<IntegrationResult> {
  return integration.call({
    trace_id: 't', method_id, args, timeout_ms: 5000,
    retry_policy: { max_attempts: 1, backoff_ms: 0, max_backoff_ms: 0 },
    ...(cursor ? { cursor } : {}),
  }, ctx);
}

function ok(result: IntegrationResult): Extract<IntegrationResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result;
}

function failed(result: IntegrationResult): Extract<IntegrationResult, { ok: false }> {
  if (result.ok) throw new Error('expected an error result');
  return result;
}

describe('Link headers are parsed per RFC 8288', () => {
  const gh = () => new GitHub({ phase: 'runtime', provider: 'github', config: loopbackConfig(github.baseUrl) });
  const ctx = () => context(GITHUB_TOKEN, 'read_only');

  it('follows a next-page URL that contains a comma (labels=bug,ci) to the last page', async () => {
    // GitHub writes the commas of a query as they are; page 1 links to page 2 of the same list.
    const next = `${github.baseUrl}/repos/${GITHUB_OWNER}/${GITHUB_REPO}/issues?state=all&labels=bug,ci&per_page=1&page=2`;
    github.next({ kind: 'reply', reply: { status: 200, headers: { link: `<${next}>; rel="next", <${next.replace('page=2', 'page=3')}>; rel="last"` }, body: [] } });
    const integration = gh();
    const numbers: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const result = ok(await invoke(integration, ctx(), 'github.issues.list.v1', { owner: GITHUB_OWNER, repo: GITHUB_REPO, state: 'all', labels: ['bug', 'ci'], per_page: 1 }, cursor));
      numbers.push(...(result.data as { issues: { number: number }[] }).issues.map((i) => i.number));
      cursor = result.meta.next_cursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(github.requests.map((r) => [r.query['labels'], r.query['page'] ?? '1'])).toEqual([['bug,ci', '1'], ['bug,ci', '2']]);
    expect(pages).toBe(2);
  });

  it('keeps only the query of a rel="next" link that names another host', async () => {
    github.next({ kind: 'reply', reply: { status: 200, headers: { link: '<https://evil.example/steal?page=2&q=x,y>; rel="next"; title="a, b", <https://evil.example/steal?page=9>; rel="last"' }, body: [] } });
    const integration = gh();
    const first = ok(await invoke(integration, ctx(), 'github.issues.list.v1', { owner: GITHUB_OWNER, repo: GITHUB_REPO }));
    expect(first.meta.next_cursor).not.toBeNull();
    ok(await invoke(integration, ctx(), 'github.issues.list.v1', { owner: GITHUB_OWNER, repo: GITHUB_REPO }, first.meta.next_cursor));
    // The second request went to the fake (the base URL's host), with the link's page.
    expect(github.requests).toHaveLength(2);
    expect(github.requests[1]!.path).toBe(`/repos/${GITHUB_OWNER}/${GITHUB_REPO}/issues`);
    expect(github.requests[1]!.query).toMatchObject({ page: '2', q: 'x,y', state: 'open' });
  });

  it('reports a Link header that is not RFC 8288 as PROVIDER_ERROR instead of a silent last page', async () => {
    github.next({ kind: 'reply', reply: { status: 200, headers: { link: 'page=2; rel=next' }, body: [] } });
    const result = failed(await invoke(gh(), ctx(), 'github.issues.list.v1', { owner: GITHUB_OWNER, repo: GITHUB_REPO }));
    expect(result.error.code).toBe('PROVIDER_ERROR');
    expect(result.error.message).toMatch(/Link header/);
  });
});

describe('rate limits are rate limits', () => {
  const gh = () => new GitHub({ phase: 'runtime', provider: 'github', config: loopbackConfig(github.baseUrl) });
  const ctx = () => context(GITHUB_TOKEN, 'read_only');
  const list = () => invoke(gh(), ctx(), 'github.issues.list.v1', { owner: GITHUB_OWNER, repo: GITHUB_REPO });

  it("maps GitHub's secondary rate limit (403 with quota left and retry-after) to a retriable RATE_LIMITED with the wait", async () => {
    github.next({
      kind: 'reply',
      reply: githubError(403, 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', {
        'retry-after': '60', 'x-ratelimit-remaining': '4999',
      }),
    });
    const result = failed(await list());
    expect(result.error).toMatchObject({ code: 'RATE_LIMITED', http_status: 403, retriable: true });
    expect(result.meta['retry_after_ms']).toBe(60_000);
  });

  it('maps a secondary limit without retry-after to RATE_LIMITED with an unknown wait, not a guessed one', async () => {
    github.next({ kind: 'reply', reply: githubError(403, 'You have exceeded a secondary rate limit.', { 'x-ratelimit-remaining': '4999' }) });
    const result = failed(await list());
    expect(result.error).toMatchObject({ code: 'RATE_LIMITED', retriable: true });
    expect(result.meta['retry_after_ms']).toBeUndefined();
  });

  it('reads an HTTP-date Retry-After, and keeps other 403s AUTH_FORBIDDEN', async () => {
    const inTwoMinutes = new Date(Date.now() + 120_000).toUTCString();
    github.next({ kind: 'reply', reply: githubError(429, 'slow down', { 'retry-after': inTwoMinutes }) });
    const limited = failed(await list());
    expect(limited.error.code).toBe('RATE_LIMITED');
    expect(limited.meta['retry_after_ms']).toBeGreaterThan(110_000);
    expect(limited.meta['retry_after_ms']).toBeLessThanOrEqual(120_000);
    github.next({ kind: 'reply', reply: githubError(403, 'Resource not accessible by integration') });
    expect(failed(await list()).error).toMatchObject({ code: 'AUTH_FORBIDDEN', retriable: false });
  });

  it('reads Retry-After exactly as RFC 9110 defines it and ignores anything else', () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    const table: [string | null, number | null][] = [
      ['120', 120_000], [' 0 ', 0], ['Thu, 01 Jan 2026 00:01:00 GMT', 60_000],
      ['Thursday, 01-Jan-26 00:01:00 GMT', 60_000], ['Thu Jan  1 00:01:00 2026', 60_000],
      ['Wed, 31 Dec 2025 23:00:00 GMT', 0],
      ['1.5', null], ['-5', null], ['+5', null], ['5s', null], ['2026-01-01T00:01:00Z', null], ['tomorrow', null],
      ['Thu, 01 Jan 2026 00:01:00 UTC', null], ['Fri, 31 Feb 2026 00:00:00 GMT', null], ['', null], [null, null],
    ];
    for (const [value, expected] of table) expect([value, retryAfterMs(value, now)]).toEqual([value, expected]);
  });
});

describe('HubSpot search past 10,000 results', () => {
  it('restarts the search from the checkpoint at the cap and imports every deal exactly once', async () => {
    hubspot.deals = manyDeals(HUBSPOT_SEARCH_CAP + 55, 7);
    hubspot.remaining = 1_000_000;
    try {
      const integration = new HubSpot({ phase: 'runtime', provider: 'hubspot', config: loopbackConfig(hubspot.baseUrl) });
      const since = '2024-05-31T00:00:00Z';
      const ids: string[] = [];
      let cursor: string | null = null;
      let calls = 0;
      do {
        const result = ok(await invoke(integration, context(HUBSPOT_TOKEN, 'inbound'), 'hubspot.deals.import.v1', { since, limit: 100 }, cursor));
        ids.push(...(result.data as { records: { id: string }[] }).records.map((r) => r.id));
        cursor = result.meta.next_cursor;
        calls += 1;
      } while (cursor !== null && calls < 200);
      expect(cursor).toBeNull();
      expect(ids).toHaveLength(hubspot.deals.length);
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(new Set(hubspot.deals.map((d) => d.id)));
      const bodies = hubspot.received('/crm/v3/objects/deals/search').map((r) => r.body as { after?: string; filterGroups: { filters: { value: string }[] }[] });
      // Never past the cap; the second search starts from the last modification time read.
      expect(bodies.every((b) => b.after === undefined || Number(b.after) < HUBSPOT_SEARCH_CAP)).toBe(true);
      const starts = [...new Set(bodies.map((b) => b.filterGroups[0]!.filters[0]!.value))];
      expect(starts).toHaveLength(2);
      expect(starts[0]).toBe(String(Date.parse(since)));
      expect(Number(starts[1])).toBeGreaterThan(Date.parse(since));
    } finally {
      hubspot.deals = HUBSPOT_DEALS;
    }
  });

  it('refuses a cursor it did not hand out as VALIDATION_FAILED', async () => {
    const integration = new HubSpot({ phase: 'runtime', provider: 'hubspot', config: loopbackConfig(hubspot.baseUrl) });
    const ctx = context(HUBSPOT_TOKEN, 'inbound');
    for (const cursor of ['10000', Buffer.from(JSON.stringify({ v: 1, from: 0, skip: [], last: null })).toString('base64url')]) {
      const result = failed(await invoke(integration, ctx, 'hubspot.deals.import.v1', { since: '2024-05-15T00:00:00Z' }, cursor));
      expect(result.error.code).toBe('VALIDATION_FAILED');
    }
    expect(hubspot.requests).toEqual([]);
  });
});
