/**
 * Courier (outbound): one non-idempotent send. Every real send (not a dry run) is counted in
 * `globalThis.__courier.sent`, so a test can tell whether a write went out unconfirmed.
 */
const courier = (globalThis.__courier ??= { sent: 0 });

const SEND = {
  method_id: 'courier.message.send.v1',
  provider: 'courier',
  description: 'Send a message (every send is a new message).',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['text'],
    properties: { text: { type: 'string', maxLength: 100, description: 'What to send.' } },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['sent'],
    properties: { sent: { type: 'boolean' }, text: { type: 'string' } },
  },
  capabilities: ['deliver'],
  auth_scopes: [],
  rate_limit_hint: null,
  idempotency: 'non_idempotent_write',
  cost_hint: null,
  deprecated: false,
  replacement_method_id: null,
};

export class CourierIntegration {
  constructor(context) {
    this.context = context;
  }

  describeMethods() {
    return [SEND];
  }

  async authStatus() {
    return { authenticated: true };
  }

  async call(req) {
    if (!req.dry_run) courier.sent++;
    const meta = { provider_request_id: null, latency_ms: 0, next_cursor: null, rate_limit_remaining: null, cost_units: null, provenance: { source_type: 'courier', source_ref: null } };
    return { ok: true, data: req.dry_run ? { sent: false, text: req.args.text } : { sent: true, text: req.args.text }, meta };
  }
}
