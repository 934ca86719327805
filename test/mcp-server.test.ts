/**
 * `mcpServer(runtime, opts)` in process, connected to the official client over the SDK's
 * in-memory transport (a 2025-era session): the SDK turns botc's approval request into an
 * `elicitation/create` to the client, and a client without elicitation gets the out-of-band
 * answer.
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError, mcpServer } from '../src/adapters/index.ts';
import type { Runtime } from '../src/runtime/runtime.ts';
import { expectNoToken, startAgentWorkspace, TENANT, type AgentWorkspace } from './helpers/agents.ts';

let ws: AgentWorkspace;
let runtime: Runtime;
beforeAll(async () => {
  ws = await startAgentWorkspace();
  runtime = (await ws.load('support_triage')).runtime;
});
afterAll(async () => ws?.stop());

const WRITE = { op: 'call', args: { method_id: 'slack.chat.post_message.v1', params: { channel: 'C0100000002', text: 'in memory' } } };

async function pair(elicit: boolean): Promise<{ client: Client; asked: unknown[] }> {
  const server = mcpServer(runtime, { expert: 'escalation', tenant: TENANT, approver: 'alice' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 't', version: '1' }, elicit ? { capabilities: { elicitation: { form: {} } } } : {});
  const asked: unknown[] = [];
  if (elicit) {
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(request.params);
      return { action: 'accept', content: { approve: true } };
    });
  }
  await client.connect(clientSide);
  return { client, asked };
}

describe('mcpServer', () => {
  it('asks a 2025-era client through elicitation/create and sends the approved write', async () => {
    const { client, asked } = await pair(true);
    const before = ws.slack.posted.length;
    const result = await client.callTool({ name: 'notify', arguments: WRITE });
    expect(asked).toHaveLength(1);
    expect(result.structuredContent).toMatchObject({ delivered: true });
    expect(ws.slack.posted.length).toBe(before + 1);
    expectNoToken([result, asked]);
    await client.close();
  });

  it('answers a client without elicitation with CONFIRMATION_REQUIRED and no token, and sends nothing', async () => {
    const { client } = await pair(false);
    const before = ws.slack.posted.length;
    const result = await client.callTool({ name: 'notify', arguments: WRITE });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ code: 'CONFIRMATION_REQUIRED' });
    expect(ws.slack.posted.length).toBe(before);
    expectNoToken(result);
    await client.close();
  });

  it('refuses an unknown expert when it is created', () => {
    expect(() => mcpServer(runtime, { expert: 'nobody', tenant: TENANT })).toThrow(AdapterError);
  });
});
