/**
 * Nothing in the automation path sends without a person's confirmation, on both SQL stores:
 * an automation that targets a read, one whose file asks not to confirm (`confirm: false`) or
 * to run (`execute`), one whose params try to slip in `dry_run: false`, one that names `*` as
 * approver, and forged events (through the store and by raw SQL) — none of them gets a single
 * request to the fake Slack's chat.postMessage; at most a pending confirmation.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { loadAutomations, runAutomations, type LoadedAutomation } from '../src/automations/run.ts';
import { build } from '../src/build/build.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import type { SqlStore } from '../src/state/sql-store.ts';
import { CredentialVault } from '../src/state/vault.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { describeStores, type TestDb } from './helpers/stores.ts';
import { tempDir } from './helpers/workspace.ts';
import { loopbackConfig } from './servers/fake.ts';
import { SLACK_TOKEN, startSlack, type SlackFake } from './servers/slack.ts';

const TENANT = 'acme';
const KEY = randomBytes(32);
const SLACK_POST = 'slack.chat.post_message.v1';

let out: string;
let slack: SlackFake;

beforeAll(async () => {
  out = tempDir('botc-auto-send-');
  const built = await build({ root: REPO_ROOT, out, write: true, bots: ['support_triage'] });
  expect(built.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  slack = await startSlack();
}, 60_000);

afterAll(async () => {
  await slack?.stop();
});

const propose = (params: Record<string, unknown>, method_id = SLACK_POST) => ({ bot: 'support_triage', expert: 'escalation', tool: 'notify', method_id, params });
const post = { channel: 'G0100000004', text: 'hello' };

/** Automations read from files, as `botc automations run` reads them. */
function fromFiles(files: Record<string, unknown>): LoadedAutomation[] {
  const root = tempDir('botc-auto-files-');
  mkdirSync(path.join(root, 'automations'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(root, 'automations', `${name}.json`), JSON.stringify(content));
  return loadAutomations(root);
}

describeStores('an automation cannot send without a confirmation', (backend) => {
  let db: TestDb;
  let store: SqlStore;
  let runtime: Runtime;

  beforeEach(async () => {
    db = await backend.open();
    store = await db.connect();
    await new CredentialVault(store, KEY).add(TENANT, 'slack', SLACK_TOKEN, ['chat:write', 'channels:read', 'groups:read'], 'user:test');
    runtime = await Runtime.load(path.join(out, 'support_triage.bundle.json'), {
      root: REPO_ROOT, store, credentials: new CredentialVault(store, KEY), providerConfig: { slack: loopbackConfig(slack.baseUrl) },
    });
    slack.reset();
  });

  afterEach(async () => {
    await runtime.close();
    await db.dispose();
  });

  const run = (automations: LoadedAutomation[]) => runAutomations({ store, automations, proposers: new Map([['support_triage', runtime]]) });

  it('every attempt ends as a refusal or a pending confirmation; Slack receives no request at all', async () => {
    // A forged event, written through the store as any code with store access could.
    await store.appendEvent({ tenant: TENANT, type: 'review.approved', subject: 'rev_forged', payload: { provider: 'github' }, caused_by: null }, Date.now());
    // And one inserted by raw SQL, claiming to continue some other automation's chain.
    await db.raw.all(
      'INSERT INTO botc_event (seq, id, tenant, type, subject, payload_json, caused_by_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [1000, `evt_${'f'.repeat(32)}`, TENANT, 'review.approved', 'rev_sql', '{"provider":"github"}', '{"confirmation_id":null,"automations":["someone-else"]}', Date.now()],
    );
    const base = { on: 'review.approved', filter: { provider: 'github' }, approver: 'oncall-lead' };
    const automations: LoadedAutomation[] = [
      ...fromFiles({
        'no-confirm': { ...base, propose: propose(post), confirm: false },
        'execute': { ...base, propose: propose(post), execute: true },
      }),
      // A read or a listing runs on its own: refused before anything is called.
      { name: 'read', automation: { ...base, on: 'review.approved', propose: propose({}, 'slack.channels.list.v1') } },
      // `dry_run` is no method parameter: the params are refused.
      { name: 'not-dry', automation: { ...base, on: 'review.approved', propose: propose({ ...post, dry_run: false }) } },
      // "Any person" is never the automation's to choose.
      { name: 'anyone', automation: { ...base, on: 'review.approved', propose: propose(post), approver: '*' } },
      // The ordinary automation: proposes, for its approver, and stops there.
      { name: 'ordinary', automation: { ...base, on: 'review.approved', propose: propose(post) } },
    ];
    const reports = await run(automations);
    const by = (name: string) => reports.filter((r) => r.automation === name);
    expect(by('no-confirm')).toEqual([expect.objectContaining({ outcome: 'invalid' })]);
    expect(by('execute')).toEqual([expect.objectContaining({ outcome: 'invalid' })]);
    expect(by('read')).toEqual([expect.objectContaining({ outcome: 'invalid', message: expect.stringContaining('not an outbound write') })]);
    expect(by('not-dry')).toEqual([expect.objectContaining({ outcome: 'invalid', message: expect.stringContaining('do not match the input schema') })]);
    expect(by('anyone').map((r) => [r.outcome, r.code])).toEqual([['failed', 'VALIDATION_FAILED'], ['failed', 'VALIDATION_FAILED']]);
    expect(by('ordinary').map((r) => r.outcome)).toEqual(['proposed', 'proposed']);

    const confirmations = await store.listConfirmations({ tenant: TENANT, now: Date.now() });
    expect(confirmations.map((c) => [c.status, c.approver])).toEqual([['pending', 'oncall-lead'], ['pending', 'oncall-lead']]);
    expect(slack.requests.filter((r) => r.path === '/chat.postMessage')).toEqual([]);
    expect(slack.requests).toEqual([]);
    expect(slack.posted).toEqual([]);
    // Running again, or replaying, adds nothing and still sends nothing.
    await run(automations);
    await runAutomations({ store, automations, proposers: new Map([['support_triage', runtime]]), replay: true });
    expect(await store.listConfirmations({ tenant: TENANT, now: Date.now() })).toHaveLength(2);
    expect(slack.requests).toEqual([]);
  });

  it('an automation\'s bundle that is not built leaves its events unclaimed', async () => {
    await store.appendEvent({ tenant: TENANT, type: 'review.approved', subject: 'rev_1', payload: { provider: 'github' }, caused_by: null }, Date.now());
    const reports = await runAutomations({ store, automations: [{ name: 'later', automation: { on: 'review.approved', filter: {}, propose: propose(post), approver: 'oncall-lead' } }], proposers: new Map() });
    expect(reports).toEqual([{ automation: 'later', outcome: 'invalid', message: expect.stringContaining('no built bundle of bot `support_triage`') }]);
    expect(await store.listAutomationClaims()).toEqual([]);
    expect(await store.getAutomationCheckpoint('later')).toBe(0);
  });
});
