/**
 * Automations end to end on both SQL stores, with the example workspace (bot `support_triage`,
 * automation automations/support-issue-to-oncall.json) and a loopback Slack fake: a signed
 * GitHub webhook is queued for review → a person approves it → `review.approved` → the
 * automation proposes a Slack message (a pending confirmation, nothing sent) → a person approves
 * it by id → the message arrives. Also: the events each state change records, at most once per
 * (automation, event) across processes, replays, and loop prevention.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadAutomations, runAutomations, type AutomationReport, type LoadedAutomation } from '../src/automations/run.ts';
import { build } from '../src/build/build.ts';
import type { WebhookDeclaration } from '../src/inbound/declarations.ts';
import { webhookHandler } from '../src/inbound/receiver.ts';
import { runStream } from '../src/inbound/sync.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { decideReview } from '../src/state/reviews.ts';
import type { SqlStore } from '../src/state/sql-store.ts';
import { CredentialVault, webhookSecretKey } from '../src/state/vault.ts';
import { BOTC, REPO_ROOT, runCli } from './helpers/cli.ts';
import { describeStores, type TestDb } from './helpers/stores.ts';
import { FULL } from './helpers/tier.ts';
import { tempDir, writeWorkspace } from './helpers/workspace.ts';
import { loopbackConfig, loopbackEnv } from './servers/fake.ts';
import { SLACK_TOKEN, startSlack, type SlackFake } from './servers/slack.ts';

const TENANT = 'acme';
const KEY = randomBytes(32);
const WEBHOOK_SECRET = 'github-webhook-secret-for-tests';
const AUTOMATION = 'support-issue-to-oncall';
const SLACK_POST = 'slack.chat.post_message.v1';
const ONCALL = 'G0100000004';

let out: string;
let slack: SlackFake;
let githubWebhook: WebhookDeclaration;

beforeAll(async () => {
  out = tempDir('botc-auto-');
  const built = await build({ root: REPO_ROOT, out, write: true, bots: ['support_triage'] });
  expect(built.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  slack = await startSlack();
  const registry = JSON.parse(readFileSync(path.join(REPO_ROOT, 'integrations/manifest.json'), 'utf8')) as { integrations: { provider: string; webhook?: WebhookDeclaration }[] };
  githubWebhook = registry.integrations.find((i) => i.provider === 'github')!.webhook!;
}, 60_000);

afterAll(async () => {
  await slack?.stop();
});

afterEach(() => {
  slack.reset();
});

/** What the fake Slack received that could post a message: any request at all to chat.postMessage. */
const postRequests = () => slack.requests.filter((r) => r.path === '/chat.postMessage');

/** Starts the webhook receiver on loopback; returns a function that delivers a signed GitHub `issues` event. */
async function receiver(store: SqlStore): Promise<{ deliver: (id: string, title: string) => Promise<{ status: number; body: Record<string, unknown> }>; close: () => Promise<void> }> {
  const vault = new CredentialVault(store, KEY);
  await vault.add(TENANT, webhookSecretKey('github'), WEBHOOK_SECRET, [], 'user:test');
  const server: Server = createServer(webhookHandler({
    store,
    declarations: new Map([['github', githubWebhook]]),
    secretFor: async (tenant, provider) => (await vault.get(tenant, webhookSecretKey(provider)))?.secret,
  }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    async deliver(id, title) {
      const body = JSON.stringify({ action: 'opened', issue: { number: 7, title, body: 'It crashes.', html_url: 'https://github.com/acme/support/issues/7' }, repository: { full_name: 'acme/support' } });
      const res = await fetch(`http://127.0.0.1:${port}/webhooks/${TENANT}/github`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-github-delivery': id, 'x-github-event': 'issues', 'x-hub-signature-256': await signGithub(WEBHOOK_SECRET, body) },
        body,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The example automation, as `botc automations run` reads it. */
const exampleAutomations = () => loadAutomations(REPO_ROOT).filter((a) => a.name === AUTOMATION);

/** A Slack post automation on `on` with `filter`, for loop and safety tests. */
function slackAutomation(name: string, on: 'confirmation.executed' | 'review.approved', filter: Record<string, string> = {}): LoadedAutomation {
  return {
    name,
    automation: {
      on, filter,
      propose: { bot: 'support_triage', expert: 'escalation', tool: 'notify', method_id: SLACK_POST, params: { channel: ONCALL, text: `from ${name}` } },
      approver: 'oncall-lead',
    },
  };
}

const outcomes = (reports: AutomationReport[]) => reports.map((r) => `${r.automation}:${r.outcome}`).sort();

describeStores('automations: import → review → event → proposal → a person approves → message', (backend) => {
  let db: TestDb;
  let store: SqlStore;
  let runtime: Runtime;
  const load = (s: SqlStore) => Runtime.load(path.join(out, 'support_triage.bundle.json'), {
    root: REPO_ROOT,
    store: s,
    credentials: new CredentialVault(s, KEY),
    providerConfig: { slack: loopbackConfig(slack.baseUrl) },
  });

  beforeEach(async () => {
    db = await backend.open();
    store = await db.connect();
    await new CredentialVault(store, KEY).add(TENANT, 'slack', SLACK_TOKEN, ['chat:write', 'channels:read', 'groups:read'], 'user:test');
    runtime = await load(store);
  });

  afterEach(async () => {
    await runtime.close();
    await db.dispose();
  });

  const run = (options: { replay?: boolean; automations?: LoadedAutomation[]; s?: SqlStore; r?: Runtime } = {}) =>
    runAutomations({ store: options.s ?? store, automations: options.automations ?? exampleAutomations(), proposers: new Map([['support_triage', options.r ?? runtime]]), ...(options.replay ? { replay: true } : {}) });

  /** Queues `n` GitHub webhook deliveries and approves each: `n` review.approved events. */
  async function approvedImports(n: number): Promise<void> {
    const inbound = await receiver(store);
    try {
      for (let i = 0; i < n; i++) {
        const delivery = await inbound.deliver(`delivery-${i}`, `Login fails #${i}`);
        expect(delivery.status).toBe(202);
        await decideReview(store, { tenant: TENANT, id: delivery.body['review_id'] as string, decision: 'approved', reviewer: 'rita' });
      }
    } finally {
      await inbound.close();
    }
  }

  it('the whole loop: the message reaches Slack only after a person confirms the proposal by id', async () => {
    await approvedImports(1);
    const events = await store.listEvents({ after: 0 });
    expect(events.map((e) => e.type)).toEqual(['webhook.received', 'review.approved']);
    expect(events[1]!.payload).toMatchObject({ provider: 'github', method_id: 'github.webhook', approved_by: 'rita' });

    const reports = await run();
    expect(reports).toEqual([expect.objectContaining({ automation: AUTOMATION, outcome: 'proposed', event_id: events[1]!.id, tenant: TENANT })]);
    // Proposed with a dry-run preview: nothing reached Slack.
    expect(postRequests()).toEqual([]);
    const [pending] = await store.listConfirmations({ tenant: TENANT, status: 'pending', now: Date.now() });
    expect(pending).toMatchObject({ id: reports[0]!.confirmation_id, approver: 'oncall-lead', method_id: SLACK_POST, automation_chain: [AUTOMATION] });
    expect(pending!.preview_json).toContain('please triage it');
    expect(await store.listAutomationClaims(AUTOMATION)).toEqual([expect.objectContaining({ event_id: events[1]!.id, outcome: 'proposed', confirmation_id: pending!.id })]);
    expect((await store.listAudit({ tenant: TENANT, action: 'automation.proposed' }))[0]).toMatchObject({ actor: `automation:${AUTOMATION}`, outcome: 'pending' });

    const approved = await runtime.confirmById({ id: pending!.id, tenant: TENANT, approver: 'oncall-lead' });
    expect(approved.ok, JSON.stringify(approved)).toBe(true);
    expect(slack.posted).toEqual([expect.objectContaining({ channel: ONCALL, text: expect.stringContaining('please triage it') })]);
    const executed = await store.listEvents({ after: events[1]!.seq });
    expect(executed).toEqual([expect.objectContaining({ type: 'confirmation.executed', subject: pending!.id, caused_by: { confirmation_id: pending!.id, automations: [AUTOMATION] } })]);
    // A second pass finds nothing new.
    expect(await run()).toEqual([]);
  });

  it('two runners on separate connections racing over the same events propose each event once', async () => {
    await approvedImports(4);
    const other = await db.connect();
    const otherRuntime = await load(other);
    try {
      const [a, b] = await Promise.all([run(), run({ s: other, r: otherRuntime })]);
      const all = [...a, ...b];
      expect(all.filter((r) => r.outcome === 'proposed')).toHaveLength(4);
      expect(all.filter((r) => r.outcome !== 'proposed' && r.outcome !== 'already_handled')).toEqual([]);
      expect(await store.listConfirmations({ tenant: TENANT, now: Date.now() })).toHaveLength(4);
      expect(postRequests()).toEqual([]);
    } finally {
      await otherRuntime.close();
    }
  });

  it('replaying every event, a redelivered webhook and a second approval propose nothing again', async () => {
    await approvedImports(2);
    expect(outcomes(await run())).toEqual([`${AUTOMATION}:proposed`, `${AUTOMATION}:proposed`]);
    expect(outcomes(await run({ replay: true }))).toEqual([`${AUTOMATION}:already_handled`, `${AUTOMATION}:already_handled`]);
    const inbound = await receiver(store);
    try {
      // The same delivery again is a duplicate: no new review item, no new event.
      expect((await inbound.deliver('delivery-0', 'Login fails #0')).status).toBe(200);
    } finally {
      await inbound.close();
    }
    const [first] = await store.listReviews({ tenant: TENANT, status: 'approved' });
    expect(await decideReview(store, { tenant: TENANT, id: first!.id, decision: 'approved', reviewer: 'rita' })).toBeUndefined();
    expect(await run()).toEqual([]);
    expect((await store.listEvents({ after: 0, type: 'review.approved' })).length).toBe(2);
    expect(await store.listConfirmations({ tenant: TENANT, now: Date.now() })).toHaveLength(2);
  });

  it('a run for one tenant keeps its own checkpoint: it reads each event once, and a run over every tenant still sees them', async () => {
    await approvedImports(1);
    const forTenant = () => runAutomations({ store, automations: exampleAutomations(), proposers: new Map([['support_triage', runtime]]), tenant: TENANT });
    expect(outcomes(await forTenant())).toEqual([`${AUTOMATION}:proposed`]);
    expect(await forTenant()).toEqual([]);
    expect(outcomes(await run())).toEqual([`${AUTOMATION}:already_handled`]);
    expect(await store.listConfirmations({ tenant: TENANT, now: Date.now() })).toHaveLength(1);
  });

  it('a chain of automations cannot loop: an event caused by an automation\'s own proposal does not trigger it again', async () => {
    const automations = [slackAutomation('echo-x', 'confirmation.executed'), slackAutomation('echo-y', 'confirmation.executed')];
    // A person's own write, confirmed: one confirmation.executed event caused by no automation.
    const direct = await runtime.callTool({ expert: 'escalation', tool: 'notify', op: 'call', tenant: TENANT, approver: 'oncall-lead', args: { method_id: SLACK_POST, params: { channel: ONCALL, text: 'by hand' } } });
    const id = ((!direct.ok && direct.meta['confirmation']) as { id: string }).id;
    expect((await runtime.confirmById({ id, tenant: TENANT, approver: 'oncall-lead' })).ok).toBe(true);
    const rounds: string[][] = [];
    for (let round = 0; round < 6; round++) {
      const reports = await run({ automations });
      rounds.push(outcomes(reports));
      if (!reports.some((r) => r.outcome === 'proposed')) break;
      // Every proposal approved at once, as the most eager person would.
      for (const pending of await store.listConfirmations({ tenant: TENANT, status: 'pending', now: Date.now() })) {
        expect((await runtime.confirmById({ id: pending.id, tenant: TENANT, approver: 'oncall-lead' })).ok).toBe(true);
      }
    }
    expect(rounds).toEqual([
      ['echo-x:proposed', 'echo-y:proposed'],
      // Each reacts to the other's message, never to its own.
      ['echo-x:caused_by_itself', 'echo-x:proposed', 'echo-y:caused_by_itself', 'echo-y:proposed'],
      // x→y and y→x chains name both: the chain ends.
      ['echo-x:caused_by_itself', 'echo-x:caused_by_itself', 'echo-y:caused_by_itself', 'echo-y:caused_by_itself'],
    ]);
    const chains = (await store.listEvents({ after: 0, type: 'confirmation.executed' })).map((e) => e.caused_by!.automations);
    expect(chains.map((c) => c.join('>')).sort()).toEqual(['', 'echo-x', 'echo-x>echo-y', 'echo-y', 'echo-y>echo-x']);
  });

  it('a record with a very long key can still be approved: the event keeps a cut copy of the key', async () => {
    const key = `event:${'k'.repeat(5000)}`;
    const item = { id: 'rev_long', tenant: TENANT, provider: 'github', method_id: 'github.webhook', record_key: key, record_json: '{}', record_sha256: 'a', status: 'pending' as const, batch_id: 'b', created_at: 1, decided_by: null, decided_at: null };
    await store.enqueueImport([item], null);
    expect(await decideReview(store, { tenant: TENANT, id: 'rev_long', decision: 'approved', reviewer: 'rita' })).toMatchObject({ status: 'approved' });
    const [event] = await store.listEvents({ after: 0, type: 'review.approved' });
    expect(event!.payload['record_key']).toBe(key.slice(0, 512));
  });

  it('the event log is append-only: a raw update or delete is refused by the database', async () => {
    await approvedImports(1);
    await expect(db.raw.exec("UPDATE botc_event SET tenant = 'other'")).rejects.toThrow(/append-only/);
    await expect(db.raw.exec('DELETE FROM botc_event')).rejects.toThrow(/append-only/);
    expect(await store.listEvents({ after: 0 })).toHaveLength(2);
  });

  it('records sync.completed when a sync run commits, and an event only with the change it reports', async () => {
    const stream = { name: 'deals', method_id: 'hubspot.deals.import.v1', interval_seconds: 60, record_id: '/id' };
    const page = { ok: true as const, data: { records: [{ id: 'd1' }] }, meta: { provider_request_id: null, latency_ms: 1, next_cursor: null, rate_limit_remaining: null, cost_units: null, provenance: { source_type: 'api', source_ref: 'x' } } };
    expect((await runStream(store, { tenant: TENANT, provider: 'hubspot', stream }, async () => page)).status).toBe('ok');
    expect(await store.listEvents({ after: 0 })).toEqual([expect.objectContaining({ type: 'sync.completed', tenant: TENANT, payload: expect.objectContaining({ provider: 'hubspot', stream: 'deals', records: 1 }) })]);
    // An import whose transaction fails records no event either.
    await db.crashOnCursorWrite();
    const item = { id: 'rev_x', tenant: TENANT, provider: 'github', method_id: 'github.webhook', record_key: 'k', record_json: '{}', record_sha256: 'a', status: 'pending' as const, batch_id: 'b', created_at: 1, decided_by: null, decided_at: null };
    await expect(store.enqueueImport([item], { tenant: TENANT, stream: 's', value: 'c' }, { tenant: TENANT, type: 'webhook.received', subject: 'github:x', payload: {}, caused_by: null })).rejects.toThrow();
    await db.stopCrashing();
    expect(await store.listEvents({ after: 0 })).toHaveLength(1);
  });
});

/** Runs the compiled CLI without blocking this process (the Slack fake answers from here). */
function botcAsync(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BOTC, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describeStores('botc automations run in two processes, then a person approves', (backend) => {
  // Two real CLI processes: the system tier (BOTC_FULL); the in-process race above runs always.
  it.runIf(FULL)('two processes on the same events propose each once; the message is sent only by the person\'s approval', async () => {
    const db = await backend.open();
    try {
      const store = await db.connect();
      await new CredentialVault(store, KEY).add(TENANT, 'slack', SLACK_TOKEN, ['chat:write', 'channels:read', 'groups:read'], 'user:test');
      for (let i = 0; i < 3; i++) {
        const item = { id: `rev_${i}`, tenant: TENANT, provider: 'github', method_id: 'github.webhook', record_key: `event:${i}`, record_json: '{}', record_sha256: `s${i}`, status: 'pending' as const, batch_id: `batch_${i}`, created_at: Date.now(), decided_by: null, decided_at: null };
        await store.enqueueImport([item], null);
        await decideReview(store, { tenant: TENANT, id: item.id, decision: 'approved', reviewer: 'rita' });
      }
      const env = { BOTC_SECRET_KEY: KEY.toString('hex'), ...loopbackEnv('slack', slack.baseUrl) };
      const args = ['automations', 'run', '--once', '--state', db.url, '--bundles', out, '--root', REPO_ROOT];
      const runs = await Promise.all([botcAsync(args, env), botcAsync(args, env)]);
      for (const r of runs) expect(r.status, r.stderr).toBe(0);
      const lines = runs.flatMap((r) => r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AutomationReport));
      const proposed = lines.filter((l) => l.outcome === 'proposed');
      expect(proposed).toHaveLength(3);
      expect(new Set(proposed.map((p) => p.event_id)).size).toBe(3);
      expect(postRequests()).toEqual([]);

      // The person's approval, by id, through the bundle file the proposal recorded.
      const runtime = await Runtime.load(path.join(out, 'support_triage.bundle.json'), { root: REPO_ROOT, store, credentials: new CredentialVault(store, KEY), providerConfig: { slack: loopbackConfig(slack.baseUrl) } });
      try {
        expect((await runtime.confirmById({ id: proposed[0]!.confirmation_id!, tenant: TENANT, approver: 'oncall-lead' })).ok).toBe(true);
      } finally {
        await runtime.close();
      }
      expect(slack.posted).toEqual([expect.objectContaining({ channel: ONCALL })]);
    } finally {
      await db.dispose();
    }
  }, 30_000);
});

// In process (runCli): an exit status and what is printed need no process of their own.
describe('botc automations run: usage', () => {
  it('needs the run subcommand', async () => {
    const r = await runCli(['automations', 'go']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown subcommand `automations go`');
  });

  it('a workspace without automations is a usage error (exit 2); an automation that cannot run is exit 1 with --once', async () => {
    const none = await runCli(['automations', 'run', '--once', '--root', writeWorkspace()]);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('the workspace has no automations');
    const root = writeWorkspace({ 'automations/broken.json': '{"on": "review.approved", "confirm": false}' });
    const broken = await runCli(['automations', 'run', '--once', '--root', root]);
    expect(broken.status, broken.stderr).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ automation: 'broken', outcome: 'invalid' });
  });
});
