import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, type Io } from '../src/cli/main.ts';
import { tempDir } from './helpers/workspace.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'valid-full');
const BUNDLE = path.join(FIXTURE, 'expected', 'desk.bundle.json');

async function run(argv: string[], cwd = FIXTURE) {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd, env: {} };
  const status = await main(argv, io);
  return { status, stdout, stderr };
}

describe('botc explain', () => {
  it('lists the blocks of an expert and why each conditional common block is in or out (golden)', async () => {
    const triager = await run(['explain', BUNDLE, '--expert', 'triager']);
    expect(triager.stderr).toBe('');
    expect(triager.status).toBe(0);
    await expect(triager.stdout).toMatchFileSnapshot('golden/explain/desk-triager.txt');
    const announcer = await run(['explain', BUNDLE, '--expert', 'announcer', '--format', 'json']);
    expect(announcer.status).toBe(0);
    await expect(announcer.stdout).toMatchFileSnapshot('golden/explain/desk-announcer.json');
    const parsed = JSON.parse(announcer.stdout) as { common: { file: string; included: boolean; reason: string }[] };
    expect(parsed.common.find((c) => c.file === 'prompts/10_outbound.md')).toMatchObject({ included: true, reason: 'the expert has notify' });
    expect(parsed.common.find((c) => c.file === 'prompts/20_insight.md')).toMatchObject({ included: false, reason: 'the expert has none of insight' });
  });

  it('marks a source changed since the bundle was built, and a common block added since', async () => {
    const root = tempDir();
    cpSync(FIXTURE, root, { recursive: true });
    writeFileSync(path.join(root, 'prompts', '10_outbound.md'), '---\ndescription: Changed.\nwhen_tools_any: [notify]\n---\nChanged text.\n');
    writeFileSync(path.join(root, 'prompts', '30_new.md'), '---\ndescription: New.\n---\nNew text.\n');
    const result = await run(['explain', path.join(root, 'expected', 'desk.bundle.json'), '--expert', 'announcer', '--format', 'json', '--root', root], root);
    const parsed = JSON.parse(result.stdout) as { blocks: { source: string; source_changed: boolean }[]; common: { file: string; included: boolean; reason: string }[] };
    expect(parsed.blocks.find((b) => b.source === 'prompts/10_outbound.md')?.source_changed).toBe(true);
    expect(parsed.blocks.find((b) => b.source === 'prompts/00_rules.md')?.source_changed).toBe(false);
    expect(parsed.common.find((c) => c.file === 'prompts/10_outbound.md')?.reason).toContain('changed since the bundle was built');
    expect(parsed.common.find((c) => c.file === 'prompts/30_new.md')).toMatchObject({ included: false, reason: 'added after the bundle was built' });
  });

  it('an unknown expert, a missing --expert or a missing bundle is bad usage (exit 2)', async () => {
    const unknown = await run(['explain', BUNDLE, '--expert', 'nobody']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('has no expert `nobody`');
    expect(unknown.stderr).toContain('experts: announcer, triager');
    expect((await run(['explain', BUNDLE])).status).toBe(2);
    expect((await run(['explain', path.join(FIXTURE, 'nope.json'), '--expert', 'triager'])).status).toBe(2);
  });
});
