/**
 * `botc serve mcp` over stateless Streamable HTTP, in process, with the official MCP client SDK:
 * tools with annotations, structured results and errors, the expert prompt, confirmation through
 * elicitation (modern protocol) or out of band (2025 clients), and the Host/Origin/bearer checks.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcpHttpHandler, type McpHttpOptions } from '../src/adapters/index.ts';
import { listenMcpHttp } from '../src/cli/serve.ts';
import type { Runtime } from '../src/runtime/runtime.ts';
import type { MemoryStore } from '../src/state/memory.ts';
import { expectNoToken, startAgentWorkspace, TENANT, type AgentWorkspace } from './helpers/agents.ts';
import { GITHUB_OWNER, GITHUB_REPO } from './servers/github.ts';

let ws: AgentWorkspace;
let runtime: Runtime;
let store: MemoryStore;
const servers: Server[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  ws = await startAgentWorkspace();
  ({ runtime, store } = await ws.load('support_triage'));
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await ws?.stop();
});

async function serve(options: Partial<McpHttpOptions> = {}): Promise<string> {
  const server = await listenMcpHttp(mcpHttpHandler(runtime, { expert: 'escalation', tenant: TENANT, approver: 'alice', ...options }), '127.0.0.1', 0);
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

/** A client; `modern` negotiates the 2026-07-28 revision (per-request state, in-band elicitation). */
async function connect(url: string, options: { modern?: boolean; approve?: boolean | 'none'; headers?: Record<string, string> } = {}): Promise<{ client: Client; asked: string[] }> {
  const asked: string[] = [];
  const elicits = options.approve !== undefined && options.approve !== 'none';
  const client = new Client(
    { name: 'botc-test', version: '1.0.0' },
    {
      ...(elicits ? { capabilities: { elicitation: { form: {} } } } : {}),
      ...(options.modern ? { versionNegotiation: { mode: 'auto' as const } } : {}),
    },
  );
  if (elicits) {
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(JSON.stringify(request.params));
      return options.approve === true ? { action: 'accept', content: { approve: true } } : { action: 'decline' };
    });
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(url), options.headers ? { requestInit: { headers: options.headers } } : {}));
  clients.push(client);
  return { client, asked };
}

const POST = { channel: 'C0100000002', text: ':rotating_light: sev1: webhooks time out' };
const postArgs = (params: Record<string, unknown> = POST) => ({ op: 'call', args: { method_id: 'slack.chat.post_message.v1', params } });

describe('MCP over Streamable HTTP', () => {
  it('lists the expert tools with annotations from the bundle, and the prompt as instructions and as a prompt', async () => {
    const { client } = await connect(await serve());
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['issues', 'pulls', 'status', 'notify']);
    const issues = tools.find((t) => t.name === 'issues')!;
    expect(issues.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true });
    expect(tools.find((t) => t.name === 'notify')!.annotations).toMatchObject({ readOnlyHint: false });
    const escalation = runtime.bundle.experts.find((e) => e.name === 'escalation')!;
    expect(client.getInstructions()).toBe(escalation.system_prompt);
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(['escalation']);
    const prompt = await client.getPrompt({ name: 'escalation' });
    expect(prompt.messages[0]!.content).toEqual({ type: 'text', text: escalation.system_prompt });
  });

  it('answers a read with structuredContent, and an error as isError with {code, message, retriable}', async () => {
    const { client } = await connect(await serve());
    const read = await client.callTool({ name: 'issues', arguments: { op: 'call', args: { method_id: 'github.issues.get.v1', params: { owner: GITHUB_OWNER, repo: GITHUB_REPO, number: 4 } } } });
    expect(read.isError).toBeFalsy();
    expect(read.structuredContent).toMatchObject({ issue: { number: 4, title: 'SSO login loops on Safari' } });
    const bad = await client.callTool({ name: 'issues', arguments: { op: 'call', args: { method_id: 'github.issues.get.v1', params: { owner: GITHUB_OWNER } } } });
    expect(bad.isError).toBe(true);
    expect(bad.structuredContent).toEqual({ code: 'VALIDATION_FAILED', message: expect.stringContaining('params do not match'), retriable: false });
  });

  it('accepts the nulls of an OpenAI strict-mode call and maps them back before validation', async () => {
    const { client } = await connect(await serve());
    const strictCall = { op: 'call', args: { method_id: 'github.issues.get.v1', params: { owner: GITHUB_OWNER, repo: GITHUB_REPO, number: 4 }, cursor: null, dry_run: null, idempotency_key: null } };
    const read = await client.callTool({ name: 'issues', arguments: strictCall });
    expect(read.isError).toBeFalsy();
    expect(read.structuredContent).toMatchObject({ issue: { number: 4 } });
  });

  it('gives methods-style tools an outputSchema that their structuredContent follows', async () => {
    const { client } = await connect(await serve({ style: 'methods' }));
    const { tools } = await client.listTools();
    const get = tools.find((t) => t.name === 'issues__github_issues_get_v1')!;
    expect(get.outputSchema).toMatchObject({ type: 'object' });
    expect(get.annotations).toMatchObject({ readOnlyHint: true });
    const read = await client.callTool({ name: get.name, arguments: { owner: GITHUB_OWNER, repo: GITHUB_REPO, number: 4 } });
    expect(read.structuredContent).toMatchObject({ issue: { number: 4 } });
  });

  it('asks the person through elicitation and sends the write once accepted; the token never reaches the client', async () => {
    const { client, asked } = await connect(await serve(), { modern: true, approve: true });
    const before = ws.slack.posted.length;
    const result = await client.callTool({ name: 'notify', arguments: postArgs() });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain(POST.text);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ delivered: true, channel: POST.channel });
    expect(ws.slack.posted.length).toBe(before + 1);
    expectNoToken(result);
    expectNoToken(asked);
  });

  it('without a named approver, on a deployment that lets any person approve, leaves the confirmation to any person of the tenant and records the in-band approval as mcp-client', async () => {
    const { runtime: own, store } = await ws.load('support_triage', { any_approver: true });
    const server = await listenMcpHttp(mcpHttpHandler(own, { expert: 'escalation', tenant: TENANT }), '127.0.0.1', 0);
    servers.push(server);
    const { client } = await connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, { modern: true, approve: true });
    const result = await client.callTool({ name: 'notify', arguments: postArgs() });
    expect(result.structuredContent).toMatchObject({ delivered: true });
    const audit = await store.listAudit({ tenant: TENANT });
    expect(audit.find((e) => e.action === 'confirmation.created')?.detail).toMatchObject({ approver: '*' });
    expect(audit.find((e) => e.action === 'confirmation.used')?.actor).toBe('user:mcp-client');
  });

  it('sends nothing when the person declines the elicitation', async () => {
    const { client } = await connect(await serve(), { modern: true, approve: false });
    const before = ws.slack.posted.length;
    const result = await client.callTool({ name: 'notify', arguments: postArgs() });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ code: 'CONFIRMATION_REQUIRED', message: expect.stringContaining('did not approve') });
    expect(ws.slack.posted.length).toBe(before);
    // The person's "no" is recorded: the confirmation is rejected and cannot be approved later.
    const [declined] = (await store.listConfirmations({ tenant: TENANT, now: Date.now() })).filter((c) => c.status === 'rejected');
    expect(declined).toMatchObject({ decided_by: 'alice', reason: 'declined through MCP elicitation' });
    expect((await runtime.confirmById({ id: declined!.id, tenant: TENANT, approver: 'alice' })).ok).toBe(false);
    expect(ws.slack.posted.length).toBe(before);
  });

  it('answers CONFIRMATION_REQUIRED without the token to a client that cannot elicit, naming the out-of-band approval', async () => {
    const { client } = await connect(await serve(), { approve: 'none' });
    const before = ws.slack.posted.length;
    const result = await client.callTool({ name: 'notify', arguments: postArgs() });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ code: 'CONFIRMATION_REQUIRED', retriable: false, message: expect.stringContaining('botc confirm approve') });
    expect(JSON.stringify(result.content)).toContain(POST.text);
    expect(ws.slack.posted.length).toBe(before);
    expectNoToken(result);
  });

  it('refuses a requestState that was not signed by the server', async () => {
    const url = await serve();
    const { client } = await connect(url, { modern: true, approve: true });
    // A forged state (a made-up handle) fails the HMAC check before the handler runs.
    const forged = await client.callTool({ name: 'notify', arguments: postArgs(), requestState: 'v1.eyJwIjp7ImgiOiJ4IiwiZiI6Im5vdGlmeSJ9fQ.AAAA', inputResponses: { approve: { action: 'accept', content: { approve: true } } } } as never).catch((error: Error) => error);
    expect(String(forged instanceof Error ? forged.message : JSON.stringify(forged))).toMatch(/requestState|Invalid/i);
  });

  it('refuses a Host header that names another host, and a foreign Origin (DNS rebinding)', async () => {
    const url = await serve();
    const init = (headers: Record<string, string>) => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    const port = new URL(url).port;
    const { request } = await import('node:http');
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const { body, ...rest } = init(headers);
        const req = request(url, { ...rest }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await status({ host: `evil.example:${port}` })).toBe(403);
    expect(await status({ origin: 'https://evil.example' })).toBe(403);
  });

  it('requires the bearer token when one is configured', async () => {
    const url = await serve({ bearerToken: 'a-long-test-token-0123456789' });
    const refused = await connect(url).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(Error);
    const { client } = await connect(url, { headers: { authorization: 'Bearer a-long-test-token-0123456789' } });
    expect((await client.listTools()).tools.length).toBe(4);
  });
});
