/**
 * HubSpot CRM (inbound): reads deals and contacts, and imports changed deals for review.
 *
 * Classification `inbound`: nothing is ever written to HubSpot. `hubspot.deals.import.v1`
 * pulls the deals changed since a checkpoint (the polling-sync mode) and hands them over
 * as records that stay untrusted until a person reviews them; re-running an import from the
 * same checkpoint yields the same records, keyed by HubSpot's deal id.
 * Config: `base_url` (default https://api.hubapi.com). Credential: an OAuth access token.
 */
import {
  HttpIntegration,
  IntegrationFailure,
  defineMethod,
  type MethodHandler,
  type MethodSpec,
} from 'botc/integration';
const DEAL_PROPERTIES = ['dealname', 'dealstage', 'pipeline', 'amount', 'closedate', 'hs_lastmodifieddate'];
const CONTACT_PROPERTIES = ['firstname', 'lastname', 'email', 'company', 'jobtitle', 'lifecyclestage'];

const NULLABLE_STRING = (description: string) => ({ anyOf: [{ type: 'string' }, { type: 'null' }], description });

const DEAL = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'stage', 'pipeline', 'amount', 'close_date', 'updated_at'],
  properties: {
    id: { type: 'string', description: 'HubSpot deal id.' },
    name: { type: 'string', description: 'Deal name.' },
    stage: { type: 'string', description: 'Internal id of the deal stage, e.g. "contractsent".' },
    pipeline: { type: 'string', description: 'Internal id of the pipeline.' },
    amount: { anyOf: [{ type: 'number' }, { type: 'null' }], description: 'Deal amount in the portal currency; null when unset.' },
    close_date: NULLABLE_STRING('Expected or actual close date (ISO 8601); null when unset.'),
    updated_at: { type: 'string', description: 'ISO 8601 time of the last change in HubSpot.' },
  },
} as const;

export const DEALS_LIST = defineMethod({
  method_id:
    'hubspot.deals.list.v1',
  description: 'List deals with their stage, amount and close date.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: 100, default: 50, description: 'Page size (HubSpot caps it at 100).' },
      archived: { type: 'boolean', default: false, description: 'List archived deals instead of live ones.' },
    },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['deals'],
    properties: {
      deals: { type: 'array', items: DEAL, description: 'Deals on this page.' },
    },
  },
  capabilities: ['read'],
  idempotency: 'safe_read',
  auth_scopes: ['crm.objects.deals.read'],
  rate_limit_hint: { max_calls: 100, per_seconds: 10 },
});

export const CONTACTS_GET = defineMethod({
  method_id:
    'hubspot.contacts.get.v1',
  description: 'Fetch one contact by id: name, email, company, job title and lifecycle stage.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['contact_id'],
    properties: {
      contact_id: { type: 'string', pattern: '^[0-9]{1,20}$', description: 'HubSpot contact id.', examples: ['51'] },
    },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['contact'],
    properties: {
      contact: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'first_name', 'last_name', 'email', 'company', 'job_title', 'lifecycle_stage', 'updated_at'],
        description: 'The contact.',
        properties: {
          id: { type: 'string', description: 'HubSpot contact id.' },
          first_name: NULLABLE_STRING('First name.'),
          last_name: NULLABLE_STRING('Last name.'),
          email: NULLABLE_STRING('Primary email address.'),
          company: NULLABLE_STRING('Company name as typed on the contact.'),
          job_title: NULLABLE_STRING('Job title.'),
          lifecycle_stage: NULLABLE_STRING('Lifecycle stage, e.g. "lead" or "customer".'),
          updated_at: { type: 'string', description: 'ISO 8601 time of the last change.' },
        },
      },
    },
  },
  capabilities: ['read'],
  idempotency: 'safe_read',
  auth_scopes: ['crm.objects.contacts.read'],
  rate_limit_hint: { max_calls: 100, per_seconds: 10 },
});

export const DEALS_IMPORT = defineMethod({
  method_id:
    'hubspot.deals.import.v1',
  description: 'Import the deals changed since a checkpoint as records pending human review; returns the next checkpoint.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['since'],
    properties: {
      since: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}', description: 'Checkpoint: import deals modified at or after this ISO 8601 time.', examples: ['2024-05-20T00:00:00Z'] },
      limit: { type: 'integer', minimum: 1, maximum: 100, default: 100, description: 'Records per page (HubSpot search caps it at 100).' },
    },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['records', 'checkpoint', 'review_required'],
    properties: {
      records: { type: 'array', items: DEAL, description: 'Changed deals, oldest change first; untrusted until reviewed.' },
      checkpoint: { type: 'string', description: 'Pass as `since` on the next import to continue where this one stopped.' },
      review_required: { type: 'boolean', const: true, description: 'Always true: imported records need a person to review them.' },
    },
  },
  capabilities: ['import'],
  idempotency: 'idempotent_write',
  auth_scopes: ['crm.objects.deals.read'],
  rate_limit_hint: { max_calls: 4, per_seconds: 1 },
  cost_hint: { units: 1, unit: 'search_request' },
});

const METHODS: MethodSpec[] = [DEALS_LIST, CONTACTS_GET, DEALS_IMPORT];

interface RawObject { id: string; properties: Record<string, string | null | undefined>; updatedAt: string }
interface RawPage { results: RawObject[]; paging?: { next?: { after?: string } } }

/**
 * HubSpot CRM v3: bearer OAuth token, `paging.next.after` cursors, `x-hubspot-*` headers.
 * The import reads through `sync` (HubSpot's search endpoint is a POST that only reads,
 * declared in `readViaPost`).
 */
export class HubSpotIntegration extends HttpIntegration {
  protected readonly defaultBaseUrl = 'https://api.hubapi.com';
  /** The import reads through the search endpoint, which takes its query as a POST body. */
  protected override readonly readViaPost = ['hubspot.deals.import.v1'];
  protected override readonly requestIdHeader = 'x-hubspot-correlation-id';
  protected override readonly rateLimitHeader = 'x-hubspot-ratelimit-remaining';

  describeMethods(): MethodSpec[] {
    return METHODS;
  }

  protected handlers(): Record<string, MethodHandler> {
    return {
      'hubspot.deals.list.v1': async (input) => {
        const a = input.args as { limit?: number; archived?: boolean };
        const reply = await this.fetch<RawPage>(input, {
          path: '/crm/v3/objects/deals',
          query: { limit: a.limit ?? 50, archived: a.archived ?? false, properties: DEAL_PROPERTIES.join(',') },
        });
        return {
          data: { deals: reply.body.results.map(deal) },
          next_cursor: reply.next_cursor,
          provider_request_id: reply.provider_request_id,
          rate_limit_remaining: reply.rate_limit_remaining,
        };
      },
      'hubspot.contacts.get.v1': async (input) => {
        const a = input.args as { contact_id: string };
        const reply = await this.fetch<RawObject>(input, {
          path: `/crm/v3/objects/contacts/${encodeURIComponent(a.contact_id)}`,
          query: { properties: CONTACT_PROPERTIES.join(',') },
        });
        const p = reply.body.properties;
        const contact = {
          id: reply.body.id, first_name: p['firstname'] ?? null, last_name: p['lastname'] ?? null,
          email: p['email'] ?? null, company: p['company'] ?? null, job_title: p['jobtitle'] ?? null,
          lifecycle_stage: p['lifecyclestage'] ?? null, updated_at: reply.body.updatedAt,
        };
        return {
          data: { contact },
          provider_request_id: reply.provider_request_id,
          rate_limit_remaining: reply.rate_limit_remaining,
          source_ref: `contact/${reply.body.id}`,
        };
      },
      'hubspot.deals.import.v1': async (input) => {
        const a = input.args as { since: string; limit?: number };
        const sinceMs = Date.parse(a.since);
        if (Number.isNaN(sinceMs)) throw new IntegrationFailure('VALIDATION_FAILED', '`since` is not a valid ISO 8601 time');
        const window = input.cursor === undefined ? firstWindow(sinceMs) : readImportCursor(input.cursor, sinceMs);
        // The search endpoint takes its cursor in the body, not the query string.
        const reply = await this.sync<RawPage>({ ...input, cursor: undefined }, {
          method: 'POST',
          path: '/crm/v3/objects/deals/search',
          body: {
            filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: String(window.from) }] }],
            sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' }],
            properties: DEAL_PROPERTIES,
            limit: a.limit ?? 100,
            ...(window.after !== undefined ? { after: window.after } : {}),
          },
        });
        const raw = reply.body.results;
        // A restarted search begins with the deals of its first millisecond already handed out.
        const fresh = raw.filter((r) => !(modifiedMs(r) === window.from && window.skip.includes(r.id)));
        const records = fresh.map(deal);
        const checkpoint = records.reduce((latest, r) => (r.updated_at > latest ? r.updated_at : latest), a.since);
        return {
          data: { records, checkpoint, review_required: true },
          next_cursor: nextImportCursor(window, raw, reply.next_cursor),
          provider_request_id: reply.provider_request_id,
          rate_limit_remaining: reply.rate_limit_remaining,
          cost_units: 1,
          source_ref: `deals/since/${a.since}`,
        };
      },
    };
  }

  /** HubSpot's cursor: `paging.next.after` of the page just read. */
  protected override cursorFrom(reply: { headers: Headers; body: unknown }): string | null {
    const body = reply.body as RawPage | null;
    const after = typeof body === 'object' && body !== null ? body.paging?.next?.after : undefined;
    return typeof after === 'string' && after.length > 0 ? after : null;
  }

  protected override applyCursor(query: URLSearchParams, cursor: string): void {
    query.set('after', cursor);
  }
}

function deal(raw: RawObject) {
  const p = raw.properties;
  const amount = p['amount'] ? Number(p['amount']) : null;
  return {
    id: raw.id,
    name: p['dealname'] ?? '',
    stage: p['dealstage'] ?? '',
    pipeline: p['pipeline'] ?? '',
    amount: amount !== null && Number.isFinite(amount) ? amount : null,
    close_date: p['closedate'] ?? null,
    updated_at: p['hs_lastmodifieddate'] ?? raw.updatedAt,
  };
}

/**
 * HubSpot's search answers at most 10,000 results per query; asking past them is a 400. An
 * import that reaches the cap restarts the search from its checkpoint (the modification time
 * of the last deal read) instead, and drops the deals of that millisecond it already handed
 * out (by id: HubSpot sorts by one property only, so deals with equal times come in no
 * reliable order).
 */
const SEARCH_CAP = 10_000;
/** Most deals sharing one modification time that a restart can tell apart (bounds the cursor). */
const MAX_TIED = 1_000;

/** Where an import page reads: a search from `from` (epoch ms), at offset `after`. */
interface ImportWindow {
  from: number;
  after: string | undefined;
  /** Ids modified at exactly `from` that an earlier search already handed out. */
  skip: string[];
  /** The latest modification time read in this search, and the ids read at that time. */
  last: { at: number; ids: string[] } | null;
}

function firstWindow(sinceMs: number): ImportWindow {
  return { from: sinceMs, after: undefined, skip: [], last: null };
}

function modifiedMs(raw: RawObject): number {
  return Date.parse(raw.properties['hs_lastmodifieddate'] ?? raw.updatedAt);
}

/** The cursor of the next import page (base64url JSON), or null after the last page. */
function nextImportCursor(window: ImportWindow, raw: RawObject[], after: string | null): string | null {
  if (after === null) return null;
  let last = window.last;
  const final = raw.at(-1);
  if (final !== undefined) {
    const at = modifiedMs(final);
    const ids = raw.filter((r) => modifiedMs(r) === at).map((r) => r.id);
    last = last !== null && last.at === at ? { at, ids: [...new Set([...last.ids, ...ids])] } : { at, ids };
  }
  if (last !== null && last.ids.length > MAX_TIED) {
    throw new IntegrationFailure('PROVIDER_ERROR', `more than ${MAX_TIED} deals share the modification time ${new Date(last.at).toISOString()}; the import cannot page past them`);
  }
  let next: ImportWindow;
  if (!/^\d+$/.test(after) || Number(after) < SEARCH_CAP) {
    next = { ...window, after, last };
  } else {
    if (last === null || last.at === window.from) {
      throw new IntegrationFailure('PROVIDER_ERROR', `more than ${SEARCH_CAP} deals share one modification time; the import cannot page past HubSpot's search limit`);
    }
    next = { from: last.at, after: undefined, skip: last.ids, last };
  }
  return Buffer.from(JSON.stringify({ v: 1, ...next }), 'utf8').toString('base64url');
}

/** The window a cursor of `nextImportCursor` names; VALIDATION_FAILED for anything else. */
function readImportCursor(cursor: string, sinceMs: number): ImportWindow {
  const refuse = () => new IntegrationFailure('VALIDATION_FAILED', 'the cursor was not handed out by an import from this `since`; start again without a cursor');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  const w = value as { v?: unknown; from?: unknown; after?: unknown; skip?: unknown; last?: { at?: unknown; ids?: unknown } | null };
  const idList = (ids: unknown): ids is string[] =>
    Array.isArray(ids) && ids.length <= MAX_TIED && ids.every((id) => typeof id === 'string' && /^\d{1,20}$/.test(id));
  const ok = typeof w === 'object' && w !== null && w.v === 1
    && Number.isSafeInteger(w.from) && (w.from as number) >= sinceMs
    && (w.after === undefined || (typeof w.after === 'string' && /^\d{1,9}$/.test(w.after)))
    && idList(w.skip)
    && (w.last === null || (typeof w.last === 'object' && Number.isSafeInteger(w.last.at) && idList(w.last.ids)));
  if (!ok) throw refuse();
  return {
    from: w.from as number,
    after: w.after as string | undefined,
    skip: w.skip as string[],
    last: w.last === null || w.last === undefined ? null : { at: w.last.at as number, ids: w.last.ids as string[] },
  };
}
