/**
 * Ref (read_only): a plain integration whose one method needs the `ref:read` scope. Every
 * invocation is recorded in `globalThis.__govRef.log` with the tenant and the secret it was
 * handed, so tests can prove whose credential reached the provider.
 */
const ref = (globalThis.__govRef ??= { log: [] });

const meta = () => ({
  provider_request_id: null, latency_ms: 0, next_cursor: null, rate_limit_remaining: null, cost_units: null,
  provenance: { source_type: 'ref', source_ref: null },
});

export class RefIntegration {
  constructor(context) {
    this.context = context;
  }

  describeMethods() {
    return [{
      method_id: 'ref.items.get.v1', provider: 'ref', description: 'Get a reference item.',
      input_schema: {
        type: 'object', additionalProperties: false, required: ['id'],
        properties: {
          id: { type: 'string', maxLength: 100, description: 'Item id.' },
          mode: { type: 'string', enum: ['ok', 'throw', 'bad_output'], description: 'How the provider behaves.' },
        },
      },
      output_schema: {
        type: 'object', additionalProperties: false, required: ['id', 'name'],
        properties: { id: { type: 'string' }, name: { type: 'string' } },
      },
      capabilities: ['read'], auth_scopes: ['ref:read'], rate_limit_hint: null, idempotency: 'safe_read',
      cost_hint: null, deprecated: false, replacement_method_id: null,
    }];
  }

  async authStatus(ctx) {
    return { authenticated: Boolean(ctx.credential) };
  }

  async call(req, ctx) {
    const secret = ctx.credential?.secret ?? null;
    ref.log.push({ tenant: ctx.tenant, id: req.args.id, secret, dry_run: req.dry_run ?? false });
    switch (req.args.mode ?? 'ok') {
      case 'throw':
        throw new Error(`ref backend refused key ${secret}`);
      case 'bad_output':
        return { ok: true, data: { id: req.args.id, name: 7, key: secret }, meta: meta() };
      default:
        return { ok: true, data: { id: req.args.id, name: `Item ${req.args.id}` }, meta: meta() };
    }
  }
}
