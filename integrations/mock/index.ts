/**
 * Mock connector (inbound): a deterministic, in-memory stand-in for the product-usage
 * warehouse, so bots can be built, demoed and tested offline.
 *
 * Classification `inbound`: it reads fixture accounts and imports fixture usage rows; it never
 * touches the network and needs no credential. The same call always returns the same data.
 * Config: `page_size_cap` (optional integer) lowers the largest page it will serve, handy for
 * exercising pagination.
 */
import {
  BaseIntegration,
  IntegrationFailure,
  defineMethod,
  type AuthStatus,
  type MethodHandler,
  type MethodSpec,
} from 'botc/integration';

const SEGMENTS = ['enterprise', 'mid_market', 'smb'] as const;
type Segment = (typeof SEGMENTS)[number];

interface Account {
  account_id: string;
  name: string;
  segment: Segment;
  plan: string;
  seats: number;
  arr_usd: number;
  region: string;
  renewal_date: string;
}

const ACCOUNTS: readonly Account[] = [
  { account_id: 'acc_1001', name: 'Northwind Traders', segment: 'enterprise', plan: 'scale', seats: 850, arr_usd: 412000, region: 'emea', renewal_date: '2025-03-31' },
  { account_id: 'acc_1002', name: 'Blue Heron Logistics', segment: 'mid_market', plan: 'growth', seats: 140, arr_usd: 56000, region: 'amer', renewal_date: '2024-11-15' },
  { account_id: 'acc_1003', name: 'Contoso Health', segment: 'enterprise', plan: 'scale', seats: 1200, arr_usd: 598000, region: 'amer', renewal_date: '2025-01-01' },
  { account_id: 'acc_1004', name: 'Fabrikam Studio', segment: 'smb', plan: 'starter', seats: 12, arr_usd: 4300, region: 'apac', renewal_date: '2024-09-30' },
  { account_id: 'acc_1005', name: 'Tailspin Aviation', segment: 'mid_market', plan: 'growth', seats: 210, arr_usd: 81500, region: 'emea', renewal_date: '2025-06-30' },
  { account_id: 'acc_1006', name: 'Litware Labs', segment: 'smb', plan: 'starter', seats: 25, arr_usd: 9000, region: 'amer', renewal_date: '2024-12-31' },
  { account_id: 'acc_1007', name: 'Adventure Works Cycles', segment: 'mid_market', plan: 'growth', seats: 95, arr_usd: 38000, region: 'amer', renewal_date: '2025-02-28' },
  { account_id: 'acc_1008', name: 'Wide World Importers', segment: 'enterprise', plan: 'enterprise', seats: 2300, arr_usd: 1040000, region: 'apac', renewal_date: '2025-09-30' },
  { account_id: 'acc_1009', name: 'Proseware Inc', segment: 'smb', plan: 'growth', seats: 40, arr_usd: 15600, region: 'emea', renewal_date: '2024-10-31' },
  { account_id: 'acc_1010', name: 'Coho Vineyard', segment: 'smb', plan: 'starter', seats: 8, arr_usd: 2900, region: 'amer', renewal_date: '2025-04-30' },
];

const USAGE_METRICS = ['weekly_active_users', 'api_calls', 'reports_exported', 'support_tickets'] as const;

const ACCOUNT_ID = { type: 'string', pattern: '^acc_[0-9]{4}$', description: 'Account id, e.g. "acc_1001".', examples: ['acc_1001'] };

const ACCOUNT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['account_id', 'name', 'segment', 'plan', 'seats', 'arr_usd', 'region', 'renewal_date'],
  properties: {
    account_id: { type: 'string', description: 'Account id.' },
    name: { type: 'string', description: 'Customer name.' },
    segment: { type: 'string', enum: [...SEGMENTS], description: 'Sales segment.' },
    plan: { type: 'string', description: 'Subscription plan.' },
    seats: { type: 'integer', minimum: 0, description: 'Licensed seats.' },
    arr_usd: { type: 'number', minimum: 0, description: 'Annual recurring revenue in US dollars.' },
    region: { type: 'string', description: 'Sales region: amer, emea or apac.' },
    renewal_date: { type: 'string', description: 'Next renewal date (YYYY-MM-DD).' },
  },
} as const;

export const ACCOUNTS_LIST = defineMethod({
  method_id:
    'mock.accounts.list.v1',
  description: 'List fixture customer accounts, optionally by segment, in a stable order with cursor pagination.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      segment: { type: 'string', enum: [...SEGMENTS], description: 'Only accounts of this segment.' },
      limit: { type: 'integer', minimum: 1, maximum: 50, default: 5, description: 'Page size.' },
    },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['accounts', 'total'],
    properties: {
      accounts: { type: 'array', items: ACCOUNT_SCHEMA, description: 'Accounts on this page.' },
      total: { type: 'integer', minimum: 0, description: 'Accounts matching the filter across all pages.' },
    },
  },
  capabilities: ['read'],
  idempotency: 'safe_read',
});

export const ACCOUNTS_GET = defineMethod({
  method_id:
    'mock.accounts.get.v1',
  description: 'Fetch one fixture account by id.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['account_id'],
    properties: { account_id: ACCOUNT_ID },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['account'],
    properties: { account: { ...ACCOUNT_SCHEMA, description: 'The account.' } },
  },
  capabilities: ['read'],
  idempotency: 'safe_read',
});

export const USAGE_IMPORT = defineMethod({
  method_id:
    'mock.usage.import.v1',
  description: 'Import one month of product-usage metrics for an account as rows pending review.',
  input_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['account_id', 'month'],
    properties: {
      account_id: ACCOUNT_ID,
      month: { type: 'string', pattern: '^20[0-9]{2}-(0[1-9]|1[0-2])$', description: 'Calendar month, YYYY-MM.', examples: ['2024-05'] },
    },
  },
  output_schema: {
    type: 'object',
    additionalProperties: false,
    required: ['import_key', 'account_id', 'month', 'rows', 'review_required'],
    properties: {
      import_key: { type: 'string', description: 'Stable key of this import; re-importing the same month yields the same key and rows.' },
      account_id: { type: 'string', description: 'Account the rows belong to.' },
      month: { type: 'string', description: 'Month the rows cover.' },
      rows: {
        type: 'array',
        description: 'One row per metric.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['metric', 'value'],
          properties: {
            metric: { type: 'string', enum: [...USAGE_METRICS], description: 'Metric name.' },
            value: { type: 'integer', minimum: 0, description: 'Metric value for the month.' },
          },
        },
      },
      review_required: { type: 'boolean', const: true, description: 'Always true: imported rows need a person to review them.' },
    },
  },
  capabilities: ['import'],
  idempotency: 'idempotent_write',
});

const METHODS: MethodSpec[] = [ACCOUNTS_LIST, ACCOUNTS_GET, USAGE_IMPORT];

export class MockIntegration extends BaseIntegration {
  describeMethods(): MethodSpec[] {
    return METHODS;
  }

  /** The mock needs no credential, so it is always "authenticated". */
  override async authStatus(): Promise<AuthStatus> {
    return { authenticated: true, scopes: [], detail: 'mock connector: no credential needed' };
  }

  protected handlers(): Record<string, MethodHandler> {
    return {
      'mock.accounts.list.v1': async ({ args, cursor }) => {
        const a = args as { segment?: Segment; limit?: number };
        const matching = ACCOUNTS.filter((acc) => a.segment === undefined || acc.segment === a.segment);
        const offset = decodeCursor(cursor, matching.length);
        const limit = Math.min(a.limit ?? 5, this.pageSizeCap);
        const page = matching.slice(offset, offset + limit);
        const next = offset + page.length < matching.length ? `offset:${offset + page.length}` : null;
        return {
          data: { accounts: page.map((acc) => ({ ...acc })), total: matching.length },
          next_cursor: next,
          source_ref: 'fixture/accounts',
        };
      },
      'mock.accounts.get.v1': async ({ args }) => {
        const { account_id } = args as { account_id: string };
        const account = ACCOUNTS.find((acc) => acc.account_id === account_id);
        if (!account) throw new IntegrationFailure('NOT_FOUND', `no account ${account_id}`, { provider_code: 'account_not_found' });
        return { data: { account: { ...account } }, source_ref: `fixture/accounts/${account_id}` };
      },
      'mock.usage.import.v1': async ({ args }) => {
        const { account_id, month } = args as { account_id: string; month: string };
        const account = ACCOUNTS.find((acc) => acc.account_id === account_id);
        if (!account) throw new IntegrationFailure('NOT_FOUND', `no account ${account_id}`, { provider_code: 'account_not_found' });
        const rows = USAGE_METRICS.map((metric) => ({ metric, value: usageValue(account, month, metric) }));
        const import_key = `${account_id}:${month}`;
        return {
          data: { import_key, account_id, month, rows, review_required: true },
          source_ref: `fixture/usage/${import_key}`,
        };
      },
    };
  }

  private get pageSizeCap(): number {
    const cap = this.context.config['page_size_cap'];
    return typeof cap === 'number' && Number.isInteger(cap) && cap > 0 ? cap : 50;
  }
}

function decodeCursor(cursor: string | undefined, total: number): number {
  if (cursor === undefined) return 0;
  const match = /^offset:([0-9]{1,6})$/.exec(cursor);
  const offset = match?.[1] === undefined ? NaN : Number(match[1]);
  if (!Number.isInteger(offset) || offset > total) {
    throw new IntegrationFailure('VALIDATION_FAILED', 'the cursor was not issued by mock.accounts.list.v1', { provider_code: 'bad_cursor' });
  }
  return offset;
}

/** A stable pseudo-random value per (account, month, metric): FNV-1a, scaled by seats. */
function usageValue(account: Account, month: string, metric: string): number {
  let hash = 0x811c9dc5;
  for (const ch of `${account.account_id}|${month}|${metric}`) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const jitter = (hash % 1000) / 1000; // 0 .. 0.999
  switch (metric) {
    case 'weekly_active_users': return Math.round(account.seats * (0.45 + 0.5 * jitter));
    case 'api_calls': return Math.round(account.seats * (180 + 400 * jitter));
    case 'reports_exported': return Math.round(account.seats * (0.8 + 2 * jitter));
    default: return Math.round(1 + account.seats / 60 * jitter);
  }
}
