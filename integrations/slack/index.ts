/**
 * Slack (outbound): posts messages the user has approved, and lists channels to pick from.
 *
 * Classification `outbound`: the only write is an explicit, declared notification. A
 * `dry_run` call never reaches Slack; its data is `{dry_run: true, request}`, the exact request
 * that would be sent (token redacted), which is what the confirmation step shows the user.
 * Config: `base_url` (default https://slack.com/api). Credential: a bot token (xoxb-...).
 */
import {
  HttpIntegration,
  IntegrationFailure,
  defineMethod,
  type HttpReply,
  type MethodHandler,
  type MethodSpec,
} from 'botc/integration';

export const CHAT_POST_MESSAGE = defineMethod({
  method_id:
    'slack.chat.post_message.v1',
  description: 'Post a plain-text message (Slack mrkdwn) to a channel, optionally as a thread reply.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['channel', 'text'],
    properties: {
      channel: { type: 'string', pattern: '^[CG][A-Z0-9]{6,}$', description: 'Channel id (not the #name); find it with slack.channels.list.v1.', examples: ['C024BE91L'] },
      text: { type: 'string', minLength: 1, maxLength: 3000, description: 'Message text in Slack mrkdwn.' },
      thread_ts: { type: 'string', pattern: '^[0-9]+[.][0-9]+$', description: 'Timestamp of the parent message to reply in its thread.', examples: ['1716195600.000200'] },
      unfurl_links: { type: 'boolean', default: false, description: 'Whether Slack should expand link previews.' },
    },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['delivered', 'channel', 'ts', 'text'],
    properties: {
      delivered: { type: 'boolean', description: 'False for a dry run: nothing was posted.' },
      channel: { type: 'string', description: 'Channel id the message went (or would go) to.' },
      ts: { anyOf: [{ type: 'string' }, { type: 'null' }], description: 'Slack timestamp of the posted message; null for a dry run.' },
      text: { type: 'string', description: 'The exact text posted, or that would be posted.' },
    },
  },
  capabilities: ['notify'],
  idempotency: 'non_idempotent_write',
  auth_scopes: ['chat:write'],
  rate_limit_hint: { max_calls: 1, per_seconds: 1 },
});

export const CHANNELS_LIST = defineMethod({
  method_id:
    'slack.channels.list.v1',
  description: 'List the public and private channels the bot user can see.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      include_private: { type: 'boolean', default: false, description: 'Also list private channels the bot was invited to.' },
      exclude_archived: { type: 'boolean', default: true, description: 'Leave archived channels out.' },
      limit: { type: 'integer', minimum: 1, maximum: 200, default: 100, description: 'Page size.' },
    },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['channels'],
    properties: {
      channels: {
        type: 'array',
        description: 'Channels on this page.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'name', 'is_private', 'is_archived', 'num_members'],
          properties: {
            id: { type: 'string', description: 'Channel id to pass to slack.chat.post_message.v1.' },
            name: { type: 'string', description: 'Channel name without the #.' },
            is_private: { type: 'boolean', description: 'True for private channels.' },
            is_archived: { type: 'boolean', description: 'True for archived channels.' },
            num_members: { type: 'integer', minimum: 0, description: 'Member count.' },
          },
        },
      },
    },
  },
  capabilities: ['read'],
  idempotency: 'safe_read',
  auth_scopes: ['channels:read', 'groups:read'],
  rate_limit_hint: { max_calls: 20, per_seconds: 60 },
});

const METHODS: MethodSpec[] = [CHAT_POST_MESSAGE, CHANNELS_LIST];

/** Every Slack Web API answer; most failures are HTTP 200 with `ok: false`. */
interface SlackReply {
  ok: boolean;
  error?: string;
  response_metadata?: { next_cursor?: string };
  [field: string]: unknown;
}
interface RawChannel { id: string; name: string; is_private?: boolean; is_archived?: boolean; num_members?: number }

/**
 * Slack's Web API: bearer bot token, `ok: false` error bodies on HTTP 200, and cursor
 * pagination through `response_metadata.next_cursor` / the `cursor` argument.
 */
export class SlackIntegration extends HttpIntegration {
  protected readonly defaultBaseUrl = 'https://slack.com/api';
  protected override readonly requestIdHeader = 'x-slack-req-id';
  /** Slack publishes no remaining-budget header; it answers 429 with Retry-After instead. */
  protected override readonly rateLimitHeader = 'x-ratelimit-remaining';

  describeMethods(): MethodSpec[] {
    return METHODS;
  }

  protected handlers(): Record<string, MethodHandler> {
    return {
      'slack.chat.post_message.v1': async (input) => {
        const a = input.args as { channel: string; text: string; thread_ts?: string; unfurl_links?: boolean };
        const sent = await this.push<SlackReply>(input, {
          method: 'POST',
          path: '/chat.postMessage',
          body: { ...a, unfurl_links: a.unfurl_links ?? false },
        });
        // A dry run shows the exact request that would be sent; nothing reached Slack.
        if ('dry_run' in sent) return { data: { dry_run: true, request: sent.preview }, source_ref: a.channel };
        const body = checked(sent);
        const ts = typeof body['ts'] === 'string' ? body['ts'] : null;
        return {
          data: { delivered: true, channel: a.channel, ts, text: a.text },
          provider_request_id: sent.provider_request_id,
          source_ref: ts === null ? a.channel : `${a.channel}/${ts}`,
        };
      },
      'slack.channels.list.v1': async (input) => {
        const a = input.args as { include_private?: boolean; exclude_archived?: boolean; limit?: number };
        const reply = await this.fetch<SlackReply>(input, {
          path: '/conversations.list',
          query: {
            types: a.include_private ? 'public_channel,private_channel' : 'public_channel',
            exclude_archived: a.exclude_archived ?? true,
            limit: a.limit ?? 100,
          },
        });
        const raw = (checked(reply)['channels'] ?? []) as RawChannel[];
        const channels = raw.map((c) => ({
          id: c.id, name: c.name, is_private: c.is_private ?? false,
          is_archived: c.is_archived ?? false, num_members: c.num_members ?? 0,
        }));
        return { data: { channels }, next_cursor: reply.next_cursor, provider_request_id: reply.provider_request_id };
      },
    };
  }

  /** Slack's cursor is already opaque: `response_metadata.next_cursor`, empty on the last page. */
  protected override cursorFrom(reply: { headers: Headers; body: unknown }): string | null {
    const body = reply.body as SlackReply | null;
    const next = typeof body === 'object' && body !== null ? body.response_metadata?.next_cursor : undefined;
    return typeof next === 'string' && next.length > 0 ? next : null;
  }

  protected override applyCursor(query: URLSearchParams, cursor: string): void {
    query.set('cursor', cursor);
  }

  /** Slack's HTTP-level failures carry its `error` string too (e.g. 429 `ratelimited`). */
  protected override failureFor(status: number, headers: Headers, body: unknown): IntegrationFailure {
    const failure = super.failureFor(status, headers, body);
    const error = typeof body === 'object' && body !== null ? (body as SlackReply).error : undefined;
    if (typeof error !== 'string' || status === 429 || status >= 500) return failure;
    return apiFailure(error, status);
  }
}

/** The body of a 2xx answer, or the failure its `ok: false` stands for. */
function checked(reply: HttpReply<SlackReply>): SlackReply {
  const body = reply.body;
  if (typeof body !== 'object' || body === null) {
    throw new IntegrationFailure('PROVIDER_ERROR', 'Slack answered without a JSON body', { http_status: reply.status });
  }
  if (body.ok !== true) throw apiFailure(typeof body.error === 'string' ? body.error : 'unknown_error', reply.status);
  return body;
}

/** Slack's `error` strings mapped to the closed error codes. */
function apiFailure(error: string, status: number): IntegrationFailure {
  const options = { http_status: status, provider_code: error.slice(0, 100) };
  switch (error) {
    case 'not_authed':
    case 'invalid_auth':
    case 'token_revoked':
    case 'token_expired':
    case 'account_inactive':
      return new IntegrationFailure('AUTH_REQUIRED', `Slack needs a valid token (${error})`, options);
    case 'missing_scope':
    case 'not_in_channel':
    case 'restricted_action':
    case 'is_archived':
      return new IntegrationFailure('AUTH_FORBIDDEN', `Slack refused the action (${error})`, options);
    case 'channel_not_found':
    case 'thread_not_found':
      return new IntegrationFailure('NOT_FOUND', `Slack could not find the target (${error})`, options);
    case 'ratelimited':
    case 'rate_limited':
      return new IntegrationFailure('RATE_LIMITED', 'Slack rate limit exceeded', { ...options, retriable: true });
    case 'invalid_arguments':
    case 'msg_too_long':
    case 'no_text':
    case 'invalid_cursor':
      return new IntegrationFailure('VALIDATION_FAILED', `Slack rejected the arguments (${error})`, options);
    case 'internal_error':
    case 'service_unavailable':
    case 'fatal_error':
      return new IntegrationFailure('PROVIDER_UNAVAILABLE', `Slack is unavailable (${error})`, { ...options, retriable: true });
    default:
      return new IntegrationFailure('PROVIDER_ERROR', `Slack returned an error (${error.slice(0, 100)})`, options);
  }
}
