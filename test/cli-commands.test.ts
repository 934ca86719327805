/**
 * The command line people expect, run in process through `main(argv, io)` with an injected io
 * (stdout, stderr, stdin, cwd, env): the workspace root, help and version, colour, user
 * mistakes as usage errors or diagnostics, the state commands' shared rules, and confirmation
 * tokens kept off the command line. Two smoke tests at the end spawn bin/botc.js.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loopbackEnv } from './servers/fake.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import { COMMANDS } from '../src/cli/help.ts';
import { main } from '../src/cli/main.ts';
import { openStore } from '../src/state/open.ts';
import type { ReviewItem } from '../src/state/types.ts';
import { REPO_ROOT, spawnCliSync } from './helpers/cli.ts';
import { positionOf, tempDir, writeFiles, writeWorkspace } from './helpers/workspace.ts';
import { MAILER_TOKEN, startMailer, type MailerFake } from './servers/mailer.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures-governance/', import.meta.url));
const KEY = randomBytes(32).toString('hex');
const ESC = '\u001b[';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `botc ...args` in process. The environment is only what the test gives. */
async function botc(args: string[], options: { cwd?: string; env?: Record<string, string>; stdin?: string; isTty?: boolean } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const status = await main(args, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    stdin: async () => options.stdin ?? '',
    cwd: options.cwd ?? REPO_ROOT,
    isTty: options.isTty ?? false,
    env: { USER: 'tester', ...options.env },
  });
  return { status, stdout, stderr };
}

/** A workspace that walks up: the base workspace plus a registry with no integrations. */
function walkableWorkspace(files: Record<string, string> = {}): string {
  return writeWorkspace({ 'integrations/manifest.json': '{ "integrations": [] }\n', ...files });
}

describe('the workspace root', { timeout: 60_000 }, () => {
  it('check inside bots/<bot>/ finds the workspace root above it', async () => {
    const root = walkableWorkspace();
    const run = await botc(['check', '--format', 'json'], { cwd: path.join(root, 'bots', 'demo', 'prompts') });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as { ok: boolean; bundles: { bot: string }[]; diagnostics: unknown[] };
    expect(report).toMatchObject({ ok: true, diagnostics: [], bundles: [{ bot: 'demo' }] });
  });

  it('botc.config.json alone marks a workspace root', async () => {
    const root = writeWorkspace({ 'botc.config.json': '{}\n' });
    const run = await botc(['check'], { cwd: path.join(root, 'bots', 'demo') });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/ok: 1 bundle, 0 errors/);
  });

  it.each([
    ['check'],
    ['build'],
    ['call', 'x.bundle.json', '--expert', 'e', '--tool', 't', '--op', 'help'],
    ['review', 'list'],
    ['review', 'approve', 'rev_1'],
    ['credentials', 'list'],
    ['audit', 'list'],
    ['audit', 'verify'],
  ])('outside a workspace, `%s` exits 2 with a hint to pass --root and creates nothing', async (...args) => {
    const empty = tempDir('botc-empty-');
    const run = await botc(args, { cwd: empty, env: { BOTC_SECRET_KEY: KEY } });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^botc: no botc workspace in .* or any folder above it/);
    expect(run.stderr).toContain('pass --root DIR');
    expect(run.stderr).not.toContain('internal error');
    expect(readdirSync(empty)).toEqual([]);
  });

  it('confirm outside a workspace exits 2 and creates no state', async () => {
    const empty = tempDir('botc-empty-');
    const run = await botc(['confirm', 'x.bundle.json', '--approver', 'alice'], { cwd: empty, stdin: 'botc_confirm_abc\n' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('pass --root DIR');
    expect(readdirSync(empty)).toEqual([]);
  });

  it('--root at a folder that is not a workspace is refused, and nothing is written there', async () => {
    const empty = tempDir('botc-empty-');
    const run = await botc(['build', '--root', empty]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/is not a botc workspace: it has no botc.config.json, bots\/ or integrations\//);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('github annotations name files relative to the repository root when the workspace is a subfolder', async () => {
    const repo = tempDir('botc-repo-');
    mkdirSync(path.join(repo, '.git'));
    const root = path.join(repo, 'tools', 'bots ws');
    const expert = '---\nfexp_description: Helps.\n---\nYou help {{nope}} today.\n';
    writeFiles(root, { 'botc.config.json': '{}\n', 'bots/demo/manifest.json': `${JSON.stringify({ bot: 'demo', version: '1', description: 'A demo bot.', tools: [] })}\n`, 'bots/demo/prompts/expert_helper.md': expert });
    const at = positionOf(expert, 'nope');
    const fromInside = await botc(['check', '--format', 'github'], { cwd: path.join(root, 'bots') });
    expect(fromInside.status).toBe(1);
    expect(fromInside.stdout).toContain(`::error file=tools/bots ws/bots/demo/prompts/expert_helper.md,line=${at.line},col=${at.column},title=template-error::`);

    // Without a .git folder, GITHUB_WORKSPACE is the repository root.
    const checkout = tempDir('botc-checkout-');
    const nested = path.join(checkout, 'ws');
    writeFiles(nested, { 'botc.config.json': '{}\n', 'bots/demo/manifest.json': `${JSON.stringify({ bot: 'demo', version: '1', description: 'A demo bot.', tools: [] })}\n`, 'bots/demo/prompts/expert_helper.md': expert });
    const onRunner = await botc(['check', '--root', nested, '--format', 'github'], { env: { GITHUB_WORKSPACE: checkout } });
    expect(onRunner.stdout).toContain('::error file=ws/bots/demo/prompts/expert_helper.md,');
    // The workspace at the repository root keeps its paths.
    const plain = await botc(['check', '--root', nested, '--format', 'github']);
    expect(plain.stdout).toContain('::error file=bots/demo/prompts/expert_helper.md,');
  });
});

describe('help, version and mistyped commands', () => {
  it('--version prints the version of package.json', async () => {
    const run = await botc(['--version'], { cwd: tempDir() });
    expect(run).toEqual({ status: 0, stdout: 'botc 0.1.0\n', stderr: '' });
  });

  it('botc --help lists every command (golden)', async () => {
    const run = await botc(['--help']);
    expect(run.status).toBe(0);
    await expect(run.stdout).toMatchFileSnapshot('golden/cli-help/botc.txt');
    expect((await botc(['help'])).stdout).toBe(run.stdout);
    // No command: the same text on stderr, exit 2.
    const bare = await botc([]);
    expect(bare).toEqual({ status: 2, stdout: '', stderr: run.stdout });
  });

  it.each(COMMANDS.map((c) => [c, c]))('botc help %s and botc %s --help print the same text (golden), exit 0', async (command) => {
    const help = await botc(['help', command]);
    expect(help.status).toBe(0);
    await expect(help.stdout).toMatchFileSnapshot(`golden/cli-help/${command}.txt`);
    const flag = await botc([command, '--help'], { cwd: tempDir() });
    expect(flag).toEqual(help);
    expect((await botc([command, 'list', '-h'], { cwd: tempDir() })).stdout).toBe(help.stdout);
  });

  it.each([
    ['chek', 'check'],
    ['buld', 'build'],
    ['credential', 'credentials'],
    ['reveiw', 'review'],
  ])('a mistyped command `%s` says did you mean `%s`, exit 2', async (typo, meant) => {
    const run = await botc([typo]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`botc: unknown command \`${typo}\`: did you mean \`${meant}\`?\n  hint: botc --help lists the commands\n`);
    expect((await botc(['help', typo])).stderr).toContain(`did you mean \`${meant}\`?`);
  });

  it('an unknown subcommand of a state command is a usage error naming the subcommands', async () => {
    const run = await botc(['audit', 'lsit']);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('botc: unknown subcommand `audit lsit`\n  hint: botc audit list|verify|checkpoint\n');
  });
});

describe('colour', () => {
  let root: string;
  beforeAll(() => {
    root = writeWorkspace({ 'bots/demo/prompts/expert_helper.md': '---\nfexp_description: Helps.\n---\nYou help {{nope}}.\n' });
  });

  it.each([
    ['a terminal', true, {}, true],
    ['a pipe', false, {}, false],
    ['NO_COLOR on a terminal', true, { NO_COLOR: '1' }, false],
    ['an empty NO_COLOR on a terminal', true, { NO_COLOR: '' }, true],
    ['TERM=dumb on a terminal', true, { TERM: 'dumb' }, false],
    ['FORCE_COLOR=1 on a pipe', false, { FORCE_COLOR: '1' }, true],
    ['FORCE_COLOR=1 with NO_COLOR and TERM=dumb', false, { FORCE_COLOR: '1', NO_COLOR: '1', TERM: 'dumb' }, true],
    ['FORCE_COLOR=0 on a terminal', true, { FORCE_COLOR: '0' }, false],
  ] as const)('%s', { timeout: 30_000 }, async (_name, isTty, env, coloured) => {
    const run = await botc(['check', '--root', root], { isTty, env });
    expect(run.status).toBe(1);
    expect(run.stdout.includes(ESC)).toBe(coloured);
  });
});

describe('user mistakes are usage errors or diagnostics, never internal errors', { timeout: 60_000 }, () => {
  const brokenConfig = '{\n  "out": "dist",\n  "runtime": { "timeout_ms": "fast" }\n}\n';

  it('a broken botc.config.json is a located config-invalid diagnostic in json and github output; build writes nothing', async () => {
    const root = walkableWorkspace({ 'botc.config.json': brokenConfig });
    const at = positionOf(brokenConfig, '"timeout_ms"');
    const json = await botc(['build', '--root', root, '--format', 'json']);
    expect(json.status).toBe(1);
    const report = JSON.parse(json.stdout) as { ok: boolean; diagnostics: { code: string; file: string; line: number; column: number; message: string; hint: string }[]; bundles: unknown[] };
    expect(report.ok).toBe(false);
    expect(report.bundles).toEqual([]);
    expect(report.diagnostics).toEqual([
      { code: 'config-invalid', severity: 'error', file: 'botc.config.json', line: at.line, column: at.column, message: expect.stringContaining('runtime.timeout_ms'), hint: expect.any(String) },
    ]);
    expect(readdirSync(root).sort()).toEqual(['botc.config.json', 'bots', 'integrations']);

    const github = await botc(['check', '--root', root, '--format', 'github']);
    expect(github.status).toBe(1);
    expect(github.stdout).toContain(`::error file=botc.config.json,line=${at.line},col=${at.column},title=config-invalid::`);

    const syntax = walkableWorkspace({ 'botc.config.json': '{ "out": "dist", }\n' });
    const pretty = await botc(['check', '--root', syntax]);
    expect(pretty.status).toBe(1);
    expect(pretty.stdout).toMatch(/^botc\.config\.json:1:\d+ error \[json-syntax\] botc\.config\.json is not valid JSON/);
  });

  it('a broken botc.config.json stops `call` with a usage error at its place (exit 2)', async () => {
    const root = walkableWorkspace({ 'botc.config.json': brokenConfig });
    const run = await botc(['call', 'x.bundle.json', '--root', root, '--expert', 'e', '--tool', 't', '--op', 'help']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^botc: botc\.config\.json:3:\d+: runtime\.timeout_ms: /);
    expect(run.stderr).not.toContain('internal error');
  });

  it('a state store that cannot be opened is a usage error that hides the password of its URL', async () => {
    const run = await botc(['audit', 'list', '--state', 'postgres://botc:s3cret-pw@127.0.0.1:1/botc']);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('botc: the state store postgres://botc:***@127.0.0.1:1/botc cannot be opened (ECONNREFUSED)\n  hint: check --state or BOTC_STATE_URL (postgres://... or a SQLite file)\n');
  });

  describe('with the governance bundle', () => {
    let bundle: string;
    beforeAll(async () => {
      const out = tempDir('botc-cli-cmd-');
      const built = await build({ root: FIXTURE, out, write: true });
      expect(built.diagnostics).toEqual([]);
      bundle = path.join(out, 'govbot.bundle.json');
    });

    it.each([
      ['not JSON', `{"acme": {"mailer": {"secret": "${MAILER_TOKEN}",}}}`, /credentials file .*creds\.json:1:\d+ is not valid JSON/],
      ['the wrong shape', `{"acme": {"mailer": {"secret": "${MAILER_TOKEN}", "scopes": "mail:send"}}}`, /creds\.json: credentials file is invalid/],
      ['missing', null, /credentials file .*creds\.json cannot be read \(ENOENT\)/],
    ])('a credentials file that is %s is a usage error that never shows the secret', async (_name, text, message) => {
      const dir = tempDir();
      if (text !== null) writeFileSync(path.join(dir, 'creds.json'), text);
      const state = path.join(dir, 'state.db');
      const run = await botc(['call', bundle, '--root', FIXTURE, '--credentials', path.join(dir, 'creds.json'), '--state', state, '--expert', 'operator', '--tool', 'ref', '--op', 'help']);
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toContain(MAILER_TOKEN);
      expect(run.stderr).not.toContain('internal error');
      expect(readdirSync(dir).filter((f) => f.startsWith('state'))).toEqual([]);
    });
  });
});

describe('state commands share one set of rules', { timeout: 60_000 }, () => {
  let state: string;
  let bundle: string;
  let mailer: MailerFake;
  const env = () => ({ BOTC_STATE_URL: state, BOTC_SECRET_KEY: KEY, ...loopbackEnv('mailer', `${mailer.baseUrl}/`) });

  beforeAll(async () => {
    const out = tempDir('botc-cli-state-');
    const built = await build({ root: FIXTURE, out, write: true });
    expect(built.diagnostics).toEqual([]);
    bundle = path.join(out, 'govbot.bundle.json');
    mailer = await startMailer();
  });
  afterAll(async () => {
    await mailer?.stop();
  });

  const freshState = () => {
    state = path.join(tempDir('botc-cli-state-'), 'state.db');
    mailer.reset();
  };
  const addCredential = (tenant: string, extra: string[] = []) =>
    botc(['credentials', 'add', 'mailer', '--root', FIXTURE, '--tenant', tenant, '--scopes', 'mail:send', ...extra], { env: env(), stdin: `${MAILER_TOKEN}\n` });

  it('lists print one JSON array by default and one object per line with --format ndjson; times are ISO 8601', async () => {
    freshState();
    expect((await addCredential('acme')).status).toBe(0);
    expect((await addCredential('globex')).status).toBe(0);
    for (const command of [['credentials', 'list'], ['audit', 'list'], ['review', 'list']]) {
      const array = await botc(command, { env: env() });
      expect(array.status, array.stderr).toBe(0);
      const items = JSON.parse(array.stdout) as Record<string, unknown>[];
      expect(Array.isArray(items)).toBe(true);
      const ndjson = await botc([...command, '--format', 'NDJSON'], { env: env() });
      expect(ndjson.status).toBe(0);
      expect(ndjson.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown)).toEqual(items);
    }
    const credentials = JSON.parse((await botc(['credentials', 'list'], { env: env() })).stdout) as { created_at: string; revoked_at: string | null }[];
    expect(credentials.map((c) => c.created_at)).toEqual([expect.stringMatching(ISO), expect.stringMatching(ISO)]);
    const audit = JSON.parse((await botc(['audit', 'list'], { env: env() })).stdout) as { at: string }[];
    expect(audit.every((e) => ISO.test(e.at))).toBe(true);
    expect((await botc(['audit', 'list', '--format', 'yaml'], { env: env() })).stderr).toMatch(/--format `yaml` is not one of json, ndjson/);
  });

  it('--tenant: lists and verify cover every tenant unless it names one; changes act on `default` without it', async () => {
    freshState();
    expect((await addCredential('acme')).status).toBe(0);
    const all = JSON.parse((await botc(['credentials', 'list'], { env: env() })).stdout) as { tenant: string }[];
    expect(all.map((c) => c.tenant)).toEqual(['acme']);
    expect(JSON.parse((await botc(['credentials', 'list', '--tenant=acme'], { env: env() })).stdout)).toHaveLength(1);
    expect(JSON.parse((await botc(['credentials', 'list', '--tenant', 'globex'], { env: env() })).stdout)).toEqual([]);
    expect(JSON.parse((await botc(['audit', 'list'], { env: env() })).stdout)).toHaveLength(1);
    expect(JSON.parse((await botc(['audit', 'list', '--tenant', 'globex'], { env: env() })).stdout)).toEqual([]);
    // Without --tenant, a change is for tenant `default`: acme's credential stays.
    const revoke = await botc(['credentials', 'revoke', 'mailer'], { env: env() });
    expect(revoke).toMatchObject({ status: 1, stdout: 'no active mailer credential for default\n' });
    const verify = await botc(['audit', 'verify'], { env: env() });
    expect(verify.stdout).toBe('audit log intact: 2 entries across 2 tenant(s)\n');
  });

  it('enums are case-insensitive (`--outcome ok`, `--status PENDING`); an unknown value says did you mean', async () => {
    freshState();
    expect((await addCredential('acme')).status).toBe(0);
    for (const outcome of ['ok', 'OK', 'Ok']) {
      const run = await botc(['audit', 'list', '--outcome', outcome], { env: env() });
      expect((JSON.parse(run.stdout) as { outcome: string }[]).map((e) => e.outcome)).toEqual(['ok']);
    }
    expect(JSON.parse((await botc(['audit', 'list', '--outcome', 'not_found'], { env: env() })).stdout)).toEqual([]);
    const typo = await botc(['audit', 'list', '--outcome', 'auth_forbiden'], { env: env() });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('did you mean `auth_forbidden`?');
    expect((await botc(['review', 'list', '--status', 'PENDING'], { env: env() })).status).toBe(0);
    const status = await botc(['review', 'list', '--status', 'pendng'], { env: env() });
    expect(status.status).toBe(2);
    expect(status.stderr).toContain('did you mean `pending`?');
  });

  it('credentials add refuses a provider the workspace registry does not declare, and a missing --scopes', async () => {
    freshState();
    const unknown = await botc(['credentials', 'add', 'mailr', '--root', FIXTURE, '--scopes', 'mail:send'], { env: env(), stdin: MAILER_TOKEN });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe('botc: provider `mailr` is not in the workspace registry (integrations/manifest.json): did you mean `mailer`?\n  hint: the providers are feed, mailer, partner, ref\n');
    const noScopes = await botc(['credentials', 'add', 'mailer', '--root', FIXTURE], { env: env(), stdin: MAILER_TOKEN });
    expect(noScopes.status).toBe(2);
    expect(noScopes.stderr).toMatch(/needs --scopes/);
    for (const run of [unknown, noScopes]) expect(run.stderr + run.stdout).not.toContain(MAILER_TOKEN);
    expect(JSON.parse((await botc(['credentials', 'list'], { env: env() })).stdout)).toEqual([]);
    // `--scopes ''` says so explicitly.
    const none = await botc(['credentials', 'add', 'mailer', '--root', FIXTURE, '--scopes', ''], { env: env(), stdin: MAILER_TOKEN });
    expect(none.status, none.stderr).toBe(0);
    expect(JSON.parse(none.stdout)).toMatchObject({ tenant: 'default', provider: 'mailer', scopes: [], created_at: expect.stringMatching(ISO) });
  });

  it('review approve <batch_id> approves every pending record of the batch; a re-import reports the right pending count', async () => {
    freshState();
    const pages = { crm: { records: [{ id: 'r1', name: 'Alpha', amount: 1 }, { id: 'r2', name: 'Beta', amount: 2 }, { id: 'r3', name: 'Gamma', amount: 3 }], next_cursor: null } };
    const importEnv = { ...env(), BOTC_PROVIDER_FEED_PAGES: JSON.stringify(pages) };
    const importArgs = ['call', bundle, '--root', FIXTURE, '--tenant', 'acme', '--expert', 'operator', '--tool', 'feed', '--op', 'call', '--args', JSON.stringify({ method_id: 'feed.records.import.v1', params: { source: 'crm' } })];
    const first = await botc(importArgs, { env: importEnv });
    expect(first.status, first.stderr).toBe(1);
    const review = (JSON.parse(first.stdout) as { meta: { review: { batch_id: string; records: number; pending: number } } }).meta.review;
    expect(review).toMatchObject({ records: 3, pending: 3 });

    const approved = await botc(['review', 'approve', review.batch_id, '--tenant', 'acme', '--reviewer', 'dana'], { env: env() });
    expect(approved.status, approved.stderr).toBe(0);
    expect(approved.stdout.trim().split('\n').map((l) => l.replace(/rev_\w+/, 'rev_'))).toEqual(['approved rev_ (feed r1)', 'approved rev_ (feed r2)', 'approved rev_ (feed r3)']);
    const again = await botc(['review', 'approve', review.batch_id, '--tenant', 'acme', '--reviewer', 'dana'], { env: env() });
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(`botc review approve: no pending record in batch ${review.batch_id} for tenant acme\n`);

    // The same three records again, one of them changed: one waits, and the message says so.
    pages.crm.records[1] = { id: 'r2', name: 'Beta 2', amount: 2 };
    const reimport = await botc(importArgs, { env: { ...env(), BOTC_PROVIDER_FEED_PAGES: JSON.stringify(pages) } });
    const result = JSON.parse(reimport.stdout) as { error: { message: string }; meta: { review: { batch_id: string; records: number; pending: number } } };
    expect(result.meta.review).toMatchObject({ records: 3, pending: 1 });
    expect(result.error.message).toMatch(/^1 of 3 imported record\(s\) wait for review/);
    const pending = JSON.parse((await botc(['review', 'list', '--status', 'pending'], { env: env() })).stdout) as { record_key: string; created_at: string }[];
    expect(pending.map((p) => p.record_key)).toEqual(['r2']);
    expect(pending[0]!.created_at).toMatch(ISO);
  });

  it('review reject <batch_id> decides only the records of that tenant', async () => {
    freshState();
    const store = await openStore(state, REPO_ROOT);
    const item = (id: string, tenant: string): ReviewItem => ({
      id, tenant, provider: 'feed', method_id: 'feed.records.import.v1', record_key: id, record_json: '{}', record_sha256: id,
      status: 'pending', batch_id: 'batch_x', created_at: 0, decided_by: null, decided_at: null,
    });
    await store.enqueueImport([item('rev_a', 'acme'), item('rev_b', 'acme')], null);
    await store.close();
    const foreign = await botc(['review', 'reject', 'batch_x', '--tenant', 'globex'], { env: env() });
    expect(foreign.status).toBe(1);
    const rejected = await botc(['review', 'reject', 'batch_x', '--tenant', 'acme'], { env: env() });
    expect(rejected.stdout).toBe('rejected rev_a (feed rev_a)\nrejected rev_b (feed rev_b)\n');
  });

  describe('confirm reads the token from stdin or --token-file, never from the arguments', () => {
    const propose = async (text: string) => {
      const run = await botc(['call', bundle, '--root', FIXTURE, '--tenant', 'acme', '--approver', 'alice', '--expert', 'operator', '--tool', 'mail', '--op', 'call', '--args', JSON.stringify({ method_id: 'mailer.message.send.v1', params: { to: 'ops@example.com', text } })], { env: env() });
      expect(run.status, run.stderr).toBe(1);
      return (JSON.parse(run.stdout) as { meta: { confirmation: { token: string } } }).meta.confirmation.token;
    };
    const confirmArgs = () => ['confirm', bundle, '--root', FIXTURE, '--tenant', 'acme', '--approver', 'alice'];

    it('a token on the command line is refused with a migration message that does not repeat it', async () => {
      freshState();
      expect((await addCredential('acme')).status).toBe(0);
      const token = await propose('Hello.');
      for (const args of [['confirm', token, bundle, '--root', FIXTURE, '--approver', 'alice'], ['confirm', token], [...confirmArgs(), token], [...confirmArgs(), `--token=${token}`], [...confirmArgs(), '--token', token]]) {
        const run = await botc(args, { env: env() });
        expect(run.status).toBe(2);
        expect(run.stdout).toBe('');
        expect(run.stderr).toMatch(/^botc: botc confirm no longer takes the token as an argument: arguments are visible to every user of the machine/);
        expect(run.stderr).toContain(`printf '%s' "$TOKEN" | botc confirm <bundle> --approver NAME`);
        expect(run.stderr).toContain('--token-file FILE');
        expect(run.stderr).not.toContain(token);
      }
      expect(mailer.requests).toEqual([]);
    });

    it('sends once with the token on stdin, and once with --token-file', async () => {
      freshState();
      expect((await addCredential('acme')).status).toBe(0);
      const first = await propose('One.');
      const sent = await botc(confirmArgs(), { env: env(), stdin: `${first}\n` });
      expect(sent.status, sent.stderr).toBe(0);
      expect((JSON.parse(sent.stdout) as { data: unknown }).data).toEqual({ id: 'm1', to: 'ops@example.com', text: 'One.' });

      const second = await propose('Two.');
      const file = path.join(tempDir(), 'token');
      writeFileSync(file, `${second}\n`, { mode: 0o600 });
      const fromFile = await botc([...confirmArgs(), '--token-file', file], { env: env() });
      expect(fromFile.status, fromFile.stderr).toBe(0);
      expect(mailer.requests).toHaveLength(2);

      const empty = await botc(confirmArgs(), { env: env(), stdin: '' });
      expect(empty).toMatchObject({ status: 2, stderr: expect.stringMatching(/^botc: no confirmation token on standard input/) });
      const notToken = await botc(confirmArgs(), { env: env(), stdin: '{"ok": false}' });
      expect(notToken).toMatchObject({ status: 2, stderr: expect.stringMatching(/does not hold a confirmation token/) });
      expect(mailer.requests).toHaveLength(2);
    });
  });
});

describe('the binary (spawned smoke tests)', { timeout: 60_000 }, () => {
  const spawnBotc = (args: string[], cwd: string) => spawnCliSync(args, { cwd });

  it('--version and help answer from any folder', () => {
    const cwd = tempDir();
    const version = spawnBotc(['--version'], cwd);
    expect(version.stdout).toBe('botc 0.1.0\n');
    expect(version.status).toBe(0);
    const help = spawnBotc(['help', 'confirm'], cwd);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: botc confirm <bundle>/);
  });

  it('check from a bot folder checks the whole workspace (the binary starts from its own cwd)', () => {
    const root = walkableWorkspace();
    const run = spawnBotc(['check'], path.join(root, 'bots', 'demo'));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^checked dist\/demo\.bundle\.json [0-9a-f]{12}\nok: 1 bundle, 0 errors, 0 warnings\n$/);
  });
});
