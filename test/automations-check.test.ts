import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { check } from '../src/build/build.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { tempDir } from './helpers/workspace.ts';

/** The valid-full fixture (bot `desk`: expert `announcer` may use `notify`, whose chat.messages.post.v1 is a write). */
const VALID_FULL = fileURLToPath(new URL('./fixtures/valid-full/', import.meta.url));

let root: string;
beforeAll(() => {
  root = tempDir('botc-automations-');
  cpSync(VALID_FULL, root, { recursive: true });
  rmSync(path.join(root, 'expected'), { recursive: true, force: true });
  mkdirSync(path.join(root, 'automations'));
  // The fixture's modules import `botc/integration`, as a workspace with botc installed does.
  mkdirSync(path.join(root, 'node_modules'));
  symlinkSync(REPO_ROOT, path.join(root, 'node_modules', 'botc'), 'dir');
});

const good = {
  on: 'review.approved',
  filter: { provider: 'tracker' },
  propose: { bot: 'desk', expert: 'announcer', tool: 'notify', method_id: 'chat.messages.post.v1', params: { channel: '#on-call', text: 'An import was approved.' } },
};

async function diagnosticsFor(automation: unknown) {
  const file = path.join(root, 'automations', 'a.json');
  writeFileSync(file, JSON.stringify(automation, null, 2));
  try {
    return (await check({ root })).diagnostics;
  } finally {
    rmSync(file);
  }
}

describe('automations/<name>.json is checked by the build (automation-invalid)', () => {
  it('accepts an automation that proposes an outbound write with valid params', async () => {
    expect(await diagnosticsFor(good)).toEqual([]);
  }, 60_000);

  it.each([
    ['an unknown event type', { ...good, on: 'review.aproved' }, /on/, /the events are/],
    ['an unknown bot', { ...good, propose: { ...good.propose, bot: 'dsk' } }, /no bot of the workspace/, /did you mean `desk`/],
    ['a tool the expert may not use', { ...good, propose: { ...good.propose, tool: 'insight' } }, /may not use a tool `insight`/, /its tools/],
    ['a method the tool does not have', { ...good, propose: { ...good.propose, method_id: 'chat.messages.pots.v1' } }, /has no method/, /did you mean `chat.messages.post.v1`/],
    ['a read, which would run without a person', { ...good, propose: { ...good.propose, method_id: 'chat.channels.list.v1', params: {} } }, /not an outbound write/, /write capability/],
    ['params that break the input schema', { ...good, propose: { ...good.propose, params: { channel: '#on-call' } } }, /do not match the input schema/, /parameters/],
    ['an unknown key', { ...good, execute: true }, /unknown key `execute`/, /an automation is/],
  ])('refuses %s with one located diagnostic', async (_name, automation, message, hint) => {
    const diagnostics = await diagnosticsFor(automation);
    expect(diagnostics).toHaveLength(1);
    const [d] = diagnostics;
    expect(d).toMatchObject({ code: 'automation-invalid', file: 'automations/a.json' });
    expect(d!.line).toBeGreaterThan(1);
    expect(d!.message).toMatch(message);
    expect(d!.hint).toMatch(hint);
  }, 60_000);
});
