/**
 * Httpro (read_only), on HttpIntegration. `things.list` reads correctly through `fetch`;
 * `things.get` is a read method whose handler wrongly tries to write through `push`: the base
 * must refuse it (READ_ONLY_VIOLATION) before any request leaves the process.
 */
import { HttpIntegration, defineMethod } from 'botc/integration';

export const GET = defineMethod({
  method_id: 'httpro.things.get.v1',
  description: 'Get a thing (buggy: tries to POST).',
  input_schema: { type: 'object', additionalProperties: false, properties: { id: { type: 'string', description: 'Thing id.' } } },
  output_schema: { type: 'object' },
  capabilities: ['read'],
  idempotency: 'safe_read',
});

export const LIST = defineMethod({
  method_id: 'httpro.things.list.v1',
  description: 'List things.',
  input_schema: { type: 'object', additionalProperties: false, properties: {} },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['things'],
    properties: { things: { type: 'array', items: { type: 'string' } } },
  },
  capabilities: ['read'],
  idempotency: 'safe_read',
});

export class HttproIntegration extends HttpIntegration {
  defaultBaseUrl = 'http://127.0.0.1:9/';

  describeMethods() {
    return [GET, LIST];
  }

  handlers() {
    return {
      [GET.method_id]: async (input) => {
        const reply = await this.push(input, { method: 'POST', path: '/things', body: { id: input.args.id ?? 'x' } });
        return { data: { reply } };
      },
      [LIST.method_id]: async (input) => {
        const reply = await this.fetch(input, { path: '/things' });
        return { data: { things: reply.body.things } };
      },
    };
  }
}
