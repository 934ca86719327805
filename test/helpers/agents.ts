/**
 * The example workspace built once per test file and loaded against the loopback fake provider
 * servers, for the agent adapter and MCP tests.
 */
import path from 'node:path';
import { expect } from 'vitest';
import { build } from '../../src/build/build.ts';
import type { CredentialSource } from '../../src/integration/credentials.ts';
import { Runtime, type RuntimeOptions } from '../../src/runtime/runtime.ts';
import { MemoryStore } from '../../src/state/memory.ts';
import { REPO_ROOT } from './cli.ts';
import { tempDir } from './workspace.ts';
import { loopbackConfig } from '../servers/fake.ts';
import { GITHUB_TOKEN, startGitHub, type GitHubFake } from '../servers/github.ts';
import { HUBSPOT_TOKEN, startHubSpot, type HubSpotFake } from '../servers/hubspot.ts';
import { SLACK_TOKEN, startSlack, type SlackFake } from '../servers/slack.ts';
import { STATUSPAGE_KEY, startStatuspage, type StatuspageFake } from '../servers/statuspage.ts';

export const TENANT = 'acme';
export const TOKEN_PREFIX = 'botc_confirm_';

const CREDENTIALS: Record<string, { secret: string; scopes: string[] }> = {
  github: { secret: GITHUB_TOKEN, scopes: ['repo:read'] },
  slack: { secret: SLACK_TOKEN, scopes: ['chat:write', 'channels:read', 'groups:read'] },
  hubspot: { secret: HUBSPOT_TOKEN, scopes: ['crm.objects.deals.read', 'crm.objects.contacts.read'] },
  statuspage: { secret: STATUSPAGE_KEY, scopes: ['page:read'] },
};

export const credentials: CredentialSource = {
  async get(tenant, provider) {
    const found = tenant === TENANT ? CREDENTIALS[provider] : undefined;
    return found ? { secret: found.secret, scopes: [...found.scopes] } : undefined;
  },
};

export interface AgentWorkspace {
  out: string;
  github: GitHubFake;
  slack: SlackFake;
  hubspot: HubSpotFake;
  statuspage: StatuspageFake;
  providerConfig: Record<string, Record<string, unknown>>;
  /** A fresh runtime (own memory store) for one bot of the example workspace; `options` are added to the runtime's. */
  load(bot: string, options?: Partial<RuntimeOptions>): Promise<{ runtime: Runtime; store: MemoryStore }>;
  stop(): Promise<void>;
}

export async function startAgentWorkspace(): Promise<AgentWorkspace> {
  const out = tempDir('botc-agents-');
  const built = await build({ root: REPO_ROOT, out, write: true });
  expect(built.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const [github, slack, hubspot, statuspage] = await Promise.all([startGitHub(), startSlack(), startHubSpot(), startStatuspage()]);
  const providerConfig = {
    github: loopbackConfig(github.baseUrl),
    slack: loopbackConfig(slack.baseUrl),
    hubspot: loopbackConfig(hubspot.baseUrl),
    statuspage: loopbackConfig(statuspage.baseUrl),
  };
  const runtimes: Runtime[] = [];
  return {
    out,
    github,
    slack,
    hubspot,
    statuspage,
    providerConfig,
    async load(bot, options = {}) {
      const store = new MemoryStore();
      const runtime = await Runtime.load(path.join(out, `${bot}.bundle.json`), { root: REPO_ROOT, store, credentials, providerConfig, ...options });
      runtimes.push(runtime);
      return { runtime, store };
    },
    async stop() {
      await Promise.all(runtimes.map((r) => r.close()));
      await Promise.all([github.stop(), slack.stop(), hubspot.stop(), statuspage.stop()]);
    },
  };
}

/** Fails when any text a model or client could see carries a confirmation token. */
export function expectNoToken(value: unknown): void {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  expect(text).not.toContain(TOKEN_PREFIX);
}
