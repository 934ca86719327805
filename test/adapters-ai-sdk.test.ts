/**
 * The Vercel AI SDK adapter in a full agent loop: the SDK's own mock language model calls a
 * read, an import and an outbound write through `generateText`, the write waits for the SDK's
 * tool approval, and the approved write is sent to the loopback Slack server.
 */
import { generateText, stepCountIs, type ModelMessage } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aiSdkTools } from '../src/adapters/index.ts';
import { decideReview } from '../src/state/reviews.ts';
import { expectNoToken, startAgentWorkspace, TENANT, type AgentWorkspace } from './helpers/agents.ts';

let ws: AgentWorkspace;
beforeAll(async () => {
  ws = await startAgentWorkspace();
});
afterAll(async () => ws?.stop());

const usage = { inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 5, text: 5, reasoning: undefined } };
const call = (id: string, toolName: string, input: unknown) => ({
  content: [{ type: 'tool-call' as const, toolCallId: id, toolName, input: JSON.stringify(input) }],
  finishReason: { unified: 'tool-calls' as const, raw: undefined },
  usage,
  warnings: [],
});
const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }], finishReason: { unified: 'stop' as const, raw: undefined }, usage, warnings: [] });

describe('aiSdkTools', () => {
  it('runs a read, an import and an approved outbound write in one agent loop with the SDK mock model', async () => {
    const { runtime, store } = await ws.load('sales_digest');
    const tools = {
      ...(await aiSdkTools(runtime, { expert: 'pipeline_analyst', tenant: TENANT })),
      ...(await aiSdkTools(runtime, { expert: 'digest_editor', tenant: TENANT, approver: 'dana' })),
    };
    expect(Object.keys(tools).sort()).toEqual(['crm', 'imported_records', 'mock_data', 'notify']);
    const message = { channel: 'C0100000002', text: 'Weekly pipeline digest: 3 deals moved.' };
    const script = [
      call('c1', 'crm', { op: 'call', args: { method_id: 'hubspot.deals.list.v1', params: { limit: 2 } } }),
      call('c2', 'crm', { op: 'call', args: { method_id: 'hubspot.deals.import.v1', params: { since: '2024-05-15T00:00:00Z', limit: 2 } } }),
      call('c3', 'notify', { op: 'call', args: { method_id: 'slack.chat.post_message.v1', params: message } }),
      text('Posted the digest.'),
    ];
    let step = 0;
    const model = new MockLanguageModelV3({ doGenerate: async () => script[step++]! });

    const messages: ModelMessage[] = [{ role: 'user', content: 'Prepare and post the weekly digest.' }];
    const first = await generateText({ model, tools, messages, stopWhen: stepCountIs(10) });
    // The read ran; the import answered REVIEW_REQUIRED; the write stopped the loop for approval.
    const results = first.steps.flatMap((s) => s.toolResults);
    expect(results.map((r) => r.toolName)).toEqual(['crm', 'crm']);
    const read = results[0]!.output as { ok: boolean; data: { deals: unknown[] } };
    expect(read.ok).toBe(true);
    expect(read.data.deals).toHaveLength(2);
    const imported = results[1]!.output as { ok: boolean; error: { code: string }; meta: { review: { batch_id: string } } };
    expect(imported.error.code).toBe('REVIEW_REQUIRED');
    const approvals = first.content.filter((p) => p.type === 'tool-approval-request');
    expect(approvals).toHaveLength(1);
    expect(ws.slack.posted).toHaveLength(0);

    // The person approves in the host; the next run executes the approved write.
    messages.push(...first.response.messages);
    messages.push({ role: 'tool', content: [{ type: 'tool-approval-response', approvalId: approvals[0]!.approvalId, approved: true }] });
    const second = await generateText({ model, tools, messages, stopWhen: stepCountIs(10) });
    expect(second.text).toBe('Posted the digest.');
    expect(ws.slack.posted).toEqual([expect.objectContaining({ channel: message.channel, text: message.text })]);
    expectNoToken(first);
    expectNoToken(second);
    expectNoToken(messages);

    // Only after review do the imported records reach the model, through imported_records.
    const batch = imported.meta.review.batch_id;
    const pendingReview = (await tools['imported_records']!.execute!({ batch_id: batch }, { toolCallId: 'r1', messages: [] })) as { ok: boolean; error: { code: string } };
    expect(pendingReview.error.code).toBe('REVIEW_REQUIRED');
    for (const item of await store.listReviews({ tenant: TENANT, batch_id: batch })) {
      await decideReview(store, { tenant: TENANT, id: item.id, decision: 'approved', reviewer: 'dana' });
    }
    const reviewed = (await tools['imported_records']!.execute!({ batch_id: batch }, { toolCallId: 'r2', messages: [] })) as { ok: boolean; data: { records: unknown[] } };
    expect(reviewed.ok).toBe(true);
    expect(reviewed.data.records).toHaveLength(2);
  });

  it('sends nothing when the person denies the write', async () => {
    const { runtime } = await ws.load('sales_digest');
    const tools = await aiSdkTools(runtime, { expert: 'digest_editor', tenant: TENANT, approver: 'dana' });
    const script = [call('d1', 'notify', { op: 'call', args: { method_id: 'slack.chat.post_message.v1', params: { channel: 'C0100000002', text: 'no' } } }), text('Not sent.')];
    let step = 0;
    const model = new MockLanguageModelV3({ doGenerate: async () => script[step++]! });
    const messages: ModelMessage[] = [{ role: 'user', content: 'Post it.' }];
    const before = ws.slack.posted.length;
    const first = await generateText({ model, tools, messages });
    const approval = first.content.find((p) => p.type === 'tool-approval-request')!;
    messages.push(...first.response.messages, { role: 'tool', content: [{ type: 'tool-approval-response', approvalId: approval.approvalId, approved: false }] });
    await generateText({ model, tools, messages });
    expect(ws.slack.posted.length).toBe(before);
  });
});
