/**
 * A fake mail API for the `mailer` integration of test/fixtures-governance: `POST /messages`
 * stores a message, `PUT /outbox/<key>` stores a draft, `GET /messages` lists what was stored.
 * Every request that leaves the runtime lands in `requests`; what the provider really kept is
 * in `messages` and `outbox`, so a failed send can be told from a partial one.
 */
import { FakeServer, startFake, type RecordedRequest, type Reply } from './fake.ts';

export const MAILER_TOKEN = 'mail_tok_Q7vX2pL9wR4sT8yZ3nB6';

export class MailerFake extends FakeServer {
  readonly messages: { id: string; to: string; text: string }[] = [];
  readonly outbox = new Map<string, string>();

  constructor() {
    super((request, server) => route(request, server as MailerFake), { token: MAILER_TOKEN });
  }

  override reset(): void {
    super.reset();
    this.messages.length = 0;
    this.outbox.clear();
  }
}

function route(request: RecordedRequest, server: MailerFake): Reply {
  if (request.auth !== 'valid') return { status: 401, body: { message: 'bad token' } };
  if (request.method === 'POST' && request.path === '/messages') {
    const body = request.body as { to: string; text: string };
    const id = `m${server.messages.length + 1}`;
    server.messages.push({ id, to: body.to, text: body.text });
    return { status: 201, headers: { 'x-request-id': `req-${id}` }, body: { id } };
  }
  if (request.method === 'PUT' && request.path.startsWith('/outbox/')) {
    server.outbox.set(decodeURIComponent(request.path.slice('/outbox/'.length)), (request.body as { text: string }).text);
    return { status: 200, body: {} };
  }
  if (request.method === 'GET' && request.path === '/messages') return { status: 200, body: { messages: server.messages } };
  return { status: 404, body: { message: 'no such route' } };
}

export function startMailer(): Promise<MailerFake> {
  return startFake(new MailerFake());
}
