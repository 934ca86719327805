/**
 * The deployment setting "any person may approve" on the command line: `runtime.any_approver`
 * in botc.config.json, never an argument of the call. Runs the CLI in process (`main(argv, io)`)
 * against a copy of test/fixtures-governance/ and a loopback mail API.
 */
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import { openSqliteStore } from '../src/state/sqlite.ts';
import { REPO_ROOT, runCli } from './helpers/cli.ts';
import { tempDir } from './helpers/workspace.ts';
import { MAILER_TOKEN, startMailer, type MailerFake } from './servers/mailer.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures-governance/', import.meta.url));
let mailer: MailerFake;

beforeAll(async () => {
  mailer = await startMailer();
});

afterAll(async () => {
  await mailer?.stop();
});

/** A built copy of the governance workspace; its bundle path. */
async function workspace(): Promise<{ root: string; bundle: string }> {
  const root = path.join(tempDir('botc-gov-cli-any-'), 'ws');
  cpSync(FIXTURE, root, { recursive: true });
  // The modules import `botc/integration`: this checkout, as an installed package would be.
  mkdirSync(path.join(root, 'node_modules'));
  symlinkSync(REPO_ROOT, path.join(root, 'node_modules', 'botc'));
  const built = await build({ root, write: true });
  expect(built.diagnostics).toEqual([]);
  return { root, bundle: path.join(root, 'dist', 'govbot.bundle.json') };
}

async function call(root: string, bundle: string, extra: string[] = []) {
  const state = path.join(root, 'state.db');
  const args = ['call', bundle, '--root', root, '--state', state, '--tenant', 'acme', '--expert', 'operator', '--tool', 'mail', '--op', 'call',
    '--args', JSON.stringify({ method_id: 'mailer.message.send.v1', params: { to: 'ops@example.com', text: 'Hi.' } }), ...extra];
  const run = await runCli(args, {
    env: { BOTC_PROVIDER_MAILER_BASE_URL: `${mailer.baseUrl}/`, BOTC_PROVIDER_MAILER_ALLOW_PRIVATE_NETWORK: 'true', BOTC_CREDENTIAL_MAILER: MAILER_TOKEN, BOTC_CREDENTIAL_MAILER_SCOPES: 'mail:send' },
  });
  return { status: run.status, result: JSON.parse(run.stdout) as { ok: boolean; error?: { code: string; message: string }; meta: Record<string, unknown> }, state };
}

it('botc call without --approver is refused unless botc.config.json lets any person approve; `*` is never an argument', async () => {
  const open = await workspace();
  const refused = await call(open.root, open.bundle);
  expect(refused.status).toBe(1);
  expect(refused.result.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/needs the person who must approve/) });

  // The deployment's setting, read when the runtime starts.
  writeFileSync(path.join(open.root, 'botc.config.json'), JSON.stringify({ runtime: { any_approver: true } }));
  const proposed = await call(open.root, open.bundle);
  expect(proposed.status).toBe(1);
  expect(proposed.result.error?.code).toBe('CONFIRMATION_REQUIRED');
  const confirmation = proposed.result.meta['confirmation'] as { id: string; approver: string };
  expect(confirmation.approver).toBe('*');
  // The confirmation records the bundle file that proposed it.
  const store = openSqliteStore(proposed.state);
  try {
    expect(await store.getConfirmationById(confirmation.id)).toMatchObject({ bot: 'govbot', bundle_path: open.bundle });
  } finally {
    await store.close();
  }
  expect((await call(open.root, open.bundle, ['--approver', '*'])).result.error?.code).toBe('VALIDATION_FAILED');
  expect(mailer.requests).toEqual([]);
}, 60_000);
