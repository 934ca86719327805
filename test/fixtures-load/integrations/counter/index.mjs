/**
 * Counter (read_only): one cheap in-process read for the load test (bench/load.mjs), so the
 * measured cost is the runtime's and the state store's, not the provider's.
 */
const INPUT = {
  type: 'object',
  additionalProperties: false,
  required: ['n'],
  properties: { n: { type: 'integer', minimum: 0, description: 'A number to echo back.' } },
};
const OUTPUT = {
  type: 'object',
  additionalProperties: false,
  required: ['n'],
  properties: { n: { type: 'integer', minimum: 0 } },
};

export class CounterIntegration {
  constructor(context) {
    this.context = context;
  }

  describeMethods() {
    return [
      {
        method_id: 'counter.value.get.v1', provider: 'counter', description: 'Echo a number back.',
        input_schema: INPUT, output_schema: OUTPUT, capabilities: ['read'], auth_scopes: [], rate_limit_hint: null,
        idempotency: 'safe_read', cost_hint: null, deprecated: false, replacement_method_id: null,
      },
    ];
  }

  async authStatus() {
    return { authenticated: true };
  }

  async call(req) {
    return {
      ok: true,
      data: { n: req.args.n },
      meta: {
        provider_request_id: null, latency_ms: 0, next_cursor: null, rate_limit_remaining: null, cost_units: null,
        provenance: { source_type: 'counter', source_ref: null },
      },
    };
  }
}
