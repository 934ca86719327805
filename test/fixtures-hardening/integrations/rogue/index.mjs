/**
 * Rogue (read_only): a plain integration whose results misbehave as `mode` says: they echo
 * the tenant's secret (literally or encoded), or are objects that throw, trap or loop when
 * read. `rogue.pages.list.v1` pages through ten numbers with a raw cursor `offset=N` and
 * records the cursor and params each call received in `globalThis.__rogue.log`.
 */
const rogue = (globalThis.__rogue ??= { log: [] });

const MODES = [
  'ok', 'secret_in_data', 'secret_in_key', 'secret_b64_message', 'secret_basic', 'secret_hex_meta', 'secret_percent',
  'secret_b64url_cursor', 'getter_ok', 'getter_meta', 'getter_data', 'proxy_result', 'proxy_data', 'cyclic', 'bigint',
  'class_instance', 'then_throws', 'deep',
];

const spec = (method_id, description, input_schema, output_schema) => ({
  method_id, provider: 'rogue', description, input_schema, output_schema,
  capabilities: ['read'], auth_scopes: [], rate_limit_hint: null, idempotency: 'safe_read',
  cost_hint: null, deprecated: false, replacement_method_id: null,
});

const VALUE_INPUT = {
  type: 'object',
  additionalProperties: false,
  properties: { mode: { type: 'string', enum: MODES, description: 'How the result misbehaves.' } },
};
const ANY_OUTPUT = { type: 'object', description: 'Whatever the rogue returns.' };
const PAGES_INPUT = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 10, description: 'Numbers per page.' },
    filter: { type: 'string', maxLength: 20, description: 'A filter the cursor must not change.' },
  },
};
const PAGES_OUTPUT = {
  type: 'object',
  additionalProperties: false,
  required: ['numbers'],
  properties: { numbers: { type: 'array', items: { type: 'integer' } } },
};

const meta = (extra = {}) => ({
  provider_request_id: null, latency_ms: 0, next_cursor: null, rate_limit_remaining: null, cost_units: null,
  provenance: { source_type: 'rogue', source_ref: null }, ...extra,
});

class Widget {
  constructor() {
    this.value = 1;
  }
}

export class RogueIntegration {
  constructor(context) {
    this.context = context;
  }

  describeMethods() {
    return [
      spec('rogue.value.get.v1', 'Return a value, misbehaving as `mode` says.', VALUE_INPUT, ANY_OUTPUT),
      spec('rogue.pages.list.v1', 'Page through ten numbers.', PAGES_INPUT, PAGES_OUTPUT),
      spec('rogue.other.list.v1', 'Page through ten numbers (another method).', PAGES_INPUT, PAGES_OUTPUT),
    ];
  }

  async authStatus(ctx) {
    if (ctx.tenant === 'status_getter') return { get authenticated() { throw new Error('boom'); }, detail: 'never read' };
    if (ctx.tenant === 'status_proxy') return new Proxy({}, { get() { throw new Error('trap'); } });
    return { authenticated: Boolean(ctx.credential), detail: `token ${ctx.credential?.secret} works` };
  }

  async call(req, ctx) {
    const secret = ctx.credential?.secret ?? 'no-secret';
    if (req.method_id !== 'rogue.value.get.v1') {
      rogue.log.push({ method_id: req.method_id, cursor: req.cursor, args: req.args });
      const limit = req.args.limit ?? 3;
      const match = /^offset=(\d+)$/.exec(req.cursor ?? 'offset=0');
      if (!match) return { ok: false, error: { code: 'VALIDATION_FAILED', message: 'bad cursor', provider_code: 'invalid_cursor', http_status: 400, retriable: false }, meta: meta() };
      const offset = Number(match[1]);
      const numbers = Array.from({ length: Math.max(0, Math.min(limit, 10 - offset)) }, (_, i) => offset + i);
      const next = offset + limit < 10 ? `offset=${offset + limit}` : null;
      return { ok: true, data: { numbers }, meta: meta({ next_cursor: next }) };
    }
    const b64 = (text) => Buffer.from(text, 'utf8').toString('base64');
    switch (req.args.mode ?? 'ok') {
      case 'ok':
        return { ok: true, data: { value: 'fine' }, meta: meta() };
      case 'secret_in_data':
        return { ok: true, data: { echoed: { headers: [`Authorization: Bearer ${secret}`] }, token: secret }, meta: meta() };
      case 'secret_in_key':
        return { ok: true, data: { [secret]: 'a key that is the token' }, meta: meta() };
      case 'secret_b64_message':
        return { ok: false, error: { code: 'AUTH_FORBIDDEN', message: `token ${b64(secret)} was refused`, provider_code: null, http_status: 403, retriable: false }, meta: meta() };
      case 'secret_basic':
        return { ok: true, data: { authorization: `Basic ${b64(`api:${secret}`)}`, stripe: `Basic ${b64(`${secret}:`)}` }, meta: meta() };
      case 'secret_hex_meta':
        return { ok: true, data: { value: 'fine' }, meta: meta({ provider_request_id: Buffer.from(secret).toString('hex'), provenance: { source_type: 'rogue', source_ref: `https://rogue.example/?t=${encodeURIComponent(secret)}` } }) };
      case 'secret_percent':
        return { ok: true, data: { url: `https://rogue.example/?token=${encodeURIComponent(secret)}` }, meta: meta() };
      case 'secret_b64url_cursor':
        return { ok: true, data: { value: 'fine' }, meta: meta({ next_cursor: Buffer.from(`after:${secret}`).toString('base64url') }) };
      case 'getter_ok':
        return { get ok() { throw new Error(`boom ${secret}`); }, data: {}, meta: meta() };
      case 'getter_meta':
        return { ok: true, data: {}, get meta() { throw new Error('boom'); } };
      case 'getter_data':
        return { ok: true, data: { get value() { throw new Error('boom'); } }, meta: meta() };
      case 'proxy_result':
        return new Proxy({ ok: true, data: {}, meta: meta() }, { get() { throw new Error('trap'); }, getPrototypeOf() { throw new Error('trap'); } });
      case 'proxy_data':
        return { ok: true, data: new Proxy({}, { ownKeys() { throw new Error('trap'); } }), meta: meta() };
      case 'cyclic': {
        const data = { value: 'loop' };
        data.self = data;
        return { ok: true, data, meta: meta() };
      }
      case 'bigint':
        return { ok: true, data: { value: 10n }, meta: meta() };
      case 'class_instance':
        return { ok: true, data: { widget: new Widget() }, meta: meta() };
      case 'then_throws':
        return { get then() { throw new Error('boom'); } };
      case 'deep': {
        let data = { leaf: true };
        for (let i = 0; i < 100_000; i++) data = { child: data };
        return { ok: true, data, meta: meta() };
      }
      default:
        return { ok: false, error: { code: 'PROVIDER_ERROR', message: 'unknown mode', provider_code: null, http_status: null, retriable: false }, meta: meta() };
    }
  }
}
