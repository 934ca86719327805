/**
 * Mailer (outbound), on HttpIntegration, against a loopback server the test starts
 * (`base_url` from the provider config). Every request that leaves the process reaches that
 * server, so the test counts exactly what was sent. Under `dry_run` `push` returns the exact
 * request instead of sending it.
 */
import { HttpIntegration, defineMethod } from 'botc/integration';

const MESSAGE_INPUT = {
  type: 'object',
  additionalProperties: false,
  required: ['to', 'text'],
  properties: {
    to: { type: 'string', minLength: 1, maxLength: 200, description: 'Recipient.' },
    text: { type: 'string', minLength: 1, maxLength: 2000, description: 'Body.' },
    tag: { type: 'string', maxLength: 100, description: 'A label kept by the caller; not sent.' },
  },
};

export const SEND = defineMethod({
  method_id: 'mailer.message.send.v1',
  description: 'Send a message (not idempotent: every send is a new message).',
  input_schema: MESSAGE_INPUT,
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'to', 'text'],
    properties: { id: { type: 'string' }, to: { type: 'string' }, text: { type: 'string' } },
  },
  capabilities: ['deliver'],
  idempotency: 'non_idempotent_write',
  auth_scopes: ['mail:send'],
});

export const PUT = defineMethod({
  method_id: 'mailer.outbox.put.v1',
  description: 'Put a draft into the outbox under a key (idempotent).',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['key', 'text'],
    properties: {
      key: { type: 'string', pattern: '^[a-z0-9-]{1,64}$', description: 'Draft key.' },
      text: { type: 'string', minLength: 1, maxLength: 2000, description: 'Draft body.' },
    },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['key', 'stored'],
    properties: { key: { type: 'string' }, stored: { type: 'boolean' } },
  },
  capabilities: ['write'],
  idempotency: 'idempotent_write',
  auth_scopes: ['mail:send'],
});

export const LIST = defineMethod({
  method_id: 'mailer.message.list.v1',
  description: 'List sent messages.',
  input_schema: { type: 'object', additionalProperties: false, properties: {} },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['messages'],
    properties: { messages: { type: 'array', items: { type: 'object' } } },
  },
  capabilities: ['read'],
  idempotency: 'safe_read',
});

export class MailerIntegration extends HttpIntegration {
  defaultBaseUrl = 'http://127.0.0.1:9/';

  describeMethods() {
    return [SEND, PUT, LIST];
  }

  handlers() {
    return {
      [SEND.method_id]: async (input) => {
        const { to, text } = input.args;
        const reply = await this.push(input, { method: 'POST', path: '/messages', body: { to, text } });
        if ('dry_run' in reply) return { data: { dry_run: true, request: reply.preview } };
        return { data: { id: String(reply.body.id), to, text }, provider_request_id: reply.provider_request_id };
      },
      [PUT.method_id]: async (input) => {
        const { key, text } = input.args;
        const reply = await this.push(input, { method: 'PUT', path: `/outbox/${encodeURIComponent(key)}`, body: { text } });
        if ('dry_run' in reply) return { data: { dry_run: true, request: reply.preview } };
        return { data: { key, stored: true }, provider_request_id: reply.provider_request_id };
      },
      [LIST.method_id]: async (input) => {
        const reply = await this.fetch(input, { path: '/messages' });
        return { data: { messages: reply.body.messages } };
      },
    };
  }
}
