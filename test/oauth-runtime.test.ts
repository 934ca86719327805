import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialUnavailableError, type Credential, type CredentialSource } from '../src/integration/credentials.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { MemoryStore } from '../src/state/memory.ts';
import { startAgentWorkspace, TENANT, type AgentWorkspace } from './helpers/agents.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { loopbackConfig } from './servers/fake.ts';
import { GITHUB_OWNER, GITHUB_REPO, GITHUB_TOKEN } from './servers/github.ts';

let ws: AgentWorkspace;
beforeAll(async () => {
  ws = await startAgentWorkspace();
}, 60_000);
afterAll(async () => {
  await ws?.stop();
});

/** A source whose stored token the provider rejects (401); its renewal is the good token, or a failure. */
function renewingSource(renewal: 'ok' | 'fails'): CredentialSource & { renewals: Credential[] } {
  const renewals: Credential[] = [];
  let current = { secret: 'gho_revoked_at_the_provider_000000', scopes: ['repo:read'] };
  return {
    renewals,
    async get() {
      return { ...current };
    },
    async refreshAfterRejection(_tenant, _provider, rejected) {
      renewals.push(rejected);
      if (renewal === 'fails') throw new CredentialUnavailableError('the github credential could not be refreshed (invalid_grant); log in again: botc auth login github --tenant acme');
      current = { secret: GITHUB_TOKEN, scopes: ['repo:read'] };
      return { ...current };
    },
  };
}

const getIssue = { expert: 'drafter', tool: 'issues', op: 'call', tenant: TENANT, args: { method_id: 'github.issues.get.v1', params: { owner: GITHUB_OWNER, repo: GITHUB_REPO, number: 9 } } };

describe('the runtime renews a credential once after a 401', () => {
  it('a 401 asks the source to renew once, and the call succeeds with the renewed token', async () => {
    const credentials = renewingSource('ok');
    const runtime = await Runtime.load(path.join(ws.out, 'release_notes.bundle.json'), { root: REPO_ROOT, store: new MemoryStore(), credentials, providerConfig: { github: loopbackConfig(ws.github.baseUrl) } });
    try {
      const result = await runtime.callTool(getIssue);
      expect(result.ok, JSON.stringify(result)).toBe(true);
      expect(credentials.renewals).toHaveLength(1);
    } finally {
      await runtime.close();
    }
  });

  it('a failed renewal is AUTH_REQUIRED with the hint to log in again; asked once', async () => {
    const credentials = renewingSource('fails');
    const runtime = await Runtime.load(path.join(ws.out, 'release_notes.bundle.json'), { root: REPO_ROOT, store: new MemoryStore(), credentials, providerConfig: { github: loopbackConfig(ws.github.baseUrl) } });
    try {
      const result = await runtime.callTool(getIssue);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe('AUTH_REQUIRED');
      expect(result.error.message).toMatch(/botc auth login github --tenant acme/);
      expect(credentials.renewals).toHaveLength(1);
    } finally {
      await runtime.close();
    }
  });
});
