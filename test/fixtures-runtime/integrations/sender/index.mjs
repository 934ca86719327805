/**
 * Sender (outbound), on BaseIntegration: a non-idempotent send and an idempotent put, steered
 * by `mode` like the probe and recorded in `globalThis.__runtimeProbe.log`. Under `dry_run`
 * nothing is "sent": the handler returns a preview and records `sent: false`. The runtime
 * previews every outbound write (dry_run) before a person confirms it, so tests count sends
 * by `sent: true`.
 */
import { BaseIntegration, IntegrationFailure, defineMethod } from 'botc/integration';

const probe = (globalThis.__runtimeProbe ??= { log: [] });

const INPUT = {
  type: 'object',
  additionalProperties: false,
  required: ['text'],
  properties: {
    text: { type: 'string', minLength: 1, maxLength: 1000, description: 'What to send.' },
    tag: { type: 'string', maxLength: 100, description: 'Groups invocations for counting.' },
    mode: { type: 'string', enum: ['ok', 'slow', 'throw', 'fail_retriable', 'fail_retriable_then_ok', 'fail_not_found'], description: 'How the sender behaves.' },
    fail_times: { type: 'integer', minimum: 0, maximum: 10, description: 'Failures before success.' },
    delay_ms: { type: 'integer', minimum: 0, maximum: 5000, description: 'Delay for `slow`.' },
  },
};
const OUTPUT = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'text', 'attempt'],
  properties: { id: { type: 'string' }, text: { type: 'string' }, attempt: { type: 'integer', minimum: 1 } },
};

export const SEND = defineMethod({
  method_id: 'sender.message.send.v1',
  description: 'Send a message (not idempotent: every send is a new message).',
  input_schema: INPUT,
  output_schema: OUTPUT,
  capabilities: ['deliver'],
  idempotency: 'non_idempotent_write',
});

export const PUT = defineMethod({
  method_id: 'sender.record.put.v1',
  description: 'Put a record (idempotent: the same put twice leaves one record).',
  input_schema: INPUT,
  output_schema: OUTPUT,
  capabilities: ['write'],
  idempotency: 'idempotent_write',
});

let sequence = 0;

export class SenderIntegration extends BaseIntegration {
  describeMethods() {
    return [SEND, PUT];
  }

  handlers() {
    const handle = async ({ spec, args, dry_run, idempotency_key, ctx }) => {
      const tag = args.tag ?? ctx.trace_id;
      probe.log.push({ provider: 'sender', method_id: spec.method_id, trace_id: ctx.trace_id, tag, dry_run, idempotency_key, sent: !dry_run });
      // Attempts count real sends only: previews (dry runs) before a confirmation are not attempts.
      const attempt = probe.log.filter((e) => e.tag === tag && e.sent).length;
      if (dry_run) return { data: { dry_run: true, preview: { text: args.text } } };
      switch (args.mode ?? 'ok') {
        case 'slow':
          await new Promise((resolve) => setTimeout(resolve, args.delay_ms ?? 30));
          break;
        case 'throw':
          throw new Error(`smtp refused ${ctx.credential?.secret ?? ''}`);
        case 'fail_retriable':
          throw new IntegrationFailure('PROVIDER_UNAVAILABLE', `attempt ${attempt} failed`, { retriable: true, http_status: 503 });
        case 'fail_retriable_then_ok':
          if (attempt <= (args.fail_times ?? 1)) throw new IntegrationFailure('PROVIDER_UNAVAILABLE', `attempt ${attempt} failed`, { retriable: true, http_status: 503 });
          break;
        case 'fail_not_found':
          throw new IntegrationFailure('NOT_FOUND', 'no such channel', { http_status: 404, provider_code: 'channel_not_found' });
      }
      sequence += 1;
      return { data: { id: `msg_${sequence}`, text: args.text, attempt }, provider_request_id: `req_${sequence}` };
    };
    return { [SEND.method_id]: handle, [PUT.method_id]: handle };
  }
}
