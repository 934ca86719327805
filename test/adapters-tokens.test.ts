/**
 * `forModel`, the filter every adapter passes results through: a model never sees a
 * confirmation token. (Each adapter's own test also scans everything it hands a model or client
 * for the token prefix: adapters-ai-sdk, adapters-openai-agents, mcp-http, mcp-stdio.)
 */
import { describe, expect, it } from 'vitest';
import { CONFIRMATION_TOKEN_PREFIX, forModel } from '../src/adapters/index.ts';
import type { IntegrationResult } from '../src/integration/types.ts';
import { afterAll, beforeAll } from 'vitest';
import { AdapterError, ExpertBridge } from '../src/adapters/core.ts';
import { expectNoToken, startAgentWorkspace, TENANT, type AgentWorkspace } from './helpers/agents.ts';

const TOKEN = `${CONFIRMATION_TOKEN_PREFIX}abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG`;

function pending(): IntegrationResult {
  return {
    ok: false,
    error: { code: 'CONFIRMATION_REQUIRED', message: `confirm it (token ${TOKEN})`, provider_code: null, http_status: null, retriable: false },
    meta: {
      provider_request_id: null,
      latency_ms: 1,
      next_cursor: null,
      rate_limit_remaining: null,
      cost_units: null,
      provenance: { source_type: 'slack', source_ref: null },
      confirmation: { token: TOKEN, id: 'cnf_123', approver: 'alice', expires_at: '2026-01-01T00:00:00.000Z', preview: { text: 'hi' }, preview_sha256: 'ab' },
    },
  };
}

describe('forModel', () => {
  it('removes the token and keeps the preview, approver, expiry and public id; the input is unchanged', () => {
    const input = pending();
    const out = forModel(input);
    expect(out.meta['confirmation']).toEqual({ id: 'cnf_123', approver: 'alice', expires_at: '2026-01-01T00:00:00.000Z', preview: { text: 'hi' }, preview_sha256: 'ab' });
    expectNoToken(out);
    expect((input.meta['confirmation'] as { token: string }).token).toBe(TOKEN);
  });

  it('redacts a token that appears anywhere else in the result', () => {
    const out = forModel(pending());
    expect(out.ok).toBe(false);
    expect(!out.ok && out.error.message).toContain('[redacted confirmation token]');
    expectNoToken(out);
  });
});

describe('the adapters’ bridge', () => {
  let ws: AgentWorkspace;
  beforeAll(async () => {
    ws = await startAgentWorkspace();
  });
  afterAll(async () => ws?.stop());

  it('needs approval only for outbound writes that are not dry runs', async () => {
    const { runtime } = await ws.load('support_triage');
    const bridge = new ExpertBridge(runtime, { expert: 'escalation', tenant: TENANT, approver: 'alice' }, 'host');
    const post = { method_id: 'slack.chat.post_message.v1', params: { channel: 'C0100000002', text: 'x' } };
    expect(bridge.needsApproval('notify', { op: 'call', args: post })).toBe(true);
    expect(bridge.needsApproval('notify', { op: 'call', args: { ...post, dry_run: true } })).toBe(false);
    expect(bridge.needsApproval('notify', { op: 'call', args: { method_id: 'slack.channels.list.v1', params: {} } })).toBe(false);
    expect(bridge.needsApproval('issues', { op: 'help' })).toBe(false);
    // The raw runtime result holds the token; what the adapters hand out does not.
    const raw = await bridge.run('notify', { op: 'call', args: post });
    expect(JSON.stringify(raw)).toContain(CONFIRMATION_TOKEN_PREFIX);
    expectNoToken(forModel(raw));
    expect(ws.slack.posted).toHaveLength(0);
  });

  it('refuses, when created, an expert that can write with no approver unless the deployment lets any person approve', async () => {
    const { runtime } = await ws.load('support_triage');
    expect(() => new ExpertBridge(runtime, { expert: 'escalation', tenant: TENANT }, 'host')).toThrow(AdapterError);
    expect(() => new ExpertBridge(runtime, { expert: 'escalation', tenant: TENANT }, 'host')).toThrow(/slack\.chat\.post_message\.v1.*`approver`.*any_approver/);
    const { runtime: open } = await ws.load('support_triage', { any_approver: true });
    const bridge = new ExpertBridge(open, { expert: 'escalation', tenant: TENANT }, 'host');
    const raw = await bridge.run('notify', { op: 'call', args: { method_id: 'slack.chat.post_message.v1', params: { channel: 'C0100000002', text: 'x' } } });
    expect(!raw.ok && raw.error.code).toBe('CONFIRMATION_REQUIRED');
    expect((raw.meta['confirmation'] as { approver: string }).approver).toBe('*');
  });
});
