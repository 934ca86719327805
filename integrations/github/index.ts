/**
 * GitHub (read-only): issues, issue search and pull requests through the REST API v3.
 *
 * Classification `read_only`: every method only reads. Authentication is a tenant-scoped
 * token (fine-grained PAT or GitHub App installation token) sent as a bearer token.
 * Config: `base_url` (default https://api.github.com, set it for GitHub Enterprise Server).
 */
import {
  HttpIntegration,
  IntegrationFailure,
  defineMethod,
  type HandlerInput,
  type HttpReply,
  type MethodHandler,
  type MethodSpec,
  type QueryValue,
} from 'botc/integration';

const OWNER = { type: 'string', minLength: 1, maxLength: 39, description: 'Account or organization that owns the repository.', examples: ['octo-org'] };
const REPO = { type: 'string', minLength: 1, maxLength: 100, description: 'Repository name without the owner.', examples: ['platform'] };
const PER_PAGE = { type: 'integer', minimum: 1, maximum: 100, default: 30, description: 'Page size (GitHub caps it at 100).' };
const NULLABLE_STRING = (description: string) => ({ anyOf: [{ type: 'string' }, { type: 'null' }], description });

const ISSUE_SUMMARY = {
  type: 'object',
  additionalProperties: false,
  required: ['number', 'title', 'state', 'labels', 'author', 'comments', 'created_at', 'updated_at', 'html_url'],
  properties: {
    number: { type: 'integer', minimum: 1, description: 'Issue number within the repository.' },
    title: { type: 'string', description: 'Issue title as written by the author.' },
    state: { type: 'string', enum: ['open', 'closed'], description: 'Whether the issue is open or closed.' },
    labels: { type: 'array', items: { type: 'string' }, description: 'Label names on the issue.' },
    author: { type: 'string', description: 'Login of the user who opened the issue.' },
    comments: { type: 'integer', minimum: 0, description: 'Number of comments.' },
    created_at: { type: 'string', description: 'ISO 8601 creation time.' },
    updated_at: { type: 'string', description: 'ISO 8601 time of the last update.' },
    html_url: { type: 'string', description: 'Link to the issue on GitHub.' },
  },
} as const;

const SEARCH_OUTPUT = {
  type: 'object',
  additionalProperties: false,
  required: ['total_count', 'incomplete_results', 'items'],
  properties: {
    total_count: { type: 'integer', minimum: 0, description: 'Number of issues matching the query.' },
    incomplete_results: { type: 'boolean', description: 'True when GitHub timed out and the result set may be partial.' },
    items: { type: 'array', items: ISSUE_SUMMARY, description: 'Matching issues on this page.' },
  },
} as const;

export const ISSUES_LIST = defineMethod({
  method_id:
    'github.issues.list.v1',
  description: 'List issues of one repository (pull requests are filtered out), newest first.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['owner', 'repo'],
    properties: {
      owner: OWNER,
      repo: REPO,
      state: { type: 'string', enum: ['open', 'closed', 'all'], default: 'open', description: 'Which issues to list.' },
      labels: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 10, description: 'Only issues carrying all of these labels.' },
      since: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T', description: 'Only issues updated at or after this ISO 8601 time.', examples: ['2024-05-01T00:00:00Z'] },
      per_page: PER_PAGE,
    },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['issues'],
    properties: {
      issues: { type: 'array', items: ISSUE_SUMMARY, description: 'Issues on this page.' },
    },
  },
  capabilities: ['read'],
  idempotency: 'safe_read',
  auth_scopes: ['repo:read'],
  rate_limit_hint: { max_calls: 5000, per_seconds: 3600 },
});

export const ISSUES_GET = defineMethod({
  method_id:
    'github.issues.get.v1',
  description: 'Fetch one issue with its body and assignees.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['owner', 'repo', 'number'],
    properties: {
      owner: OWNER,
      repo: REPO,
      number: { type: 'integer', minimum: 1, description: 'Issue number within the repository.', examples: [1423] },
    },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['issue'],
    properties: {
      issue: {
        type: 'object',
        additionalProperties: false,
        required: [...ISSUE_SUMMARY.required, 'body', 'assignees', 'closed_at'],
        properties: {
          ...ISSUE_SUMMARY.properties,
          body: NULLABLE_STRING('Issue body in Markdown; null when the author left it empty.'),
          assignees: { type: 'array', items: { type: 'string' }, description: 'Logins of the assignees.' },
          closed_at: NULLABLE_STRING('ISO 8601 time the issue was closed; null while open.'),
        },
        description: 'The issue.',
      },
    },
  },
  capabilities: ['read'],
  idempotency: 'safe_read',
  auth_scopes: ['repo:read'],
  rate_limit_hint: { max_calls: 5000, per_seconds: 3600 },
});

export const ISSUES_SEARCH_V1 = defineMethod({
  method_id:
    'github.issues.search.v1',
  description: 'Search issues across every repository the token can see. Deprecated: unscoped queries read far more than a bot needs; use github.issues.search.v2.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['query'],
    properties: {
      query: { type: 'string', minLength: 1, maxLength: 256, description: 'GitHub search syntax, e.g. "timeout in:title is:open".' },
      per_page: PER_PAGE,
    },
  },
  output_schema: SEARCH_OUTPUT,
  capabilities: ['read'],
  idempotency: 'safe_read',
  auth_scopes: ['repo:read'],
  rate_limit_hint: { max_calls: 30, per_seconds: 60 },
  deprecated: true,
  replacement_method_id: 'github.issues.search.v2',
});

export const ISSUES_SEARCH_V2 = defineMethod({
  method_id:
    'github.issues.search.v2',
  description: 'Search issues of one repository by keywords; the repository scope is always applied.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['owner', 'repo', 'keywords'],
    properties: {
      owner: OWNER,
      repo: REPO,
      keywords: { type: 'string', minLength: 1, maxLength: 200, description: 'Words to look for in titles and bodies.', examples: ['webhook timeout'] },
      state: { type: 'string', enum: ['open', 'closed', 'all'], default: 'all', description: 'Restrict to open or closed issues.' },
      per_page: PER_PAGE,
    },
  },
  output_schema: SEARCH_OUTPUT,
  capabilities: ['read'],
  idempotency: 'safe_read',
  auth_scopes: ['repo:read'],
  rate_limit_hint: { max_calls: 30, per_seconds: 60 },
});

export const PULLS_LIST = defineMethod({
  method_id:
    'github.pulls.list.v1',
  description: 'List pull requests of one repository, most recently updated first.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['owner', 'repo'],
    properties: {
      owner: OWNER,
      repo: REPO,
      state: { type: 'string', enum: ['open', 'closed', 'all'], default: 'open', description: 'Which pull requests to list; merged ones are closed.' },
      base: { type: 'string', minLength: 1, maxLength: 255, description: 'Only pull requests targeting this branch.', examples: ['main'] },
      per_page: PER_PAGE,
    },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['pulls'],
    properties: {
      pulls: {
        type: 'array',
        description: 'Pull requests on this page.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['number', 'title', 'state', 'author', 'labels', 'base', 'head', 'draft', 'merged_at', 'updated_at', 'html_url'],
          properties: {
            number: { type: 'integer', minimum: 1, description: 'Pull request number.' },
            title: { type: 'string', description: 'Pull request title.' },
            state: { type: 'string', enum: ['open', 'closed'], description: 'Open or closed (merged pull requests are closed).' },
            author: { type: 'string', description: 'Login of the author.' },
            labels: { type: 'array', items: { type: 'string' }, description: 'Label names.' },
            base: { type: 'string', description: 'Target branch.' },
            head: { type: 'string', description: 'Source branch.' },
            draft: { type: 'boolean', description: 'True for draft pull requests.' },
            merged_at: NULLABLE_STRING('ISO 8601 merge time; null when not merged.'),
            updated_at: { type: 'string', description: 'ISO 8601 time of the last update.' },
            html_url: { type: 'string', description: 'Link to the pull request on GitHub.' },
          },
        },
      },
    },
  },
  capabilities: ['read'],
  idempotency: 'safe_read',
  auth_scopes: ['repo:read'],
  rate_limit_hint: { max_calls: 5000, per_seconds: 3600 },
});

const METHODS: MethodSpec[] = [ISSUES_LIST, ISSUES_GET, ISSUES_SEARCH_V1, ISSUES_SEARCH_V2, PULLS_LIST];

/* Raw GitHub payloads: only the fields we normalize. */
interface RawUser { login: string }
interface RawLabel { name?: string }
interface RawIssue {
  number: number; title: string; state: 'open' | 'closed'; labels: (RawLabel | string)[];
  user: RawUser | null; comments: number; created_at: string; updated_at: string; html_url: string;
  body?: string | null; assignees?: RawUser[]; closed_at?: string | null; pull_request?: unknown;
}
interface RawPull {
  number: number; title: string; state: 'open' | 'closed'; user: RawUser | null; labels: RawLabel[];
  base: { ref: string }; head: { ref: string }; draft?: boolean; merged_at: string | null;
  updated_at: string; html_url: string;
}
interface RawSearch { total_count: number; incomplete_results: boolean; items: RawIssue[] }

/** Headers GitHub asks every REST client to send. */
const GITHUB_HEADERS = {
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
  'user-agent': 'botc-github-integration',
};

/**
 * Pagination is GitHub's Link header (rel="next"), which the base turns into an opaque
 * cursor; rate limits are `x-ratelimit-*` and the secondary limits (see `rateLimitFor`).
 */
export class GitHubIntegration extends HttpIntegration {
  protected readonly defaultBaseUrl = 'https://api.github.com';
  protected override readonly requestIdHeader = 'x-github-request-id';
  protected override readonly rateLimitHeader = 'x-ratelimit-remaining';
  /** "API rate limit exceeded…", "You have exceeded a secondary rate limit…". */
  protected override readonly rateLimitMarkers = ['rate limit'];

  describeMethods(): MethodSpec[] {
    return METHODS;
  }

  protected handlers(): Record<string, MethodHandler> {
    return {
      'github.issues.list.v1': async (input) => {
        const a = input.args as { owner: string; repo: string; state?: string; labels?: string[]; since?: string; per_page?: number };
        const reply = await this.get<RawIssue[]>(input, `${repoPath(a)}/issues`, {
          state: a.state ?? 'open', labels: a.labels?.join(','), since: a.since, per_page: a.per_page ?? 30,
        });
        const issues = reply.body.filter((i) => i.pull_request === undefined).map(issueSummary);
        return out({ issues }, reply, `${a.owner}/${a.repo}`);
      },
      'github.issues.get.v1': async (input) => {
        const a = input.args as { owner: string; repo: string; number: number };
        const reply = await this.get<RawIssue>(input, `${repoPath(a)}/issues/${a.number}`, {});
        const raw = reply.body;
        const issue = {
          ...issueSummary(raw),
          body: raw.body ?? null,
          assignees: (raw.assignees ?? []).map((u) => u.login),
          closed_at: raw.closed_at ?? null,
        };
        return out({ issue }, reply, raw.html_url);
      },
      'github.issues.search.v1': async (input) => {
        const a = input.args as { query: string; per_page?: number };
        return this.search(input, `${a.query} is:issue`, a.per_page, null);
      },
      'github.issues.search.v2': async (input) => {
        const a = input.args as { owner: string; repo: string; keywords: string; state?: string; per_page?: number };
        const state = a.state === 'open' || a.state === 'closed' ? ` state:${a.state}` : '';
        const q = `${a.keywords} repo:${a.owner}/${a.repo} is:issue${state}`;
        return this.search(input, q, a.per_page, `${a.owner}/${a.repo}`);
      },
      'github.pulls.list.v1': async (input) => {
        const a = input.args as { owner: string; repo: string; state?: string; base?: string; per_page?: number };
        const reply = await this.get<RawPull[]>(input, `${repoPath(a)}/pulls`, {
          state: a.state ?? 'open', base: a.base, sort: 'updated', direction: 'desc', per_page: a.per_page ?? 30,
        });
        const pulls = reply.body.map((p) => ({
          number: p.number, title: p.title, state: p.state, author: p.user?.login ?? 'ghost',
          labels: p.labels.map((l) => l.name ?? ''), base: p.base.ref, head: p.head.ref,
          draft: p.draft ?? false, merged_at: p.merged_at, updated_at: p.updated_at, html_url: p.html_url,
        }));
        return out({ pulls }, reply, `${a.owner}/${a.repo}`);
      },
    };
  }

  /**
   * GitHub's rate limits: the primary budget spent (403 or 429 with `x-ratelimit-remaining: 0`,
   * the wait in `x-ratelimit-reset`, epoch seconds), and the secondary limits (403 or 429 with
   * budget left, often a `retry-after`, and a message naming the limit). A Retry-After wins;
   * without one and without a spent budget, the wait is unknown (null), not guessed.
   */
  protected override rateLimitFor(status: number, headers: Headers, body: unknown): { retry_after_ms: number | null } | undefined {
    const limited = super.rateLimitFor(status, headers, body);
    if (!limited || limited.retry_after_ms !== null) return limited;
    const reset = headers.get('x-ratelimit-reset')?.trim() ?? '';
    if (headers.get('x-ratelimit-remaining')?.trim() !== '0' || !/^\d+$/.test(reset)) return limited;
    return { retry_after_ms: Math.max(0, Number(reset) * 1000 - Date.now()) };
  }

  private async search(input: HandlerInput, q: string, perPage: number | undefined, ref: string | null) {
    const reply = await this.get<RawSearch>(input, '/search/issues', { q, per_page: perPage ?? 30 });
    const data = {
      total_count: reply.body.total_count,
      incomplete_results: reply.body.incomplete_results,
      items: reply.body.items.map(issueSummary),
    };
    return out(data, reply, ref);
  }

  private get<T>(input: HandlerInput, path: string, query: Record<string, QueryValue>): Promise<HttpReply<T>> {
    return this.fetch<T>(input, { path, query, headers: GITHUB_HEADERS });
  }
}

function repoPath(a: { owner: string; repo: string }): string {
  return `/repos/${encodeURIComponent(a.owner)}/${encodeURIComponent(a.repo)}`;
}

function issueSummary(raw: RawIssue) {
  return {
    number: raw.number,
    title: raw.title,
    state: raw.state,
    labels: raw.labels.map((l) => (typeof l === 'string' ? l : l.name ?? '')),
    author: raw.user?.login ?? 'ghost',
    comments: raw.comments,
    created_at: raw.created_at,
    updated_at: raw.updated_at,
    html_url: raw.html_url,
  };
}

function out(data: unknown, reply: HttpReply<unknown>, ref: string | null) {
  return {
    data,
    next_cursor: reply.next_cursor,
    provider_request_id: reply.provider_request_id,
    rate_limit_remaining: reply.rate_limit_remaining,
    source_ref: ref,
  };
}
