/**
 * The OpenAI Agents SDK adapter, offline, with the SDK's own scripted model
 * (`@openai/agents-core/testing`): a read, an import, and an outbound write that interrupts the
 * run, is approved on the run state, and is sent when the run resumes.
 */
import { Agent, run, setTracingDisabled } from '@openai/agents';
import { functionCall, ScriptedModel, assistantMessage } from '@openai/agents-core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiAgentsTools } from '../src/adapters/index.ts';
import { expectNoToken, startAgentWorkspace, TENANT, type AgentWorkspace } from './helpers/agents.ts';

let ws: AgentWorkspace;
beforeAll(async () => {
  setTracingDisabled(true);
  ws = await startAgentWorkspace();
});
afterAll(async () => ws?.stop());

/** The text outputs of every function call the run fed back to the model. */
function outputs(items: readonly unknown[]): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  for (const item of items as { type?: string; rawItem?: { type?: string; callId?: string; output?: unknown } }[]) {
    const raw = item.rawItem;
    if (raw?.type !== 'function_call_result' || !raw.callId) continue;
    const output = raw.output as { type?: string; text?: string } | string;
    const text = typeof output === 'string' ? output : output?.text ?? '';
    found[raw.callId] = JSON.parse(text);
  }
  return found;
}

describe('openaiAgentsTools', () => {
  it('runs a read and an import, interrupts an outbound write, and sends it once approved (methods style, strict nulls)', async () => {
    const { runtime } = await ws.load('sales_digest');
    const tools = [
      ...(await openaiAgentsTools(runtime, { expert: 'pipeline_analyst', tenant: TENANT, style: 'methods' })),
      ...(await openaiAgentsTools(runtime, { expert: 'digest_editor', tenant: TENANT, approver: 'dana', style: 'methods' })),
    ];
    const byName = new Map(tools.map((t) => [t.name, t]));
    // Strict mode where the schema allows it: every property required, optional ones nullable.
    const post = byName.get('notify__slack_chat_post_message_v1')!;
    expect(post.strict).toBe(true);
    expect((post.parameters as { required: string[] }).required.sort()).toEqual(['channel', 'text', 'thread_ts', 'unfurl_links']);

    const message = { channel: 'C0100000002', text: 'Digest: pipeline up 4%.', thread_ts: null, unfurl_links: null };
    const model = new ScriptedModel([
      [
        functionCall('crm__hubspot_deals_list_v1', { limit: 2, archived: null }, { callId: 'read' }),
        functionCall('crm__hubspot_deals_import_v1', { since: '2024-05-15T00:00:00Z', limit: null }, { callId: 'import' }),
        functionCall('notify__slack_chat_post_message_v1', message, { callId: 'write' }),
      ],
      [assistantMessage('Digest posted.')],
    ]);
    const agent = new Agent({ name: 'digest', instructions: runtime.bundle.experts[0]!.system_prompt, model, tools });

    const first = await run(agent, 'Post this week’s digest.');
    expect(first.interruptions).toHaveLength(1);
    expect(first.interruptions[0]!.name).toBe('notify__slack_chat_post_message_v1');
    expect(ws.slack.posted).toHaveLength(0);
    const before = outputs(first.newItems);
    expect((before['read'] as { ok: boolean; data: { deals: unknown[] } }).data.deals).toHaveLength(2);
    expect((before['import'] as { error: { code: string } }).error.code).toBe('REVIEW_REQUIRED');

    first.state.approve(first.interruptions[0]!);
    const second = await run(agent, first.state);
    expect(second.finalOutput).toBe('Digest posted.');
    expect(ws.slack.posted).toEqual([expect.objectContaining({ channel: message.channel, text: message.text })]);
    const after = outputs(second.newItems);
    expect(after['write']).toMatchObject({ ok: true, data: { delivered: true, channel: message.channel } });
    expectNoToken(first.newItems);
    expectNoToken(second.newItems);
    expectNoToken(second.history);
    model.assertComplete();
  });

  it('sends nothing when the write is rejected', async () => {
    const { runtime } = await ws.load('sales_digest');
    const tools = await openaiAgentsTools(runtime, { expert: 'digest_editor', tenant: TENANT, approver: 'dana' });
    const model = new ScriptedModel([
      [functionCall('notify', { op: 'call', args: { method_id: 'slack.chat.post_message.v1', params: { channel: 'C0100000002', text: 'no' } } }, { callId: 'w' })],
      [assistantMessage('Not sent.')],
    ]);
    const agent = new Agent({ name: 'digest', model, tools });
    const before = ws.slack.posted.length;
    const first = await run(agent, 'Post it.');
    first.state.reject(first.interruptions[0]!);
    const second = await run(agent, first.state);
    expect(second.finalOutput).toBe('Not sent.');
    expect(ws.slack.posted.length).toBe(before);
  });
});
