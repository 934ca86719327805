/**
 * `botc call` as a user runs it, in process through `main(argv, io)` (the entry bin/botc.js calls),
 * against bundles built from the example workspace, with provider base URLs and credentials from the
 * environment pointing at fake provider servers started by the test. The state (audit log,
 * confirmations) goes to a temporary SQLite file through BOTC_STATE_URL, never the repository's
 * own `.botc/`. test/governance-cli.test.ts covers `confirm`, `review`, `credentials`, `audit`.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import { type CliRun, REPO_ROOT, runCli } from './helpers/cli.ts';
import { tempDir } from './helpers/workspace.ts';
import { loopbackEnv } from './servers/fake.ts';
import { GITHUB_ISSUES, GITHUB_OWNER, GITHUB_REPO, GITHUB_TOKEN, startGitHub, type GitHubFake } from './servers/github.ts';
import { SLACK_TOKEN, startSlack, type SlackFake } from './servers/slack.ts';

const SECRETS = [GITHUB_TOKEN, SLACK_TOKEN];

let out: string;
/** The temporary state store every run uses. */
let state: string;
let github: GitHubFake;
let slack: SlackFake;

beforeAll(async () => {
  out = tempDir('botc-call-cli-');
  state = path.join(tempDir('botc-call-state-'), 'state.db');
  const built = await build({ root: REPO_ROOT, out, write: true });
  expect(built.ok).toBe(true);
  [github, slack] = await Promise.all([startGitHub(), startSlack()]);
});

afterAll(async () => {
  await Promise.all([github?.stop(), slack?.stop()]);
});

afterEach(() => {
  github.reset();
  slack.reset();
});

type Run = CliRun;

/**
 * Runs the CLI in process (`main(argv, io)`, while this process serves the fake providers the
 * command talks to). BOTC_* variables of the outer environment are not inherited.
 */
async function botc(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const run = await runCli(args, { env: { BOTC_STATE_URL: state, ...env } });
  for (const secret of SECRETS) {
    expect(run.stdout).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
  }
  return run;
}

const bundle = (bot: string) => path.join(out, `${bot}.bundle.json`);

const githubEnv = () => ({
  ...loopbackEnv('github', github.baseUrl),
  BOTC_CREDENTIAL_GITHUB: GITHUB_TOKEN,
  BOTC_CREDENTIAL_GITHUB_SCOPES: 'repo:read',
});

const slackEnv = () => ({
  ...loopbackEnv('slack', slack.baseUrl),
  BOTC_CREDENTIAL_SLACK: SLACK_TOKEN,
  BOTC_CREDENTIAL_SLACK_SCOPES: 'chat:write, channels:read,groups:read',
});

const callArgs = (bot: string, expert: string, tool: string, op: string, args?: unknown) => [
  'call', bundle(bot), '--expert', expert, '--tool', tool, '--op', op, '--root', REPO_ROOT,
  ...(args === undefined ? [] : ['--args', JSON.stringify(args)]),
];

function json(run: Run): { ok: boolean; data?: any; error?: any; meta: any } {
  expect(run.stdout.trim().startsWith('{')).toBe(true);
  return JSON.parse(run.stdout);
}

// Each call loads the integration modules afresh: slow on a busy machine.
describe('botc call', { timeout: 120_000 }, () => {
  it('lists the methods of a tool (exit 0)', async () => {
    const run = await botc(callArgs('support_triage', 'triager', 'issues', 'list_methods'));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const result = json(run);
    expect(result.ok).toBe(true);
    expect(result.data.methods.map((m: { method_id: string }) => m.method_id)).toEqual([
      'github.issues.list.v1', 'github.issues.get.v1', 'github.issues.search.v2',
    ]);
    // The call was audited in the temporary state, not in the workspace.
    expect(existsSync(state)).toBe(true);
  });

  it('pages through GitHub issues, passing each next_cursor back in', async () => {
    const numbers: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const args: Record<string, unknown> = {
        method_id: 'github.issues.list.v1',
        params: { owner: GITHUB_OWNER, repo: GITHUB_REPO, per_page: 3 },
        ...(cursor === null ? {} : { cursor }),
      };
      const run = await botc(callArgs('support_triage', 'triager', 'issues', 'call', args), githubEnv());
      expect(run.status, run.stderr).toBe(0);
      const result = json(run);
      expect(result.ok).toBe(true);
      numbers.push(...result.data.issues.map((i: { number: number }) => i.number));
      expect(result.meta.provider_request_id).toMatch(/^C0DE:/);
      cursor = result.meta.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(numbers).toEqual(GITHUB_ISSUES.filter((i) => i.state === 'open' && !i.pull_request).map((i) => i.number));
    expect(github.requests.map((r) => r.auth)).toEqual(['valid', 'valid', 'valid']);
    expect(github.requests.map((r) => r.query['page'])).toEqual([undefined, '2', '3']);
  });

  it('previews a Slack post under dry_run and sends nothing', async () => {
    const message = { channel: 'C0100000002', text: 'sev1: webhook deliveries time out' };
    const run = await botc(
      callArgs('support_triage', 'escalation', 'notify', 'call', { method_id: 'slack.chat.post_message.v1', params: message, dry_run: true }),
      slackEnv(),
    );
    expect(run.status, run.stderr).toBe(0);
    const result = json(run);
    expect(result.ok).toBe(true);
    expect(result.data).toEqual({
      dry_run: true,
      request: {
        method: 'POST',
        url: `${slack.baseUrl}/chat.postMessage`,
        headers: { accept: 'application/json', authorization: '[redacted]', 'content-type': 'application/json; charset=utf-8' },
        body: { ...message, unfurl_links: false },
      },
    });
    expect(result.meta.dry_run).toBe(true);
    expect(slack.requests).toHaveLength(0);
  });

  it('exits 1 with the error result when the provider says 404', async () => {
    const run = await botc(
      callArgs('support_triage', 'triager', 'issues', 'call', { method_id: 'github.issues.get.v1', params: { owner: GITHUB_OWNER, repo: GITHUB_REPO, number: 999 } }),
      githubEnv(),
    );
    expect(run.status).toBe(1);
    const result = json(run);
    expect(result.ok).toBe(false);
    expect(result.error).toMatchObject({ code: 'NOT_FOUND', http_status: 404 });
  });

  it('exits 1 with AUTH_REQUIRED when no credential is configured, sending nothing', async () => {
    const run = await botc(
      callArgs('support_triage', 'triager', 'issues', 'call', { method_id: 'github.issues.get.v1', params: { owner: GITHUB_OWNER, repo: GITHUB_REPO, number: 4 } }),
      loopbackEnv('github', github.baseUrl),
    );
    expect(run.status).toBe(1);
    expect(json(run).error.code).toBe('AUTH_REQUIRED');
    expect(github.requests).toHaveLength(0);
  });

  it('reads a tenant credential from --credentials FILE', async () => {
    const dir = tempDir('botc-call-creds-');
    const file = path.join(dir, 'credentials.json');
    writeFileSync(file, JSON.stringify({ acme: { github: { secret: GITHUB_TOKEN, scopes: ['repo:read'] } } }));
    const args = { method_id: 'github.issues.get.v1', params: { owner: GITHUB_OWNER, repo: GITHUB_REPO, number: 4 } };
    const run = await botc(
      [...callArgs('support_triage', 'triager', 'issues', 'call', args), '--tenant', 'acme', '--credentials', file],
      loopbackEnv('github', github.baseUrl),
    );
    expect(run.status, run.stderr).toBe(0);
    expect(json(run).data.issue.number).toBe(4);
    expect(github.requests[0]!.auth).toBe('valid');

    // Another tenant gets nothing from that file.
    const other = await botc(
      [...callArgs('support_triage', 'triager', 'issues', 'call', args), '--tenant', 'globex', '--credentials', file],
      loopbackEnv('github', github.baseUrl),
    );
    expect(other.status).toBe(1);
    expect(json(other).error.code).toBe('AUTH_REQUIRED');
  });

  it('keeps the credential out of the output when the provider echoes it back', async () => {
    github.errorNext(500, `upstream rejected token ${GITHUB_TOKEN}`);
    const run = await botc(
      callArgs('support_triage', 'triager', 'issues', 'call', { method_id: 'github.issues.get.v1', params: { owner: GITHUB_OWNER, repo: GITHUB_REPO, number: 4 } }),
      githubEnv(),
    );
    expect(run.status).toBe(1);
    expect(json(run).error.code).toBe('PROVIDER_UNAVAILABLE');
  });

  // Thunks: the bundle paths exist only once beforeAll has run.
  it.each<[string, () => string[]]>([
    ['a missing --op', () => callArgs('support_triage', 'triager', 'issues', 'list_methods').filter((a, i, all) => a !== '--op' && all[i - 1] !== '--op')],
    ['--args that are not JSON', () => [...callArgs('support_triage', 'triager', 'issues', 'call'), '--args', '{not json']],
    ['an unknown option', () => [...callArgs('support_triage', 'triager', 'issues', 'list_methods'), '--verbose']],
    ['no bundle path', () => ['call', '--expert', 'triager', '--tool', 'issues', '--op', 'help']],
    ['a bundle that does not exist', () => callArgs('nonexistent', 'triager', 'issues', 'help')],
  ])('exits 2 on bad usage: %s', async (_what, args) => {
    const run = await botc(args(), githubEnv());
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^botc: /);
    expect(github.requests).toHaveLength(0);
  });
});
