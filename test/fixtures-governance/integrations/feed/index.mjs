/**
 * Feed (inbound): a plain integration with one import method. What it returns is steered by
 * the test through `globalThis.__govFeed`: `pages[source]` is `{records, next_cursor}`; every
 * invocation is recorded in `log`. A child process (the CLI tests) gets its pages from the
 * provider configuration instead: `pages`, a JSON string (BOTC_PROVIDER_FEED_PAGES).
 */
const feed = (globalThis.__govFeed ??= { pages: {}, log: [] });

const RECORD = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'amount'],
  properties: { id: { type: 'string' }, name: { type: 'string' }, amount: { type: 'number' } },
};

const meta = (next_cursor = null) => ({
  provider_request_id: null, latency_ms: 0, next_cursor, rate_limit_remaining: null, cost_units: null,
  provenance: { source_type: 'feed', source_ref: null },
});

export class FeedIntegration {
  constructor(context) {
    this.context = context;
  }

  describeMethods() {
    return [{
      method_id: 'feed.records.import.v1', provider: 'feed', description: 'Import the records of a source from a cursor.',
      input_schema: {
        type: 'object', additionalProperties: false, required: ['source'],
        properties: { source: { type: 'string', pattern: '^[a-z0-9-]{1,64}$', description: 'Which source to import.' } },
      },
      output_schema: {
        type: 'object', additionalProperties: false, required: ['records'],
        properties: { records: { type: 'array', items: RECORD } },
      },
      capabilities: ['import'], auth_scopes: [], rate_limit_hint: null, idempotency: 'idempotent_write',
      cost_hint: null, deprecated: false, replacement_method_id: null,
    }];
  }

  async authStatus() {
    return { authenticated: true };
  }

  async call(req, ctx) {
    const source = req.args.source;
    feed.log.push({ tenant: ctx.tenant, source, cursor: req.cursor ?? null, dry_run: req.dry_run ?? false });
    const configured = typeof this.context.config?.pages === 'string' ? JSON.parse(this.context.config.pages) : undefined;
    const pages = configured ?? feed.pages;
    const page = Object.hasOwn(pages, source) ? pages[source] : undefined;
    if (!page) {
      return { ok: false, error: { code: 'NOT_FOUND', message: `no source ${source}`, provider_code: null, http_status: 404, retriable: false }, meta: meta() };
    }
    return { ok: true, data: { records: structuredClone(page.records) }, meta: meta(page.next_cursor ?? null) };
  }
}
