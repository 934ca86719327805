/**
 * `botc serve mcp` over stdio: the CLI (compiled lib/) spawned by the official MCP client SDK's
 * stdio transport, with provider URLs and credentials from the environment.
 */
import path from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.ts';
import { BOTC, REPO_ROOT } from './helpers/cli.ts';
import { expectNoToken, startAgentWorkspace, TENANT, type AgentWorkspace } from './helpers/agents.ts';
import { tempDir } from './helpers/workspace.ts';
import { GITHUB_OWNER, GITHUB_REPO, GITHUB_TOKEN } from './servers/github.ts';
import { SLACK_TOKEN } from './servers/slack.ts';
import { loopbackEnv } from './servers/fake.ts';

let ws: AgentWorkspace;
beforeAll(async () => {
  ws = await startAgentWorkspace();
});
afterAll(async () => ws?.stop());

function transport(extra: string[] = []): StdioClientTransport {
  return new StdioClientTransport({
    command: process.execPath,
    args: [BOTC, 'serve', 'mcp', path.join(ws.out, 'support_triage.bundle.json'), '--expert', 'escalation', '--root', REPO_ROOT, '--tenant', TENANT, '--state', path.join(tempDir('botc-mcp-state-'), 'state.db'), '--approver', 'alice', ...extra],
    env: {
      PATH: process.env.PATH ?? '',
      ...loopbackEnv('github', ws.github.baseUrl),
      ...loopbackEnv('slack', ws.slack.baseUrl),
      BOTC_CREDENTIAL_GITHUB: GITHUB_TOKEN,
      BOTC_CREDENTIAL_GITHUB_SCOPES: 'repo:read',
      BOTC_CREDENTIAL_SLACK: SLACK_TOKEN,
      BOTC_CREDENTIAL_SLACK_SCOPES: 'chat:write,channels:read',
    },
    stderr: 'pipe',
  });
}

describe('botc serve mcp over stdio', () => {
  it('serves the expert to the official client: a read, and a write approved through elicitation', async () => {
    const client = new Client({ name: 'botc-test', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
    const asked: unknown[] = [];
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(request.params);
      return { action: 'accept', content: { approve: true } };
    });
    await client.connect(transport());
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['issues', 'pulls', 'status', 'notify']);
      const read = await client.callTool({ name: 'issues', arguments: { op: 'call', args: { method_id: 'github.issues.get.v1', params: { owner: GITHUB_OWNER, repo: GITHUB_REPO, number: 4 } } } });
      expect(read.structuredContent).toMatchObject({ issue: { number: 4 } });
      const before = ws.slack.posted.length;
      const sent = await client.callTool({ name: 'notify', arguments: { op: 'call', args: { method_id: 'slack.chat.post_message.v1', params: { channel: 'C0100000002', text: 'stdio alert' } } } });
      expect(asked).toHaveLength(1);
      expect(sent.structuredContent).toMatchObject({ delivered: true });
      expect(ws.slack.posted.length).toBe(before + 1);
      expectNoToken(sent);
      expectNoToken(asked);
    } finally {
      await client.close();
    }
  });

  it('refuses a non-loopback --http bind without BOTC_MCP_TOKEN, a wildcard bind without BOTC_MCP_ALLOWED_HOSTS, an unknown serve kind and a bad --style (exit 2)', async () => {
    const run = async (argv: string[], env: Record<string, string> = {}) => {
      let stderr = '';
      const status = await main(argv, { stdout: () => undefined, stderr: (text) => (stderr += text), isTty: false, env });
      return { status, stderr };
    };
    const bundle = path.join(ws.out, 'support_triage.bundle.json');
    const open = await run(['serve', 'mcp', bundle, '--expert', 'escalation', '--http', '0.0.0.0:0']);
    expect(open).toEqual({ status: 2, stderr: expect.stringContaining('BOTC_MCP_TOKEN') });
    const wildcard = await run(['serve', 'mcp', bundle, '--expert', 'escalation', '--http', '0.0.0.0:0'], { BOTC_MCP_TOKEN: 'a-long-test-token-0123456789' });
    expect(wildcard).toEqual({ status: 2, stderr: expect.stringContaining('BOTC_MCP_ALLOWED_HOSTS') });
    expect((await run(['serve', 'rest', bundle])).status).toBe(2);
    expect(await run(['serve', 'mcp', bundle, '--style', 'flat'])).toEqual({ status: 2, stderr: expect.stringContaining('--style') });
    expect(await run(['serve', 'mcp', bundle, '--http', 'nonsense'])).toEqual({ status: 2, stderr: expect.stringContaining('HOST:PORT') });
    // An expert that can write, served with nobody to approve its writes, does not start.
    const state = path.join(tempDir('botc-mcp-state-'), 'state.db');
    const nobody = await run(['serve', 'mcp', bundle, '--expert', 'escalation', '--root', REPO_ROOT, '--state', state]);
    expect(nobody).toEqual({ status: 2, stderr: expect.stringMatching(/can propose outbound writes[\s\S]*hint: pass --approver NAME/) });
  });
});
