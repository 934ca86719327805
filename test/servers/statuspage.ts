/**
 * A fake Atlassian Statuspage manage API (v1) for the endpoints the Statuspage integration
 * calls: `GET /pages/{page_id}/incidents`, `.../incidents/unresolved` and `.../components`.
 * It authenticates `Authorization: OAuth <key>`, sends `x-request-id`, and throttles with 420.
 */
import { FakeServer, type RecordedRequest, type Reply } from './fake.ts';

export const STATUSPAGE_KEY = 'spk_FAKE0123456789abcdef0123456789ab';
export const STATUSPAGE_PAGE = 'kctbh9vrtdwd';

const incident = (id: string, name: string, status: string, impact: string, day: number, components: string[]) => ({
  id, name, status, impact,
  created_at: `2024-05-${day}T08:00:00.000Z`, updated_at: `2024-05-${day}T09:30:00.000Z`,
  shortlink: `https://stspg.io/${id.slice(0, 6)}`, page_id: STATUSPAGE_PAGE,
  components: components.map((c, i) => ({ id: `cmp${i}`, name: c, status: 'partial_outage' })),
  incident_updates: [],
});

export const STATUSPAGE_INCIDENTS = [
  incident('inc00000003', 'Webhook deliveries delayed', 'identified', 'major', 21, ['Webhooks']),
  incident('inc00000002', 'Elevated API error rates', 'resolved', 'minor', 19, ['API', 'Dashboard']),
  incident('inc00000001', 'Scheduled database maintenance', 'completed', 'maintenance', 12, []),
];

export const STATUSPAGE_COMPONENTS = [
  { id: 'grp0000001', name: 'Core', status: 'operational', group: true },
  { id: 'cmp0000001', name: 'API', status: 'operational', group: false },
  { id: 'cmp0000002', name: 'Webhooks', status: 'partial_outage', group: false },
  { id: 'cmp0000003', name: 'Dashboard', status: 'degraded_performance', group: false },
];

function route(request: RecordedRequest): Reply {
  if (request.auth !== 'valid') return { status: 401, body: { error: 'Could not authenticate' } };
  const match = /^\/pages\/([^/]+)\/(incidents\/unresolved|incidents|components)$/.exec(request.path);
  if (request.method !== 'GET' || !match) return { status: 404, body: { error: 'Not found' } };
  if (match[1] !== STATUSPAGE_PAGE) return { status: 404, body: { error: 'Page not found' } };
  if (match[2] === 'components') return { status: 200, body: STATUSPAGE_COMPONENTS };
  const perPage = Number(request.query['per_page'] ?? '100');
  const open = match[2] === 'incidents/unresolved';
  const list = STATUSPAGE_INCIDENTS.filter((i) => !open || !['resolved', 'completed', 'postmortem'].includes(i.status));
  return { status: 200, body: list.slice(0, perPage) };
}

export class StatuspageFake extends FakeServer {
  constructor(key = STATUSPAGE_KEY) {
    super(route, {
      token: key,
      authenticate: (authorization) => /^OAuth\s+(\S+)$/.exec(authorization ?? '')?.[1] ?? null,
    });
  }

  protected override commonHeaders(_request: RecordedRequest, serial: number): Record<string, string> {
    return { 'x-request-id': `sp-${String(serial).padStart(6, '0')}` };
  }

  /** The next request is throttled the Statuspage way: 420. */
  throttleNext(retryAfterSeconds: number): this {
    return this.next({ kind: 'reply', reply: { status: 420, headers: { 'retry-after': String(retryAfterSeconds) }, body: { error: 'Rate limit exceeded' } } });
  }
}

export async function startStatuspage(key = STATUSPAGE_KEY): Promise<StatuspageFake> {
  const server = new StatuspageFake(key);
  await server.start();
  return server;
}
