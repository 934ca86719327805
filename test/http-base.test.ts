/**
 * The HTTP base every integration stands on, against a loopback server: where requests may go
 * (allowed hosts, address ranges, the resolved address), what a preview shows, how much of
 * an answer is read, which methods the read path sends, and how lists reach the query string.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  HttpIntegration,
  classifyAddress,
  defineMethod,
  hostAllowed,
  type CallContext,
  type Capability,
  type HandlerInput,
  type Idempotency,
  type IntegrationResult,
  type MethodHandler,
  type MethodSpec,
  type QueryArrayStyle,
  type QueryValue,
} from '../src/integration/index.ts';

const SECRET = 'glpat-Zq8xK2mP/vL+9wRt==';

const method = (id: string, capabilities: Capability[], idempotency: Idempotency): MethodSpec =>
  defineMethod({
    method_id: `probe.${id}.v1`,
    description: id,
    input_schema: { type: 'object' },
    output_schema: { type: 'object' },
    capabilities,
    idempotency,
  });

const METHODS = {
  list: method('things.list', ['read'], 'safe_read'),
  search: method('things.search', ['read'], 'safe_read'),
  sneak: method('things.sneak', ['read'], 'safe_read'),
  writeByPost: method('things.write_by_post', ['write'], 'idempotent_write'),
  put: method('things.put', ['write'], 'idempotent_write'),
  big: method('things.big', ['read'], 'safe_read'),
};

interface ProbeArgs {
  query?: Record<string, QueryValue>;
  style?: QueryArrayStyle;
  verb?: 'GET' | 'HEAD' | 'POST' | 'PUT';
  limit?: number;
}

/** A GitLab-like provider: the token travels in `PRIVATE-TOKEN`, and some requests sign themselves. */
class Probe extends HttpIntegration {
  protected readonly defaultBaseUrl = 'https://api.probe.example/v4';
  protected override readonly sensitiveHeaders = ['X-Request-Signature'];
  protected override readonly sensitiveQueryParams = ['sig'];
  protected override readonly readViaPost = [METHODS.search.method_id, METHODS.writeByPost.method_id];

  describeMethods(): MethodSpec[] {
    return Object.values(METHODS);
  }

  protected override auth(ctx: CallContext): Record<string, string> {
    return { 'PRIVATE-TOKEN': ctx.credential?.secret ?? '' };
  }

  protected handlers(): Record<string, MethodHandler> {
    const read = async (input: HandlerInput) => {
      const a = input.args as ProbeArgs;
      const reply = await this.fetch<unknown>(input, {
        method: a.verb as 'GET',
        path: '/things',
        query: a.query ?? {},
        ...(a.style ? { arrayStyle: a.style } : {}),
        ...(a.limit ? { maxResponseBytes: a.limit } : {}),
        ...(a.verb === 'POST' || a.verb === 'PUT' ? { body: { q: 'x' } } : {}),
      });
      return { data: { body: reply.body } };
    };
    return {
      [METHODS.list.method_id]: read,
      [METHODS.search.method_id]: read,
      [METHODS.sneak.method_id]: read,
      [METHODS.writeByPost.method_id]: read,
      [METHODS.big.method_id]: read,
      [METHODS.put.method_id]: async (input) => {
        const sent = await this.push<unknown>(input, {
          method: 'PUT',
          path: `/tokens/${encodeURIComponent(input.ctx.credential?.secret ?? '')}`,
          query: { private_token: input.ctx.credential?.secret, sig: 'c2lnbmF0dXJl', page: 1 },
          headers: { 'X-Request-Signature': 'hmac-0f1e2d', 'X-Echo': `token=${input.ctx.credential?.secret}` },
          body: {
            note: `rotate ${input.ctx.credential?.secret}`,
            encoded: Buffer.from(SECRET).toString('base64'),
            [SECRET]: 'as a key',
            nested: [{ deep: SECRET }],
          },
        });
        return { data: 'dry_run' in sent ? { preview: sent.preview } : { sent: true } };
      },
    };
  }
}

interface Seen { method: string; url: string; body: string }
let server: Server;
let port: number;
let seen: Seen[] = [];
let answer: (req: IncomingMessage, res: ServerResponse) => void;
const sockets = new Set<import('node:net').Socket>();

const json = (res: ServerResponse, value: unknown) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      answer(req, res);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  answer = (_req, res) => json(res, { ok: true });
});

/** The loopback opt-ins a deployment would set for a provider on 127.0.0.1. */
const loopback = () => ({ base_url: `http://127.0.0.1:${port}/v4`, allowed_hosts: '127.0.0.1', allow_private_network: true });

async function call(
  config: Record<string, unknown>,
  spec: MethodSpec,
  args: ProbeArgs = {},
  options: { dry_run?: boolean; timeout_ms?: number; classification?: CallContext['classification'] } = {},
): Promise<IntegrationResult> {
  const integration = new Probe({ phase: 'runtime', provider: 'probe', config });
  const signal = AbortSignal.timeout(options.timeout_ms ?? 4000);
  const ctx: CallContext = {
    tenant: 'acme', trace_id: 't', signal, credential: { secret: SECRET, scopes: [] },
    classification: options.classification ?? 'outbound',
  };
  return integration.call({
    trace_id: 't', method_id: spec.method_id, args: args as Record<string, unknown>, timeout_ms: 4000,
    retry_policy: { max_attempts: 1, backoff_ms: 0, max_backoff_ms: 0 }, dry_run: options.dry_run ?? false,
  }, ctx);
}

function errorOf(result: IntegrationResult) {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.data).slice(0, 200)}`);
  return result.error;
}

function dataOf(result: IntegrationResult): Record<string, unknown> {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.data as Record<string, unknown>;
}

describe('previews hide secrets wherever the integration put them', () => {
  it('redacts the credential in any header, the URL and the body, and declared sensitive headers and query parameters by name', async () => {
    const data = dataOf(await call(loopback(), METHODS.put, {}, { dry_run: true }));
    const preview = data['preview'] as { url: string; headers: Record<string, string>; body: unknown };
    const text = JSON.stringify(preview);
    for (const form of [SECRET, encodeURIComponent(SECRET), new URLSearchParams({ s: SECRET }).toString().slice(2), Buffer.from(SECRET).toString('base64')]) {
      expect(text).not.toContain(form);
    }
    expect(preview.headers['PRIVATE-TOKEN']).toBe('[redacted]');
    expect(preview.headers['X-Request-Signature']).toBe('[redacted]');
    expect(preview.headers['X-Echo']).toBe('token=[redacted]');
    const url = new URL(preview.url);
    expect(url.pathname).toBe('/v4/tokens/[redacted]');
    expect(url.searchParams.get('private_token')).toBe('[redacted]');
    expect(url.searchParams.get('sig')).toBe('[redacted]');
    expect(url.searchParams.get('page')).toBe('1');
    expect(preview.body).toEqual({ note: 'rotate [redacted]', encoded: '[redacted]', '[redacted]': 'as a key', nested: [{ deep: '[redacted]' }] });
    expect(seen).toEqual([]);
  });

  it('sends the real values when the write is not a dry run', async () => {
    expect(dataOf(await call(loopback(), METHODS.put))).toEqual({ sent: true });
    expect(seen).toHaveLength(1);
    expect(new URL(seen[0]!.url, 'http://x').searchParams.get('private_token')).toBe(SECRET);
    expect(JSON.parse(seen[0]!.body).note).toBe(`rotate ${SECRET}`);
  });
});

describe('the response body is capped while it is read', () => {
  it('aborts an endless body at the configured limit with PROVIDER_ERROR', async () => {
    let written = 0;
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    };
    const started = Date.now();
    const error = errorOf(await call({ ...loopback(), max_response_bytes: 1_048_576 }, METHODS.list));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.message).toMatch(/more than 1048576 bytes.*max_response_bytes/);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses a declared Content-Length over the limit before reading the body (a 400 MiB answer)', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(400 * 1024 * 1024) });
      res.write('{"things": [');
    };
    const error = errorOf(await call(loopback(), METHODS.list));
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR' });
    expect(error.message).toContain(`more than ${DEFAULT_MAX_RESPONSE_BYTES} bytes`);
  });

  it('applies the 10 MiB default, and a per-method limit that the configuration cannot raise', async () => {
    expect(DEFAULT_MAX_RESPONSE_BYTES).toBe(10 * 1024 * 1024);
    const body = JSON.stringify({ pad: 'x'.repeat(DEFAULT_MAX_RESPONSE_BYTES) });
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    };
    expect(errorOf(await call(loopback(), METHODS.list)).code).toBe('PROVIDER_ERROR');
    answer = (_req, res) => json(res, { pad: 'x'.repeat(2000) });
    expect(errorOf(await call({ ...loopback(), max_response_bytes: 1_000_000 }, METHODS.big, { limit: 1000 })).code).toBe('PROVIDER_ERROR');
    expect(dataOf(await call(loopback(), METHODS.big, { limit: 4000 }))).toEqual({ body: { pad: 'x'.repeat(2000) } });
    expect(errorOf(await call({ ...loopback(), max_response_bytes: 1500 }, METHODS.big, { limit: 4000 })).code).toBe('PROVIDER_ERROR');
  });

  it('refuses a max_response_bytes that is not a positive integer', async () => {
    const error = errorOf(await call({ ...loopback(), max_response_bytes: 'lots' }, METHODS.list));
    expect(error).toMatchObject({ code: 'INTERNAL_ERROR' });
    expect(error.message).toMatch(/max_response_bytes/);
  });
});

describe('base_url reaches only allowed hosts on allowed addresses', () => {
  it('classifies addresses by range, IPv4 inside IPv6 included', () => {
    const table: Record<string, string | undefined> = {
      '169.254.169.254': 'link_local', 'fe80::1': 'link_local', '[fe80::1%25eth0]': 'link_local',
      '127.0.0.1': 'loopback', '::1': 'loopback', '[::ffff:7f00:1]': 'loopback', '::ffff:127.0.0.1': 'loopback',
      '10.0.0.1': 'private', '172.16.5.4': 'private', '172.31.255.255': 'private', '192.168.0.1': 'private',
      'fd12:3456::1': 'private', 'fc00::1': 'private', '::ffff:10.1.2.3': 'private', '::ffff:a9fe:a9fe': 'link_local',
      '64:ff9b::a9fe:a9fe': 'link_local', '2002:a9fe:a9fe::': 'link_local',
      '0.0.0.0': 'unspecified', '::': 'unspecified', '224.0.0.1': 'reserved', '255.255.255.255': 'reserved',
      '172.32.0.1': 'public', '8.8.8.8': 'public', '2606:4700:4700::1111': 'public', 'api.github.com': undefined,
    };
    for (const [address, kind] of Object.entries(table)) expect([address, classifyAddress(address)]).toEqual([address, kind]);
  });

  it('matches allowed hosts exactly or by a `*.` suffix', () => {
    expect(hostAllowed('api.hubapi.com', ['api.hubapi.com'])).toBe(true);
    expect(hostAllowed('eu1.api.hubapi.com', ['*.hubapi.com'])).toBe(true);
    expect(hostAllowed('hubapi.com', ['*.hubapi.com'])).toBe(false);
    expect(hostAllowed('evilhubapi.com', ['*.hubapi.com'])).toBe(false);
    expect(hostAllowed('[::1]', ['::1'])).toBe(true);
  });

  it.each([
    ['a cloud metadata address', 'http://169.254.169.254/latest/meta-data', /link-local/],
    ['an IPv6 link-local address', 'http://[fe80::1]/', /link-local/],
    ['metadata through an IPv4-mapped IPv6 address', 'http://[::ffff:169.254.169.254]/', /link-local/],
    ['the unspecified address', 'http://0.0.0.0:80/', /unspecified/],
  ])('refuses %s even with every opt-in, sending nothing', async (_name, baseUrl, reason) => {
    const host = new URL(baseUrl).hostname;
    const error = errorOf(await call({ base_url: baseUrl, allowed_hosts: host, allow_private_network: true }, METHODS.list));
    expect(error.code).toBe('INTERNAL_ERROR');
    expect(error.message).toMatch(reason);
  });

  it('refuses loopback and private addresses unless allow_private_network is set', async () => {
    for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]', '10.0.0.7', '192.168.1.10', '[fd00::5]']) {
      const error = errorOf(await call({ base_url: `http://${host}:${port}/v4`, allowed_hosts: new URL(`http://${host}`).hostname }, METHODS.list));
      expect(error.code).toBe('INTERNAL_ERROR');
      expect(error.message).toMatch(/allow_private_network/);
    }
    expect(seen).toEqual([]);
    expect(dataOf(await call(loopback(), METHODS.list))).toEqual({ body: { ok: true } });
    expect(seen).toHaveLength(1);
  });

  it('refuses a host the integration does not declare, unless the configuration adds it', async () => {
    const error = errorOf(await call({ base_url: `http://127.0.0.1:${port}/v4`, allow_private_network: true }, METHODS.list));
    expect(error.code).toBe('INTERNAL_ERROR');
    expect(error.message).toMatch(/127\.0\.0\.1 is not an allowed host \(api\.probe\.example\).*allowed_hosts/);
    expect(seen).toEqual([]);
  });

  it('refuses credentials in base_url', async () => {
    const error = errorOf(await call({ ...loopback(), base_url: `http://admin:hunter2@127.0.0.1:${port}/v4` }, METHODS.list));
    expect(error.code).toBe('INTERNAL_ERROR');
    expect(error.message).toMatch(/must not carry credentials/);
    expect(error.message).not.toContain('hunter2');
    expect(seen).toEqual([]);
  });

  it('checks the address a host name resolves to before connecting', async () => {
    const config = { base_url: `http://localhost:${port}/v4`, allowed_hosts: 'localhost' };
    const error = errorOf(await call(config, METHODS.list));
    expect(error.code).toBe('INTERNAL_ERROR');
    expect(error.message).toMatch(/localhost resolved to (127\.0\.0\.1|::1) .*loopback/);
    expect(seen).toEqual([]);
    answer = (_req, res) => json(res, { via: 'localhost' });
    // ::1 first on some machines: the server listens on 127.0.0.1 only, so allow either answer.
    const opted = await call({ ...config, allow_private_network: true }, METHODS.list);
    if (opted.ok) expect(opted.data).toEqual({ body: { via: 'localhost' } });
    else expect(opted.error.code).toBe('PROVIDER_UNAVAILABLE');
  });
});

describe('the read path sends only safe methods', () => {
  it('refuses a POST through fetch for a method that does not declare readViaPost, dry run or not, sending nothing', async () => {
    for (const dry_run of [false, true]) {
      for (const classification of ['read_only', 'outbound'] as const) {
        const error = errorOf(await call(loopback(), METHODS.sneak, { verb: 'POST' }, { dry_run, classification }));
        expect(error.code).toBe('READ_ONLY_VIOLATION');
      }
    }
    expect(errorOf(await call(loopback(), METHODS.list, { verb: 'PUT' })).code).toBe('READ_ONLY_VIOLATION');
    expect(seen).toEqual([]);
  });

  it('refuses a declared POST read for a method with a write capability', async () => {
    expect(errorOf(await call(loopback(), METHODS.writeByPost, { verb: 'POST' })).code).toBe('READ_ONLY_VIOLATION');
    expect(seen).toEqual([]);
  });

  it('sends GET, HEAD, and a POST declared in readViaPost (also for a read-only integration)', async () => {
    dataOf(await call(loopback(), METHODS.list, {}, { classification: 'read_only' }));
    answer = (_req, res) => {
      res.writeHead(200);
      res.end();
    };
    dataOf(await call(loopback(), METHODS.list, { verb: 'HEAD' }, { classification: 'read_only' }));
    answer = (_req, res) => json(res, { found: [] });
    expect(dataOf(await call(loopback(), METHODS.search, { verb: 'POST' }, { classification: 'read_only' }))).toEqual({ body: { found: [] } });
    expect(seen.map((s) => s.method)).toEqual(['GET', 'HEAD', 'POST']);
    expect(JSON.parse(seen[2]!.body)).toEqual({ q: 'x' });
  });
});

describe('query values can be lists', () => {
  const sent = () => new URL(seen.at(-1)!.url, 'http://x').searchParams;

  it('repeats the key by default, and leaves empty lists and null items out', async () => {
    dataOf(await call(loopback(), METHODS.list, { query: { status: ['open', 'closed'], empty: [], mixed: ['a', null, 'b'], one: 1 } }));
    expect(sent().getAll('status')).toEqual(['open', 'closed']);
    expect(sent().has('empty')).toBe(false);
    expect(sent().getAll('mixed')).toEqual(['a', 'b']);
    expect(sent().get('one')).toBe('1');
  });

  it('writes `key[]` per item in the brackets style, and one comma-joined value in the comma style', async () => {
    dataOf(await call(loopback(), METHODS.list, { query: { statuses: ['a', 'b'], 'kinds[]': ['x'] }, style: 'brackets' }));
    expect(seen.at(-1)!.url).toContain('statuses%5B%5D=a&statuses%5B%5D=b');
    expect(sent().getAll('statuses[]')).toEqual(['a', 'b']);
    expect(sent().getAll('kinds[]')).toEqual(['x']);
    dataOf(await call(loopback(), METHODS.list, { query: { labels: ['bug', 'ui'] }, style: 'comma' }));
    expect(sent().getAll('labels')).toEqual(['bug,ui']);
  });
});
