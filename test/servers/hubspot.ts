/**
 * A fake HubSpot CRM v3 API for the endpoints the HubSpot integration calls:
 * `GET /crm/v3/objects/deals`, `GET /crm/v3/objects/contacts/{id}` and
 * `POST /crm/v3/objects/deals/search`. It paginates with `limit` and `paging.next.after`
 * (query `after` for lists, body `after` for search), sends `x-hubspot-correlation-id` and the
 * `x-hubspot-ratelimit-*` headers, and answers errors with `{status, message, correlationId, category}`.
 *
 * Search enforces HubSpot's limit of 10,000 results per query: a page never reaches past the
 * 10,000th result and `after` at or beyond it is a 400, while `paging.next.after` still names
 * the next offset, as HubSpot does. Results with equal sort values come in no order a client
 * may rely on (here: highest id first).
 */
import { FakeServer, type RecordedRequest, type Reply } from './fake.ts';

export const HUBSPOT_TOKEN = 'pat-na1-00000000-FAKE-hubspot-token-000000000000';

export interface FakeDeal {
  id: string;
  dealname: string;
  dealstage: string;
  pipeline: string;
  amount: string | null;
  closedate: string | null;
  hs_lastmodifieddate: string;
}

const at = (day: number, hour = 9) => `2024-05-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00.000Z`;

/** Deals in id order, as HubSpot lists them. */
export const HUBSPOT_DEALS: readonly FakeDeal[] = [
  { id: '1001', dealname: 'Northwind renewal', dealstage: 'contractsent', pipeline: 'default', amount: '412000', closedate: at(31), hs_lastmodifieddate: at(21, 10) },
  { id: '1002', dealname: 'Blue Heron expansion', dealstage: 'qualifiedtobuy', pipeline: 'default', amount: '56000', closedate: null, hs_lastmodifieddate: at(18) },
  { id: '1003', dealname: 'Contoso Health platform', dealstage: 'closedwon', pipeline: 'default', amount: '598000', closedate: at(15), hs_lastmodifieddate: at(15, 16) },
  { id: '1004', dealname: 'Fabrikam starter', dealstage: 'appointmentscheduled', pipeline: 'default', amount: null, closedate: null, hs_lastmodifieddate: at(3) },
  { id: '1005', dealname: 'Tailspin growth plan', dealstage: 'presentationscheduled', pipeline: 'default', amount: '81500', closedate: at(30), hs_lastmodifieddate: at(20, 8) },
  { id: '1006', dealname: 'Litware pilot', dealstage: 'closedlost', pipeline: 'default', amount: '9000', closedate: at(10), hs_lastmodifieddate: at(11) },
  { id: '1007', dealname: 'Adventure Works upgrade', dealstage: 'decisionmakerboughtin', pipeline: 'default', amount: '38000', closedate: at(28), hs_lastmodifieddate: at(19, 12) },
];

export const HUBSPOT_CONTACTS = [
  { id: '51', firstname: 'Maria', lastname: 'Johnson', email: 'maria@northwind.example', company: 'Northwind Traders', jobtitle: 'VP Operations', lifecyclestage: 'customer', updatedAt: at(20) },
  { id: '52', firstname: 'Dev', lastname: null, email: null, company: null, jobtitle: null, lifecyclestage: 'lead', updatedAt: at(2) },
] as const;

export function hubspotError(status: number, category: string, message: string, headers: Record<string, string> = {}): Reply {
  return { status, headers, body: { status: 'error', message, correlationId: 'f0e1d2c3-0000-4000-8000-000000000000', category } };
}

function dealObject(deal: FakeDeal, properties: readonly string[]) {
  const all: Record<string, string | null> = {
    ...deal, hs_object_id: deal.id, createdate: '2024-01-02T10:00:00.000Z',
  };
  const shown = Object.fromEntries(['createdate', 'hs_lastmodifieddate', 'hs_object_id', ...properties].map((p) => [p, all[p] ?? null]));
  delete shown['id'];
  return { id: deal.id, properties: shown, createdAt: '2024-01-02T10:00:00.000Z', updatedAt: deal.hs_lastmodifieddate, archived: false };
}

function page<T>(items: readonly T[], limit: number, after: string | undefined, link: (after: string) => string) {
  const start = after === undefined ? 0 : Number(after);
  const results = items.slice(start, start + limit);
  const nextStart = start + limit;
  return {
    results,
    ...(nextStart < items.length ? { paging: { next: { after: String(nextStart), link: link(String(nextStart)) } } } : {}),
  };
}

/** HubSpot's limit on the results of one search query. */
export const HUBSPOT_SEARCH_CAP = 10_000;

/** `count` generated deals, ids from 100001, `perTimestamp` of them sharing each modification time. */
export function manyDeals(count: number, perTimestamp: number): FakeDeal[] {
  const start = Date.parse('2024-06-01T00:00:00.000Z');
  return Array.from({ length: count }, (_, i) => ({
    id: String(100_001 + i), dealname: `Deal ${i}`, dealstage: 'appointmentscheduled', pipeline: 'default',
    amount: null, closedate: null, hs_lastmodifieddate: new Date(start + Math.floor(i / perTimestamp) * 1000).toISOString(),
  }));
}

const ordered = new WeakMap<readonly FakeDeal[], { deal: FakeDeal; ms: number }[]>();

/** Deals by modification time, oldest first; equal times highest id first. Cached per data set. */
function byModification(deals: readonly FakeDeal[]): { deal: FakeDeal; ms: number }[] {
  let found = ordered.get(deals);
  if (!found) {
    found = deals.map((deal) => ({ deal, ms: Date.parse(deal.hs_lastmodifieddate) }))
      .sort((a, b) => a.ms - b.ms || Number(b.deal.id) - Number(a.deal.id));
    ordered.set(deals, found);
  }
  return found;
}

function route(request: RecordedRequest, server: FakeServer): Reply {
  const deals = (server as HubSpotFake).deals;
  if (request.auth !== 'valid') {
    return hubspotError(401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found. This API supports OAuth 2.0 authentication.');
  }
  const base = server.baseUrl;
  if (request.method === 'GET' && request.path === '/crm/v3/objects/deals') {
    const limit = Number(request.query['limit'] ?? '10');
    const after = request.query['after'];
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return hubspotError(400, 'VALIDATION_ERROR', 'limit must be between 1 and 100');
    if (after !== undefined && !/^\d+$/.test(after)) return hubspotError(400, 'VALIDATION_ERROR', 'after is not a valid paging cursor');
    if (request.query['archived'] === 'true') return { status: 200, body: { results: [] } };
    const properties = (request.query['properties'] ?? '').split(',').filter(Boolean);
    const result = page(deals, limit, after, (next) => `${base}/crm/v3/objects/deals?limit=${limit}&after=${next}`);
    return { status: 200, body: { ...result, results: result.results.map((d) => dealObject(d, properties)) } };
  }
  const contact = /^\/crm\/v3\/objects\/contacts\/([^/]+)$/.exec(request.path);
  if (request.method === 'GET' && contact) {
    const found = HUBSPOT_CONTACTS.find((c) => c.id === contact[1]);
    if (!found) return hubspotError(404, 'OBJECT_NOT_FOUND', 'resource not found');
    const { id, updatedAt, ...props } = found;
    return { status: 200, body: { id, properties: { ...props, hs_object_id: id }, createdAt: '2024-01-02T10:00:00.000Z', updatedAt, archived: false } };
  }
  if (request.method === 'POST' && request.path === '/crm/v3/objects/deals/search') {
    const body = (request.body ?? {}) as {
      filterGroups?: { filters?: { propertyName: string; operator: string; value: string }[] }[];
      sorts?: { propertyName: string; direction: string }[];
      properties?: string[];
      limit?: number;
      after?: string;
    };
    const limit = body.limit ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) return hubspotError(400, 'VALIDATION_ERROR', 'limit must be between 1 and 200');
    if (body.after !== undefined && (!/^\d+$/.test(body.after) || Number(body.after) >= HUBSPOT_SEARCH_CAP)) {
      return hubspotError(400, 'VALIDATION_ERROR', `after must be a paging cursor below ${HUBSPOT_SEARCH_CAP}: a search returns at most ${HUBSPOT_SEARCH_CAP} results`);
    }
    const filters = body.filterGroups?.[0]?.filters ?? [];
    const since = filters.filter((f) => f.propertyName === 'hs_lastmodifieddate' && f.operator === 'GTE').map((f) => Number(f.value));
    const ascending = body.sorts?.[0]?.direction !== 'DESCENDING';
    const matching = byModification(deals).filter((d) => since.every((ms) => d.ms >= ms)).map((d) => d.deal);
    const sorted = ascending ? matching : [...matching].reverse();
    const start = body.after === undefined ? 0 : Number(body.after);
    const results = sorted.slice(start, Math.min(start + limit, HUBSPOT_SEARCH_CAP));
    const nextStart = start + results.length;
    const paging = nextStart < sorted.length ? { paging: { next: { after: String(nextStart) } } } : {};
    return { status: 200, body: { total: matching.length, results: results.map((d) => dealObject(d, body.properties ?? [])), ...paging } };
  }
  return hubspotError(404, 'OBJECT_NOT_FOUND', `no route for ${request.method} ${request.path}`);
}

export class HubSpotFake extends FakeServer {
  remaining = 100;
  /** The portal's deals, in id order; tests may replace them. */
  deals: readonly FakeDeal[] = HUBSPOT_DEALS;

  constructor(token = HUBSPOT_TOKEN) {
    super(route, { token });
  }

  protected override commonHeaders(_request: RecordedRequest, serial: number): Record<string, string> {
    this.remaining = Math.max(0, this.remaining - 1);
    return {
      'x-hubspot-correlation-id': `3b1c6a52-0000-4000-8000-${String(serial).padStart(12, '0')}`,
      'x-hubspot-ratelimit-interval-milliseconds': '10000',
      'x-hubspot-ratelimit-max': '100',
      'x-hubspot-ratelimit-remaining': String(this.remaining),
      'x-hubspot-ratelimit-daily': '250000',
      'x-hubspot-ratelimit-daily-remaining': String(250000 - serial),
    };
  }

  /** The next request is over the ten-second limit: 429 with Retry-After. */
  rateLimitNext(retryAfterSeconds: number): this {
    return this.next({
      kind: 'reply',
      reply: hubspotError(429, 'RATE_LIMITS', 'You have reached your ten_secondly_rolling limit.', {
        'retry-after': String(retryAfterSeconds),
        'x-hubspot-ratelimit-remaining': '0',
      }),
    });
  }

  /** The next request gets `status` with HubSpot's error body. */
  errorNext(status: number, category = status >= 500 ? 'INTERNAL_ERROR' : 'ERROR', headers: Record<string, string> = {}): this {
    return this.next({ kind: 'reply', reply: hubspotError(status, category, `fake ${status}`, headers) });
  }
}

export async function startHubSpot(token = HUBSPOT_TOKEN): Promise<HubSpotFake> {
  const server = new HubSpotFake(token);
  await server.start();
  return server;
}
