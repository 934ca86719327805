/**
 * Atlassian Statuspage (read-only partner integration, tier 1): open incidents and component
 * health of one status page, so a triager can tell "known outage" from "new bug".
 *
 * Classification `read_only`, partner permission `read` only. The registry marks it
 * `maintenance`: it keeps working, but only compliance fixes land until it is re-certified.
 * Config: `base_url` (default https://api.statuspage.io/v1). Credential: an API key, sent
 * as `Authorization: OAuth <key>` as Statuspage requires.
 */
import {
  HttpIntegration,
  IntegrationFailure,
  defineMethod,
  retryAfterMs,
  type CallContext,
  type MethodHandler,
  type MethodSpec,
} from 'botc/integration';

const PAGE_ID = { type: 'string', pattern: '^[a-z0-9]{6,32}$', description: 'Statuspage page id.', examples: ['kctbh9vrtdwd'] };

export const INCIDENTS_LIST = defineMethod({
  method_id:
    'statuspage.incidents.list.v1',
  description: 'List incidents of a status page: only unresolved ones by default, or the most recent ones.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['page_id'],
    properties: {
      page_id: PAGE_ID,
      only_unresolved: { type: 'boolean', default: true, description: 'List only incidents that are not resolved yet.' },
      limit: { type: 'integer', minimum: 1, maximum: 100, default: 20, description: 'Most recent incidents to return.' },
    },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['incidents'],
    properties: {
      incidents: {
        type: 'array',
        description: 'Incidents, newest first.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'name', 'status', 'impact', 'components', 'created_at', 'updated_at', 'shortlink'],
          properties: {
            id: { type: 'string', description: 'Incident id.' },
            name: { type: 'string', description: 'Incident title as shown on the status page.' },
            status: { type: 'string', description: 'investigating, identified, monitoring, resolved or postmortem (scheduled maintenance has its own states).' },
            impact: { type: 'string', enum: ['none', 'minor', 'major', 'critical', 'maintenance'], description: 'Impact the page shows.' },
            components: { type: 'array', items: { type: 'string' }, description: 'Names of the affected components.' },
            created_at: { type: 'string', description: 'ISO 8601 creation time.' },
            updated_at: { type: 'string', description: 'ISO 8601 time of the last update.' },
            shortlink: { anyOf: [{ type: 'string' }, { type: 'null' }], description: 'Public short link; null when the page has none.' },
          },
        },
      },
    },
  },
  capabilities: ['read'],
  idempotency: 'safe_read',
  auth_scopes: ['page:read'],
  rate_limit_hint: { max_calls: 60, per_seconds: 60 },
});

export const COMPONENTS_LIST = defineMethod({
  method_id:
    'statuspage.components.list.v1',
  description: 'List the components of a status page with their current status.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['page_id'],
    properties: { page_id: PAGE_ID },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['components'],
    properties: {
      components: {
        type: 'array',
        description: 'Components in page order.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'name', 'status'],
          properties: {
            id: { type: 'string', description: 'Component id.' },
            name: { type: 'string', description: 'Component name.' },
            status: {
              type: 'string',
              enum: ['operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage'],
              description: 'Current component status.',
            },
          },
        },
      },
    },
  },
  capabilities: ['read'],
  idempotency: 'safe_read',
  auth_scopes: ['page:read'],
  rate_limit_hint: { max_calls: 60, per_seconds: 60 },
});

const METHODS: MethodSpec[] = [INCIDENTS_LIST, COMPONENTS_LIST];

interface RawIncident {
  id: string; name: string; status: string; impact: string; created_at: string; updated_at: string;
  shortlink?: string | null; components?: { name: string }[];
}
interface RawComponent { id: string; name: string; status: string; group?: boolean }

export class StatuspageIntegration extends HttpIntegration {
  protected readonly defaultBaseUrl = 'https://api.statuspage.io/v1';
  protected override readonly requestIdHeader = 'x-request-id';
  protected override readonly rateLimitHeader = 'x-ratelimit-remaining';

  describeMethods(): MethodSpec[] {
    return METHODS;
  }

  protected handlers(): Record<string, MethodHandler> {
    return {
      'statuspage.incidents.list.v1': async (input) => {
        const a = input.args as { page_id: string; only_unresolved?: boolean; limit?: number };
        const which = (a.only_unresolved ?? true) ? 'incidents/unresolved' : 'incidents';
        const reply = await this.fetch<RawIncident[]>(input, {
          path: `/pages/${encodeURIComponent(a.page_id)}/${which}`,
          query: { per_page: a.limit ?? 20 },
        });
        const incidents = reply.body.slice(0, a.limit ?? 20).map((i) => ({
          id: i.id, name: i.name, status: i.status, impact: i.impact,
          components: (i.components ?? []).map((c) => c.name),
          created_at: i.created_at, updated_at: i.updated_at, shortlink: i.shortlink ?? null,
        }));
        return { data: { incidents }, provider_request_id: reply.provider_request_id, source_ref: `page/${a.page_id}` };
      },
      'statuspage.components.list.v1': async (input) => {
        const a = input.args as { page_id: string };
        const reply = await this.fetch<RawComponent[]>(input, { path: `/pages/${encodeURIComponent(a.page_id)}/components` });
        const components = reply.body
          .filter((c) => c.group !== true)
          .map((c) => ({ id: c.id, name: c.name, status: c.status }));
        return { data: { components }, provider_request_id: reply.provider_request_id, source_ref: `page/${a.page_id}` };
      },
    };
  }

  /** Statuspage wants its API key as `Authorization: OAuth <key>`, not as a bearer token. */
  protected override auth(ctx: CallContext): Record<string, string> {
    if (!ctx.credential) throw new IntegrationFailure('AUTH_REQUIRED', 'no Statuspage API key is configured for this tenant');
    return { authorization: `OAuth ${ctx.credential.secret}` };
  }

  /** These methods return one page; a caller's cursor changes nothing. */
  protected override cursorFrom(): string | null {
    return null;
  }

  protected override applyCursor(): void {}

  /** Statuspage also throttles with 420 ("Enhance your calm"). */
  protected override rateLimitFor(status: number, headers: Headers, body: unknown): { retry_after_ms: number | null } | undefined {
    if (status === 420) return { retry_after_ms: retryAfterMs(headers.get('retry-after')) };
    return super.rateLimitFor(status, headers, body);
  }
}
