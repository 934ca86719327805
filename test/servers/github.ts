/**
 * A fake GitHub REST API (v3) for the endpoints the GitHub integration calls:
 * `GET /repos/{owner}/{repo}/issues`, `GET /repos/{owner}/{repo}/issues/{number}`,
 * `GET /repos/{owner}/{repo}/pulls` and `GET /search/issues`. It paginates with `page`/`per_page`
 * and a Link header (rel="next", "last", "prev", "first"), sends `x-github-request-id` and the
 * `x-ratelimit-*` headers, and answers errors with GitHub's `{message, documentation_url}`.
 */
import { FakeServer, type RecordedRequest, type Reply } from './fake.ts';

export const GITHUB_TOKEN = 'ghp_FAKEtoken0123456789abcdefABCDEF0000';
export const GITHUB_OWNER = 'octo-org';
export const GITHUB_REPO = 'platform';

export interface FakeIssue {
  number: number;
  title: string;
  state: 'open' | 'closed';
  labels: string[];
  user: string;
  comments: number;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  body: string | null;
  assignees: string[];
  /** Pull requests show up in GitHub's issues list; the integration filters them out. */
  pull_request?: boolean;
}

const day = (d: number) => `2024-05-${String(d).padStart(2, '0')}T09:00:00Z`;

/** octo-org/platform, newest first as GitHub lists them. */
export const GITHUB_ISSUES: readonly FakeIssue[] = [
  { number: 9, title: 'Webhook deliveries time out after 10s', state: 'open', labels: ['bug', 'webhooks'], user: 'mona', comments: 4, created_at: day(20), updated_at: day(21), closed_at: null, body: 'Since Monday every delivery to our endpoint times out.', assignees: ['hubot'] },
  { number: 8, title: 'Dark mode for the dashboard', state: 'open', labels: ['enhancement'], user: 'octocat', comments: 12, created_at: day(18), updated_at: day(20), closed_at: null, body: null, assignees: [] },
  { number: 7, title: 'Fix flaky retry test', state: 'open', labels: ['ci'], user: 'hubot', comments: 0, created_at: day(17), updated_at: day(17), closed_at: null, body: 'Closes #6', assignees: [], pull_request: true },
  { number: 6, title: 'Retry test fails on CI about once a week', state: 'open', labels: ['bug', 'ci'], user: 'mona', comments: 2, created_at: day(15), updated_at: day(17), closed_at: null, body: 'See the attached logs.', assignees: ['mona'] },
  { number: 5, title: 'Document the export API', state: 'closed', labels: ['docs'], user: 'octocat', comments: 1, created_at: day(12), updated_at: day(14), closed_at: day(14), body: 'The export endpoints have no docs.', assignees: [] },
  { number: 4, title: 'SSO login loops on Safari', state: 'open', labels: ['bug', 'auth'], user: 'ghost-writer', comments: 7, created_at: day(10), updated_at: day(16), closed_at: null, body: 'Safari 17 only.', assignees: ['octocat', 'hubot'] },
  { number: 3, title: 'Rate limit headers missing on 304', state: 'open', labels: ['bug'], user: 'mona', comments: 0, created_at: day(8), updated_at: day(8), closed_at: null, body: null, assignees: [] },
  { number: 2, title: 'Add a CSV export', state: 'open', labels: ['enhancement'], user: 'octocat', comments: 3, created_at: day(5), updated_at: day(9), closed_at: null, body: 'Customers keep asking.', assignees: [] },
  { number: 1, title: 'Set up the repository', state: 'closed', labels: [], user: 'octocat', comments: 0, created_at: day(1), updated_at: day(2), closed_at: day(2), body: null, assignees: [] },
];

const DOCS = 'https://docs.github.com/rest';

export function githubError(status: number, message: string, headers: Record<string, string> = {}): Reply {
  return { status, headers, body: { message, documentation_url: DOCS, status: String(status) } };
}

function htmlUrl(issue: FakeIssue): string {
  return `https://github.com/${GITHUB_OWNER}/${GITHUB_REPO}/${issue.pull_request ? 'pull' : 'issues'}/${issue.number}`;
}

function rawIssue(issue: FakeIssue, baseUrl: string) {
  const user = (login: string) => ({ login, id: login.length * 1000, type: 'User', site_admin: false });
  return {
    url: `${baseUrl}/repos/${GITHUB_OWNER}/${GITHUB_REPO}/issues/${issue.number}`,
    id: 1_000_000 + issue.number,
    node_id: `I_kwDO${issue.number}`,
    number: issue.number,
    title: issue.title,
    state: issue.state,
    locked: false,
    labels: issue.labels.map((name, i) => ({ id: 200 + i, name, color: 'd73a4a', default: false })),
    user: user(issue.user),
    assignee: issue.assignees[0] ? user(issue.assignees[0]) : null,
    assignees: issue.assignees.map(user),
    comments: issue.comments,
    created_at: issue.created_at,
    updated_at: issue.updated_at,
    closed_at: issue.closed_at,
    author_association: 'MEMBER',
    body: issue.body,
    html_url: htmlUrl(issue),
    ...(issue.pull_request ? { pull_request: { url: `${baseUrl}/repos/${GITHUB_OWNER}/${GITHUB_REPO}/pulls/${issue.number}`, merged_at: null } } : {}),
  };
}

function rawPull(issue: FakeIssue, baseUrl: string) {
  return {
    url: `${baseUrl}/repos/${GITHUB_OWNER}/${GITHUB_REPO}/pulls/${issue.number}`,
    number: issue.number,
    title: issue.title,
    state: issue.state,
    user: { login: issue.user },
    labels: issue.labels.map((name) => ({ name })),
    base: { ref: 'main' },
    head: { ref: `fix/${issue.number}` },
    draft: false,
    merged_at: null,
    updated_at: issue.updated_at,
    html_url: htmlUrl(issue),
  };
}

/** One page of `items` with GitHub's Link header built from the request's own query. */
function paginate<T>(items: readonly T[], request: RecordedRequest, baseUrl: string): { page: T[]; link: string | undefined } | Reply {
  const perPage = Number(request.query['per_page'] ?? '30');
  const pageNo = Number(request.query['page'] ?? '1');
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100 || !Number.isInteger(pageNo) || pageNo < 1) {
    return githubError(422, 'Validation Failed');
  }
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (page: number, rel: string) => {
    const query = new URLSearchParams(request.query);
    query.set('page', String(page));
    // GitHub writes commas in its links as they are (`labels=bug,ui`): legal in a URI, and a
    // trap for a Link parser that splits the header at every comma.
    return `<${baseUrl}${request.path}?${query.toString().replace(/%2C/gi, ',')}>; rel="${rel}"`;
  };
  const rels: string[] = [];
  if (pageNo > 1) rels.push(link(pageNo - 1, 'prev'));
  if (pageNo < last) rels.push(link(pageNo + 1, 'next'), link(last, 'last'));
  if (pageNo > 1) rels.push(link(1, 'first'));
  return { page: items.slice((pageNo - 1) * perPage, pageNo * perPage), link: rels.length > 0 ? rels.join(', ') : undefined };
}

function route(request: RecordedRequest, server: FakeServer): Reply {
  if (request.auth === 'missing') return githubError(401, 'Requires authentication');
  if (request.auth === 'invalid') return githubError(401, 'Bad credentials');
  if (request.method !== 'GET') return githubError(404, 'Not Found');
  const base = server.baseUrl;
  const repo = /^\/repos\/([^/]+)\/([^/]+)\/(issues|pulls)(?:\/(\d+))?$/.exec(request.path);
  if (repo) {
    const [, owner, name, kind, number] = repo;
    if (owner !== GITHUB_OWNER || name !== GITHUB_REPO) return githubError(404, 'Not Found');
    if (number !== undefined) {
      const issue = GITHUB_ISSUES.find((i) => i.number === Number(number));
      if (!issue || kind === 'pulls') return githubError(404, 'Not Found');
      return { status: 200, body: rawIssue(issue, base) };
    }
    const state = request.query['state'] ?? 'open';
    const labels = (request.query['labels'] ?? '').split(',').filter(Boolean);
    const since = request.query['since'];
    const matching = GITHUB_ISSUES.filter((i) =>
      (state === 'all' || i.state === state)
      && labels.every((l) => i.labels.includes(l))
      && (since === undefined || i.updated_at >= since)
      && (kind === 'issues' || i.pull_request === true));
    const paged = paginate(matching, request, base);
    if ('status' in paged) return paged;
    const body = paged.page.map((i) => (kind === 'issues' ? rawIssue(i, base) : rawPull(i, base)));
    return { status: 200, headers: paged.link ? { link: paged.link } : {}, body };
  }
  if (request.path === '/search/issues') {
    const q = request.query['q'];
    if (!q) return githubError(422, 'Validation Failed');
    const words = q.split(/\s+/).filter((w) => w && !w.includes(':')).map((w) => w.toLowerCase());
    const matching = GITHUB_ISSUES.filter((i) => !i.pull_request && words.every((w) => `${i.title} ${i.body ?? ''}`.toLowerCase().includes(w)));
    const paged = paginate(matching, request, base);
    if ('status' in paged) return paged;
    return {
      status: 200,
      headers: paged.link ? { link: paged.link } : {},
      body: { total_count: matching.length, incomplete_results: false, items: paged.page.map((i) => rawIssue(i, base)) },
    };
  }
  return githubError(404, 'Not Found');
}

export class GitHubFake extends FakeServer {
  remaining = 5000;

  constructor(token = GITHUB_TOKEN) {
    super(route, { token });
  }

  protected override commonHeaders(request: RecordedRequest, serial: number): Record<string, string> {
    const search = request.path.startsWith('/search/');
    if (!search) this.remaining = Math.max(0, this.remaining - 1);
    return {
      'x-github-request-id': `C0DE:${String(serial).padStart(4, '0')}:5E6F7A:8B9C0D:665F${String(serial).padStart(4, '0')}`,
      'x-github-media-type': 'github.v3; format=json',
      'x-ratelimit-limit': search ? '30' : '5000',
      'x-ratelimit-remaining': String(search ? 29 : this.remaining),
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-used': String(search ? 1 : 5000 - this.remaining),
      'x-ratelimit-resource': search ? 'search' : 'core',
    };
  }

  /** The next request hits GitHub's secondary rate limit: 429 with Retry-After. */
  rateLimitNext(retryAfterSeconds: number): this {
    return this.next({ kind: 'reply', reply: githubError(429, 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', { 'retry-after': String(retryAfterSeconds) }) });
  }

  /** The next request finds the primary budget spent: 403 with `x-ratelimit-remaining: 0`. */
  exhaustNext(resetInSeconds = 60): this {
    return this.next({
      kind: 'reply',
      reply: githubError(403, 'API rate limit exceeded for user ID 1.', {
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + resetInSeconds),
      }),
    });
  }

  /** The next request gets `status` with GitHub's error body. */
  errorNext(status: number, message = status >= 500 ? 'Server Error' : 'Error', headers: Record<string, string> = {}): this {
    return this.next({ kind: 'reply', reply: githubError(status, message, headers) });
  }
}

export async function startGitHub(token = GITHUB_TOKEN): Promise<GitHubFake> {
  const server = new GitHubFake(token);
  await server.start();
  return server;
}
