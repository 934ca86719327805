/**
 * Probe (read_only): a plain integration, no base class and no imports, whose every call is
 * steered by its params (`mode`) and recorded in `globalThis.__runtimeProbe.log`, so that
 * test/runtime.test.ts can count invocations. Failures here reach the runtime raw: thrown
 * errors, garbage results, hangs that ignore the abort signal.
 */
const probe = (globalThis.__runtimeProbe ??= { log: [] });

const MODES = [
  'ok', 'slow', 'throw', 'throw_secret', 'throw_object', 'hang', 'hang_ignore_abort', 'bad_output',
  'garbage_null', 'garbage_string', 'garbage_ok', 'unknown_code', 'error_secret', 'fail_code',
  'fail_retriable', 'fail_retriable_then_ok', 'retry_after',
];
const CODES = ['RATE_LIMITED', 'NOT_FOUND', 'CONFLICT', 'PROVIDER_UNAVAILABLE', 'AUTH_FORBIDDEN', 'INTERNAL_ERROR'];

const spec = (method_id, description, input_schema, output_schema, extra = {}) => ({
  method_id, provider: 'probe', description, input_schema, output_schema,
  capabilities: ['read'], auth_scopes: [], rate_limit_hint: null, idempotency: 'safe_read',
  cost_hint: null, deprecated: false, replacement_method_id: null, ...extra,
});

const ECHO_INPUT = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mode: { type: 'string', enum: MODES, description: 'How the probe behaves.' },
    tag: { type: 'string', maxLength: 100, description: 'Groups invocations for counting.' },
    code: { type: 'string', enum: CODES, description: 'Error code for `fail_code`.' },
    retriable: { type: 'boolean', description: 'Retriable flag for `fail_code`.' },
    fail_times: { type: 'integer', minimum: 0, maximum: 10, description: 'Failures before success.' },
    retry_after_ms: { type: 'integer', minimum: 0, description: 'Retry-After for `retry_after`.' },
    delay_ms: { type: 'integer', minimum: 0, maximum: 5000, description: 'Delay for `slow`.' },
    items: { type: 'array', maxItems: 50, items: { type: 'string' }, description: 'A bounded list.' },
    note: { type: 'string', description: 'Free text.' },
  },
};
const ECHO_OUTPUT = {
  type: 'object',
  additionalProperties: false,
  required: ['echo', 'attempt'],
  properties: { echo: { type: 'string' }, attempt: { type: 'integer', minimum: 1 } },
};

const meta = (extra = {}) => ({
  provider_request_id: null, latency_ms: 0, next_cursor: null, rate_limit_remaining: null, cost_units: null,
  provenance: { source_type: 'probe', source_ref: null }, ...extra,
});
const fail = (code, message, extra = {}, metaExtra = {}) => ({
  ok: false,
  error: { code, message, provider_code: null, http_status: null, retriable: false, ...extra },
  meta: meta(metaExtra),
});

export class ProbeIntegration {
  constructor(context) {
    this.context = context;
  }

  describeMethods() {
    return [
      spec('probe.echo.get.v1', 'Echo a tag, behaving as `mode` says.', ECHO_INPUT, ECHO_OUTPUT),
      spec('probe.secure.get.v1', 'Echo a tag; needs the probe:read scope.', ECHO_INPUT, ECHO_OUTPUT, { auth_scopes: ['probe:read'] }),
      spec('probe.other.get.v1', 'Echo a tag from another tool.', ECHO_INPUT, ECHO_OUTPUT),
    ];
  }

  async authStatus(ctx) {
    if (ctx.tenant === 'status_hang') return new Promise(() => {});
    if (ctx.tenant === 'status_throw') throw new Error(`status failed for ${ctx.credential?.secret}`);
    return ctx.credential
      ? { authenticated: true, scopes: [...ctx.credential.scopes], detail: `key ${ctx.credential.secret} is valid` }
      : { authenticated: false, detail: 'no credential' };
  }

  async call(req, ctx) {
    const args = req.args;
    const tag = args.tag ?? req.trace_id;
    const entry = {
      provider: 'probe', method_id: req.method_id, trace_id: req.trace_id, tag, dry_run: req.dry_run,
      idempotency_key: req.idempotency_key, timeout_ms: req.timeout_ms, aborted: false,
    };
    probe.log.push(entry);
    ctx.signal.addEventListener('abort', () => { entry.aborted = true; });
    const attempt = probe.log.filter((e) => e.tag === tag).length;
    const secret = ctx.credential?.secret ?? 'no-secret';
    const ok = (data = { echo: tag, attempt }) => ({ ok: true, data, meta: meta() });
    switch (args.mode ?? 'ok') {
      case 'ok':
        return ok();
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, args.delay_ms ?? 30));
        return ok();
      case 'throw':
        throw new Error('the probe broke');
      case 'throw_secret': {
        const error = new Error(`connection refused for token ${secret} at db.internal:5432`);
        error.secret = secret;
        throw error;
      }
      case 'throw_object':
        throw { secret, stack: 'at probe (/srv/probe/index.mjs:1:1)' };
      case 'hang':
        return new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(new Error(`aborted while holding ${secret}`)));
        });
      case 'hang_ignore_abort':
        return new Promise(() => {});
      case 'bad_output':
        return { ok: true, data: { echo: 42, attempt, leaked: secret }, raw: { secret }, meta: meta() };
      case 'garbage_null':
        return null;
      case 'garbage_string':
        return `ok: ${secret}`;
      case 'garbage_ok':
        return { ok: 'yes', data: { echo: tag, attempt } };
      case 'unknown_code':
        return fail('TEAPOT', 'I am a teapot');
      case 'error_secret': {
        const result = fail('AUTH_FORBIDDEN', `token ${secret} lacks access`, { provider_code: `bad_${secret}`, http_status: 403 }, {
          provider_request_id: `req-${secret}`,
          provenance: { source_type: 'probe', source_ref: `https://probe.example/?token=${secret}` },
        });
        result.error.stack = new Error('inner').stack;
        result.error.cause = new Error(secret);
        result.raw = { secret };
        return result;
      }
      case 'fail_code': {
        const code = args.code ?? 'NOT_FOUND';
        const status = { RATE_LIMITED: 429, NOT_FOUND: 404, CONFLICT: 409, PROVIDER_UNAVAILABLE: 503, AUTH_FORBIDDEN: 403, INTERNAL_ERROR: 500 }[code];
        return fail(code, `probe says ${code}`, { provider_code: `probe_${code.toLowerCase()}`, http_status: status, retriable: args.retriable ?? false });
      }
      case 'fail_retriable':
        return fail('PROVIDER_UNAVAILABLE', `attempt ${attempt} failed`, { http_status: 503, retriable: true });
      case 'fail_retriable_then_ok':
        if (attempt <= (args.fail_times ?? 1)) return fail('PROVIDER_UNAVAILABLE', `attempt ${attempt} failed`, { http_status: 503, retriable: true });
        return ok();
      case 'retry_after':
        return fail('RATE_LIMITED', 'slow down', { http_status: 429, retriable: true }, { retry_after_ms: args.retry_after_ms ?? 0 });
      default:
        return fail('PROVIDER_ERROR', 'unknown mode');
    }
  }
}
