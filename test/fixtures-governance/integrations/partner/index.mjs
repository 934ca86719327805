/** Partner (tier 1, outbound registry entry with read permission only): one read method, recorded in `globalThis.__govPartner.log`. */
const partner = (globalThis.__govPartner ??= { log: [] });

export class PartnerIntegration {
  constructor(context) {
    this.context = context;
  }

  describeMethods() {
    return [{
      method_id: 'partner.data.get.v1', provider: 'partner', description: 'Read partner data.',
      input_schema: { type: 'object', additionalProperties: false, properties: { tag: { type: 'string', maxLength: 100, description: 'Groups invocations.' } } },
      output_schema: { type: 'object', additionalProperties: false, required: ['value'], properties: { value: { type: 'string' } } },
      capabilities: ['read'], auth_scopes: [], rate_limit_hint: null, idempotency: 'safe_read',
      cost_hint: null, deprecated: false, replacement_method_id: null,
    }];
  }

  async authStatus() {
    return { authenticated: true };
  }

  async call(req, ctx) {
    partner.log.push({ tenant: ctx.tenant, tag: req.args.tag ?? null, dry_run: req.dry_run ?? false });
    return {
      ok: true,
      data: { value: 'partner data' },
      meta: { provider_request_id: null, latency_ms: 0, next_cursor: null, rate_limit_remaining: null, cost_units: null, provenance: { source_type: 'partner', source_ref: null } },
    };
  }
}
