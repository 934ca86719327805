/**
 * Slack (outbound): posts messages the user has approved, and lists channels to pick from.
 *
 * Classification `outbound`: the only write is an explicit, declared notification. A
 * `dry_run` call never reaches Slack; it returns the exact message that would be posted,
 * which is what the confirmation step shows the user.
 * Config: `base_url` (default https://slack.com/api). Credential: a bot token (xoxb-...).
 */
import {
  BaseIntegration,
  IntegrationFailure,
  defineMethod,
  type CallContext,
  type MethodHandler,
  type MethodSpec,
} from 'botc/integration';

const DEFAULT_BASE_URL = 'https://slack.com/api';

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

interface SlackReply {
  ok: boolean;
  error?: string;
  response_metadata?: { next_cursor?: string };
  [field: string]: unknown;
}
interface RawChannel { id: string; name: string; is_private?: boolean; is_archived?: boolean; num_members?: number }

export class SlackIntegration extends BaseIntegration {
  describeMethods(): MethodSpec[] {
    return METHODS;
  }

  protected handlers(): Record<string, MethodHandler> {
    return {
      'slack.chat.post_message.v1': async ({ args, dry_run, ctx }) => {
        const a = args as { channel: string; text: string; thread_ts?: string; unfurl_links?: boolean };
        if (dry_run) return { data: { delivered: false, channel: a.channel, ts: null, text: a.text } };
        const reply = await this.post('chat.postMessage', { ...a, unfurl_links: a.unfurl_links ?? false }, ctx);
        const ts = typeof reply.body['ts'] === 'string' ? reply.body['ts'] : null;
        return {
          data: { delivered: true, channel: a.channel, ts, text: a.text },
          provider_request_id: reply.requestId,
          source_ref: ts === null ? a.channel : `${a.channel}/${ts}`,
        };
      },
      'slack.channels.list.v1': async ({ args, cursor, ctx }) => {
        const a = args as { include_private?: boolean; exclude_archived?: boolean; limit?: number };
        const reply = await this.post('conversations.list', {
          types: a.include_private ? 'public_channel,private_channel' : 'public_channel',
          exclude_archived: a.exclude_archived ?? true,
          limit: a.limit ?? 100,
          ...(cursor ? { cursor } : {}),
        }, ctx);
        const raw = (reply.body['channels'] ?? []) as RawChannel[];
        const channels = raw.map((c) => ({
          id: c.id, name: c.name, is_private: c.is_private ?? false,
          is_archived: c.is_archived ?? false, num_members: c.num_members ?? 0,
        }));
        const next = reply.body.response_metadata?.next_cursor;
        return { data: { channels }, next_cursor: next ? next : null, provider_request_id: reply.requestId };
      },
    };
  }

  private get baseUrl(): string {
    const configured = this.context.config['base_url'];
    return (typeof configured === 'string' && configured !== '' ? configured : DEFAULT_BASE_URL).replace(/\/+$/, '');
  }

  /** Slack Web API call: JSON body, bearer token; Slack reports most failures as `ok: false`. */
  private async post(apiMethod: string, body: Record<string, unknown>, ctx: CallContext) {
    if (!ctx.credential) throw new IntegrationFailure('AUTH_REQUIRED', 'no Slack bot token is configured for this tenant');
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/${apiMethod}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ctx.credential.secret}`,
          'content-type': 'application/json; charset=utf-8',
        },
        body: JSON.stringify(body),
        signal: ctx.signal,
      });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      throw new IntegrationFailure('PROVIDER_UNAVAILABLE', 'Slack could not be reached', { retriable: true });
    }
    if (!response.ok) throw httpFailure(response.status);
    const reply = (await response.json()) as SlackReply;
    if (!reply.ok) throw apiFailure(reply.error ?? 'unknown_error');
    return { body: reply, requestId: response.headers.get('x-slack-req-id') };
  }
}

function httpFailure(status: number): IntegrationFailure {
  const options = { http_status: status, provider_code: String(status) };
  if (status === 401) return new IntegrationFailure('AUTH_REQUIRED', 'Slack rejected the token', options);
  if (status === 403) return new IntegrationFailure('AUTH_FORBIDDEN', 'Slack refused access', options);
  if (status === 404) return new IntegrationFailure('NOT_FOUND', 'Slack API method not found', options);
  if (status === 409) return new IntegrationFailure('CONFLICT', 'Slack reported a conflict', options);
  if (status === 429) return new IntegrationFailure('RATE_LIMITED', 'Slack rate limit exceeded', { ...options, retriable: true });
  if (status >= 500) return new IntegrationFailure('PROVIDER_UNAVAILABLE', `Slack answered ${status}`, { ...options, retriable: true });
  return new IntegrationFailure('PROVIDER_ERROR', `Slack answered ${status}`, options);
}

/** Slack's `error` strings (HTTP 200, `ok: false`) mapped to the closed error codes. */
function apiFailure(error: string): IntegrationFailure {
  const options = { http_status: 200, provider_code: error };
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
      return new IntegrationFailure('PROVIDER_ERROR', `Slack returned an error (${error})`, options);
  }
}
