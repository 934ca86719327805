import { sign as signGithub } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { verifySignature } from '../src/inbound/signatures.ts';

/**
 * The four webhook signature schemes, checked against signatures that the providers' own
 * libraries produce (GitHub's @octokit/webhooks-methods, Stripe's SDK, Standard Webhooks'
 * reference library) and the providers' documented test vectors (GitHub, Slack).
 */
const body = (text: string) => Buffer.from(text, 'utf8');

describe('github: X-Hub-Signature-256', () => {
  it("accepts GitHub's documented test vector and octokit's signatures", async () => {
    const vector = { 'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17', 'x-github-delivery': 'd-1' };
    expect(await verifySignature('github', { headers: vector, body: body('Hello, World!'), secret: "It's a Secret to Everybody" })).toEqual({ ok: true, deliveryId: 'd-1' });
    const payload = '{"action":"opened","issue":{"number":1}}';
    const signature = await signGithub('s3cret', payload);
    expect(await verifySignature('github', { headers: { 'x-hub-signature-256': signature }, body: body(payload), secret: 's3cret' })).toMatchObject({ ok: true });
  });

  it('refuses a bad, missing or malformed signature, and a body that is not what was signed', async () => {
    const payload = '{"a":1}';
    const signature = await signGithub('s3cret', payload);
    expect(await verifySignature('github', { headers: { 'x-hub-signature-256': signature }, body: body('{"a":2}'), secret: 's3cret' })).toMatchObject({ ok: false, failure: 'mismatch' });
    expect(await verifySignature('github', { headers: { 'x-hub-signature-256': signature }, body: body(payload), secret: 'other' })).toMatchObject({ ok: false, failure: 'mismatch' });
    expect(await verifySignature('github', { headers: {}, body: body(payload), secret: 's3cret' })).toMatchObject({ ok: false, failure: 'missing' });
    expect(await verifySignature('github', { headers: { 'x-hub-signature-256': 'sha256=abc' }, body: body(payload), secret: 's3cret' })).toMatchObject({ ok: false, failure: 'malformed' });
    expect(await verifySignature('github', { headers: { 'x-hub-signature-256': `${signature}00` }, body: body(payload), secret: 's3cret' })).toMatchObject({ ok: false, failure: 'malformed' });
  });
});

describe('slack: v0 signatures with a timestamp', () => {
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const payload = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  const headers = { 'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503', 'x-slack-request-timestamp': '1531420618' };

  it("accepts Slack's documented example within the replay window", async () => {
    expect(await verifySignature('slack', { headers, body: body(payload), secret, now: 1531420618_000 + 60_000 })).toMatchObject({ ok: true });
  });

  it('refuses it when stale, altered, or signed with another secret', async () => {
    expect(await verifySignature('slack', { headers, body: body(payload), secret, now: 1531420618_000 + 301_000 })).toMatchObject({ ok: false, failure: 'stale' });
    expect(await verifySignature('slack', { headers, body: body(`${payload}x`), secret, now: 1531420618_000 })).toMatchObject({ ok: false, failure: 'mismatch' });
    expect(await verifySignature('slack', { headers, body: body(payload), secret: 'x', now: 1531420618_000 })).toMatchObject({ ok: false, failure: 'mismatch' });
    expect(await verifySignature('slack', { headers: { 'x-slack-signature': headers['x-slack-signature'] }, body: body(payload), secret })).toMatchObject({ ok: false, failure: 'missing' });
  });
});

describe("stripe: t=,v1= signatures made by Stripe's SDK", () => {
  const stripe = new Stripe('sk_test_unused');
  const secret = 'whsec_test_secret';
  const payload = JSON.stringify({ id: 'evt_1', type: 'invoice.paid' });

  it('accepts a signature from stripe.webhooks.generateTestHeaderString, also next to a rotated one', async () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
    expect(await verifySignature('stripe', { headers: { 'stripe-signature': header }, body: body(payload), secret })).toMatchObject({ ok: true });
    const rotated = `${header},v1=${'0'.repeat(64)}`;
    expect(await verifySignature('stripe', { headers: { 'stripe-signature': rotated }, body: body(payload), secret })).toMatchObject({ ok: true });
  });

  it('refuses a stale timestamp, another secret, and a header without v1', async () => {
    const old = stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(await verifySignature('stripe', { headers: { 'stripe-signature': old }, body: body(payload), secret })).toMatchObject({ ok: false, failure: 'stale' });
    const other = stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_other', timestamp: Math.floor(Date.now() / 1000) });
    expect(await verifySignature('stripe', { headers: { 'stripe-signature': other }, body: body(payload), secret })).toMatchObject({ ok: false, failure: 'mismatch' });
    expect(await verifySignature('stripe', { headers: { 'stripe-signature': 't=1' }, body: body(payload), secret })).toMatchObject({ ok: false, failure: 'malformed' });
  });
});

describe('standard: Standard Webhooks made by its reference library', () => {
  const secret = `whsec_${Buffer.from('a-32-byte-secret-for-the-tests!!').toString('base64')}`;
  const payload = '{"type":"incident.created","id":"inc_1"}';

  it('accepts a signature from Webhook.sign and reports the message id', async () => {
    // One clock reading for the signature and the header: two could fall either side of a second.
    const now = new Date();
    const signature = new Webhook(secret).sign('msg_1', now, payload);
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signature };
    expect(await verifySignature('standard', { headers, body: body(payload), secret })).toEqual({ ok: true, deliveryId: 'msg_1' });
  });

  it('refuses a stale timestamp, an altered body and a missing header', async () => {
    const then = new Date(Date.now() - 3600_000);
    const stale = { 'webhook-id': 'msg_2', 'webhook-timestamp': String(Math.floor(then.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign('msg_2', then, payload) };
    expect(await verifySignature('standard', { headers: stale, body: body(payload), secret })).toMatchObject({ ok: false, failure: 'stale' });
    const now = new Date();
    const fresh = { 'webhook-id': 'msg_3', 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign('msg_3', now, payload) };
    expect(await verifySignature('standard', { headers: fresh, body: body(`${payload} `), secret })).toMatchObject({ ok: false, failure: 'mismatch' });
    expect(await verifySignature('standard', { headers: { 'webhook-id': 'x' }, body: body(payload), secret })).toMatchObject({ ok: false, failure: 'missing' });
  });
});
