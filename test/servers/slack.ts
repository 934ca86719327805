/**
 * A fake Slack Web API for the methods the Slack integration calls: `POST /chat.postMessage`
 * (JSON body) and `GET /conversations.list` (query arguments, cursor pagination through
 * `response_metadata.next_cursor`). Like Slack, it reports most failures as HTTP 200 with
 * `{ok: false, error}`, rate limits with 429 + Retry-After, and sends `x-slack-req-id`.
 */
import { FakeServer, type RecordedRequest, type Reply } from './fake.ts';

export const SLACK_TOKEN = 'xoxb-000000000000-1111111111111-FAKEslackTOKENabcdef';

export interface FakeChannel {
  id: string;
  name: string;
  is_private: boolean;
  is_archived: boolean;
  num_members: number;
}

export const SLACK_CHANNELS: readonly FakeChannel[] = [
  { id: 'C0100000001', name: 'general', is_private: false, is_archived: false, num_members: 412 },
  { id: 'C0100000002', name: 'incidents', is_private: false, is_archived: false, num_members: 88 },
  { id: 'C0100000003', name: 'releases', is_private: false, is_archived: false, num_members: 130 },
  { id: 'G0100000004', name: 'oncall-platform', is_private: true, is_archived: false, num_members: 9 },
  { id: 'C0100000005', name: 'old-launch', is_private: false, is_archived: true, num_members: 0 },
  { id: 'C0100000006', name: 'sales', is_private: false, is_archived: false, num_members: 57 },
  { id: 'C0100000007', name: 'random', is_private: false, is_archived: false, num_members: 398 },
];

export function slackError(error: string, status = 200, headers: Record<string, string> = {}): Reply {
  return { status, headers, body: { ok: false, error } };
}

const encodeCursor = (id: string) => Buffer.from(`team:${id}`, 'utf8').toString('base64');
const decodeCursor = (cursor: string) => {
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  return text.startsWith('team:') ? text.slice(5) : null;
};

function route(request: RecordedRequest, server: SlackFake): Reply {
  if (request.path !== '/chat.postMessage' && request.path !== '/conversations.list') {
    return slackError('unknown_method', 404);
  }
  if (request.auth === 'missing') return slackError('not_authed');
  if (request.auth === 'invalid') return slackError('invalid_auth');
  if (request.path === '/chat.postMessage') {
    if (request.method !== 'POST') return slackError('method_not_supported_for_channel_type');
    const args = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
    if (typeof args['channel'] !== 'string' || args['channel'] === '') return slackError('channel_not_found');
    const channel = SLACK_CHANNELS.find((c) => c.id === args['channel']);
    if (!channel) return slackError('channel_not_found');
    if (channel.is_archived) return slackError('is_archived');
    if (typeof args['text'] !== 'string' || args['text'] === '') return slackError('no_text');
    const ts = `1716195600.${String(server.posted.length + 1).padStart(6, '0')}`;
    server.posted.push({ channel: channel.id, text: args['text'], ts });
    const message = {
      type: 'message', subtype: 'bot_message', text: args['text'], user: 'U0BOT00001', bot_id: 'B0BOT00001', ts,
      ...(typeof args['thread_ts'] === 'string' ? { thread_ts: args['thread_ts'] } : {}),
    };
    return { status: 200, body: { ok: true, channel: channel.id, ts, message } };
  }
  const types = (request.query['types'] ?? 'public_channel').split(',');
  const excludeArchived = request.query['exclude_archived'] === 'true';
  const limit = Number(request.query['limit'] ?? '100');
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return slackError('invalid_limit');
  const visible = SLACK_CHANNELS.filter((c) =>
    (c.is_private ? types.includes('private_channel') : types.includes('public_channel'))
    && !(excludeArchived && c.is_archived));
  let start = 0;
  const cursor = request.query['cursor'];
  if (cursor) {
    const id = decodeCursor(cursor);
    start = visible.findIndex((c) => c.id === id);
    if (start < 0) return slackError('invalid_cursor');
  }
  const page = visible.slice(start, start + limit);
  const next = visible[start + limit];
  return {
    status: 200,
    body: {
      ok: true,
      channels: page.map((c) => ({ ...c, is_channel: !c.is_private, is_group: c.is_private, created: 1_600_000_000, creator: 'U0ADMIN001' })),
      response_metadata: { next_cursor: next ? encodeCursor(next.id) : '' },
    },
  };
}

export class SlackFake extends FakeServer {
  /** Messages actually posted. */
  readonly posted: { channel: string; text: string; ts: string }[] = [];

  constructor(token = SLACK_TOKEN) {
    super((request, server) => route(request, server as SlackFake), { token });
  }

  protected override commonHeaders(_request: RecordedRequest, serial: number): Record<string, string> {
    return {
      'x-slack-req-id': `a1b2c3d4e5f6${String(serial).padStart(8, '0')}`,
      'x-oauth-scopes': 'chat:write,channels:read,groups:read',
      'x-accepted-oauth-scopes': 'chat:write',
    };
  }

  /** The next request gets HTTP 200 `{ok: false, error}`. */
  slackErrorNext(error: string): this {
    return this.next({ kind: 'reply', reply: slackError(error) });
  }

  /** The next request is rate limited: 429 with Retry-After. */
  rateLimitNext(retryAfterSeconds: number): this {
    return this.next({ kind: 'reply', reply: slackError('ratelimited', 429, { 'retry-after': String(retryAfterSeconds) }) });
  }

  /** The next request gets an HTTP error status. */
  errorNext(status: number, headers: Record<string, string> = {}): this {
    const error = status >= 500 ? 'service_unavailable' : status === 401 ? 'invalid_auth' : status === 404 ? 'unknown_method' : 'request_failed';
    return this.next({ kind: 'reply', reply: slackError(error, status, headers) });
  }

  override reset(): void {
    super.reset();
    this.posted.length = 0;
  }
}

export async function startSlack(token = SLACK_TOKEN): Promise<SlackFake> {
  const server = new SlackFake(token);
  await server.start();
  return server;
}
