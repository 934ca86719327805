import { createHmac } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookDeclaration } from '../src/inbound/declarations.ts';
import { webhookHandler } from '../src/inbound/receiver.ts';
import type { SqlStore } from '../src/state/sql-store.ts';
import { describeStores, type TestDb } from './helpers/stores.ts';

/**
 * The webhook receiver over real HTTP on loopback, for the four signature schemes: good,
 * bad, missing and stale signatures, replayed deliveries, oversize bodies refused before
 * anything reads them, and two receivers sharing one store.
 */
const SCHEMA = { type: 'object', required: ['id', 'kind'], properties: { id: { type: 'string' }, kind: { type: 'string' } } };
const DECLARATIONS = new Map<string, WebhookDeclaration>([
  ['gh', { scheme: 'github', event_id: { header: 'x-github-delivery' }, event_type: { header: 'x-github-event' }, payload_schema: SCHEMA }],
  ['sl', { scheme: 'slack', event_id: { pointer: '/id' }, event_type: { pointer: '/kind' }, payload_schema: SCHEMA }],
  ['st', { scheme: 'stripe', event_id: { pointer: '/id' }, event_type: { pointer: '/kind' }, payload_schema: SCHEMA }],
  ['sw', { scheme: 'standard', event_id: { header: 'webhook-id' }, event_type: { pointer: '/kind' }, payload_schema: SCHEMA }],
]);
const SECRETS: Record<string, string> = {
  gh: 'gh-secret-for-tests',
  sl: 'slack-signing-secret',
  st: 'whsec_stripe_test_secret',
  sw: `whsec_${Buffer.from('a-32-byte-secret-for-the-tests!!').toString('base64')}`,
};
const CAP = 4096;
const stripe = new Stripe('sk_test_unused');

type Scheme = 'gh' | 'sl' | 'st' | 'sw';

/** Headers that sign `payload` under the provider's scheme, at `seconds` (Unix time). */
async function signed(provider: Scheme, payload: string, id: string, seconds = Math.floor(Date.now() / 1000), secret = SECRETS[provider]!): Promise<Record<string, string>> {
  switch (provider) {
    case 'gh':
      return { 'x-hub-signature-256': await signGithub(secret, payload), 'x-github-delivery': id, 'x-github-event': 'issues' };
    case 'sl':
      return { 'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${seconds}:${payload}`).digest('hex')}`, 'x-slack-request-timestamp': String(seconds) };
    case 'st':
      return { 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: seconds }) };
    case 'sw':
      return { 'webhook-id': id, 'webhook-timestamp': String(seconds), 'webhook-signature': new Webhook(secret).sign(id, new Date(seconds * 1000), payload) };
  }
}

/** The headers that carry the signature itself (dropped for the "missing" case). */
const SIGNATURE_HEADER: Record<Scheme, string> = { gh: 'x-hub-signature-256', sl: 'x-slack-signature', st: 'stripe-signature', sw: 'webhook-signature' };

interface Reply { status: number; body: Record<string, unknown> }

function post(server: Server, path: string, body: string | Buffer, headers: Record<string, string>, options: { chunked?: boolean } = {}): Promise<Reply> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close the connection after answering 413 while we still write.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') return;
      reject(error);
    });
    if (options.chunked) {
      // No Content-Length: the size is only known by counting.
      const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body);
      for (let i = 0; i < buffer.length; i += 1024) req.write(buffer.subarray(i, i + 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

function listen(store: SqlStore, counter?: { reads: number }): Promise<Server> {
  const handler = webhookHandler({
    store,
    declarations: DECLARATIONS,
    secretFor: async (tenant, provider) => {
      if (counter) counter.reads++;
      return tenant === 'acme' ? SECRETS[provider] : undefined;
    },
    maxBodyBytes: CAP,
  });
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describeStores('webhook receiver', (backend) => {
  let db: TestDb;
  let store: SqlStore;
  let server: Server;
  const secretReads = { reads: 0 };
  let n = 0;
  const payloadFor = (kind = 'issue.opened') => {
    const id = `evt_${++n}_${Date.now()}`;
    return { id, text: JSON.stringify({ id, kind }) };
  };

  beforeAll(async () => {
    db = await backend.open();
    store = await db.connect();
    server = await listen(store, secretReads);
  });
  afterAll(async () => {
    await close(server);
    await db.dispose();
  });

  for (const provider of ['gh', 'sl', 'st', 'sw'] as const) {
    describe(`scheme ${DECLARATIONS.get(provider)!.scheme}`, () => {
      it('queues a verified event for review once; a replayed delivery answers 200 and changes nothing', async () => {
        const { id, text } = payloadFor();
        const headers = await signed(provider, text, id);
        const first = await post(server, `/webhooks/acme/${provider}`, text, headers);
        expect(first).toMatchObject({ status: 202, body: { ok: true, event_id: id } });
        const reviews = await store.listReviews({ tenant: 'acme' });
        const mine = reviews.filter((r) => r.record_key === `event:${id}`);
        expect(mine).toHaveLength(1);
        expect(mine[0]).toMatchObject({ status: 'pending', provider, method_id: `${provider}.webhook` });
        expect(JSON.parse(mine[0]!.record_json)).toEqual({ event_id: id, event_type: provider === 'gh' ? 'issues' : 'issue.opened', payload: { id, kind: 'issue.opened' } });

        const replay = await post(server, `/webhooks/acme/${provider}`, text, headers);
        expect(replay).toMatchObject({ status: 200, body: { ok: true, duplicate: true } });
        const after = await store.listReviews({ tenant: 'acme' });
        expect(after).toEqual(reviews);
      });

      it('refuses a bad signature (401) and a missing one (400), queueing nothing', async () => {
        const { id, text } = payloadFor();
        const wrong = await signed(provider, text, id, undefined, provider === 'sw' ? `whsec_${Buffer.from('another-32-byte-secret-for-tests').toString('base64')}` : 'not-the-secret');
        const before = (await store.listReviews({ tenant: 'acme' })).length;
        expect((await post(server, `/webhooks/acme/${provider}`, text, wrong)).status).toBe(401);
        // The right signature over other bytes is as bad as a wrong secret.
        const tampered = await signed(provider, text, id);
        expect((await post(server, `/webhooks/acme/${provider}`, text.replace('issue.opened', 'issue.closed'), tampered)).status).toBe(401);
        const missing = { ...(await signed(provider, text, id)) };
        delete missing[SIGNATURE_HEADER[provider]];
        expect((await post(server, `/webhooks/acme/${provider}`, text, missing)).status).toBe(400);
        expect((await store.listReviews({ tenant: 'acme' })).length).toBe(before);
        const rejected = await store.listAudit({ tenant: 'acme', action: 'webhook.rejected' });
        const log = JSON.stringify(rejected);
        expect(log).not.toContain(SECRETS[provider]!);
        expect(log).not.toContain(text);
      });

      if (provider !== 'gh') {
        it('refuses a stale timestamp (401): a captured delivery cannot be replayed later under a new id', async () => {
          const { id, text } = payloadFor();
          const old = Math.floor(Date.now() / 1000) - 3600;
          const reply = await post(server, `/webhooks/acme/${provider}`, text, await signed(provider, text, id, old));
          expect(reply.status).toBe(401);
          expect(String(reply.body['error'])).toContain('stale');
        });
      }

      it('refuses an oversize body with 413 before reading or verifying it, by Content-Length and by counting', async () => {
        const big = JSON.stringify({ id: 'big', kind: 'x'.repeat(CAP) });
        const headers = await signed(provider, big, 'big');
        const reads = secretReads.reads;
        const declared = await post(server, `/webhooks/acme/${provider}`, big, headers);
        expect(declared.status).toBe(413);
        const streamed = await post(server, `/webhooks/acme/${provider}`, big, headers, { chunked: true });
        expect(streamed.status).toBe(413);
        // The secret was never looked up: nothing past the size check ran.
        expect(secretReads.reads).toBe(reads);
        expect((await store.listReviews({ tenant: 'acme' })).some((r) => r.record_key === 'event:big')).toBe(false);
      });
    });
  }

  it('refuses a verified payload that breaks the declared schema (400), and paths with invalid names (404)', async () => {
    const text = JSON.stringify({ id: 'no-kind' });
    expect((await post(server, '/webhooks/acme/gh', text, await signed('gh', text, 'no-kind'))).status).toBe(400);
    expect((await post(server, '/webhooks/..%2Facme/gh', '{}', {})).status).toBe(404);
    expect((await post(server, '/webhooks/acme/unknown', '{}', {})).status).toBe(404);
    expect((await post(server, '/webhooks/other/gh', text, await signed('gh', text, 'x'))).status).toBe(401);
  });

  it('audits acceptance and rejection without the body or the secret; the chain verifies', async () => {
    const entries = await store.listAudit({ tenant: 'acme' });
    expect(entries.some((e) => e.action === 'webhook.received')).toBe(true);
    expect(entries.some((e) => e.action === 'webhook.rejected')).toBe(true);
    const log = JSON.stringify(entries);
    for (const secret of Object.values(SECRETS)) expect(log).not.toContain(secret);
    expect(log).not.toContain('"payload"');
    expect(await store.verifyAudit('acme')).toMatchObject({ ok: true });
  });

  it('two receivers on one store queue a delivery sent to both at once exactly once', async () => {
    const other = await listen(await db.connect());
    try {
      const { id, text } = payloadFor();
      const headers = await signed('sw', text, id);
      const replies = await Promise.all([post(server, '/webhooks/acme/sw', text, headers), post(other, '/webhooks/acme/sw', text, headers), post(other, '/webhooks/acme/sw', text, headers)]);
      const statuses = replies.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 202)).toHaveLength(1);
      expect(statuses.every((s) => s === 202 || s === 200 || s === 409)).toBe(true);
      expect((await store.listReviews({ tenant: 'acme' })).filter((r) => r.record_key === `event:${id}`)).toHaveLength(1);
    } finally {
      await close(other);
    }
  });
});
