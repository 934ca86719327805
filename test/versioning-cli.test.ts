import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import { main } from '../src/cli/main.ts';
import { REPO_ROOT } from './helpers/cli.ts';

/**
 * `botc lock`, `method-redefined` / `lock-outdated` in check, `botc diff` and `botc impact`, run
 * in process through the CLI's `main`. Workspaces are copies of the example workspace inside the
 * repository (so its integrations resolve `botc/integration` to this package).
 */
const WORK = path.join(REPO_ROOT, '.test-work', `versioning-${process.pid}`);
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

let copies = 0;
function copyExample(edits: Record<string, (text: string) => string> = {}): string {
  const root = path.join(WORK, `ws${copies++}`);
  mkdirSync(root, { recursive: true });
  for (const entry of ['bots', 'prompts', 'integrations', 'botc.lock.json']) {
    cpSync(path.join(REPO_ROOT, entry), path.join(root, entry), { recursive: true });
  }
  for (const [file, edit] of Object.entries(edits)) {
    const target = path.join(root, file);
    writeFileSync(target, edit(readFileSync(target, 'utf8')));
  }
  return root;
}

async function cli(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), isTty: false, env: {} });
  return { status, stdout, stderr };
}

const GITHUB = 'integrations/github/index.ts';
/** Where the id of github.issues.list.v1 is declared in the example's module. */
function idLine(): { line: number; column: number } {
  const lines = readFileSync(path.join(REPO_ROOT, GITHUB), 'utf8').split('\n');
  const index = lines.findIndex((l) => l.includes("'github.issues.list.v1'"));
  return { line: index + 1, column: lines[index]!.indexOf("'github") + 1 };
}
/** Golden diffs do not depend on the exact bytes of the example's modules. */
const stable = (text: string) => text.replace(/\b[0-9a-f]{64}\b/g, '<sha256>');
const narrowLabels = (text: string) => text.replace("maxItems: 10, description: 'Only issues carrying all", "maxItems: 5, description: 'Only issues carrying all");
const widenLabels = (text: string) => text.replace("maxItems: 10, description: 'Only issues carrying all", "maxItems: 20, description: 'Only issues carrying all");

describe('botc lock and the versioning checks', () => {
  it('the example workspace is locked: check is clean, lock is up to date, and its bytes do not change', async () => {
    const root = copyExample();
    const before = readFileSync(path.join(root, 'botc.lock.json'), 'utf8');
    expect((await cli('check', '--root', root)).stdout).toMatch(/ok: 3 bundles, 0 errors, 0 warnings/);
    const lock = await cli('lock', '--root', root);
    expect(lock).toMatchObject({ status: 0 });
    expect(lock.stdout).toMatch(/botc\.lock\.json is up to date: \d+ method/);
    expect(readFileSync(path.join(root, 'botc.lock.json'), 'utf8')).toBe(before);
  });

  it('a breaking change of a locked method fails check at the method id with before → after, and lock refuses it', async () => {
    const root = copyExample({ [GITHUB]: narrowLabels });
    const before = readFileSync(path.join(root, 'botc.lock.json'), 'utf8');
    const result = await build({ root, write: false });
    expect(result.ok).toBe(false);
    const [diagnostic, ...others] = result.diagnostics;
    expect(others).toEqual([]);
    expect(diagnostic).toMatchObject({ code: 'method-redefined', severity: 'error', file: GITHUB, ...idLine() });
    expect(diagnostic!.message).toBe('method `github.issues.list.v1` changed incompatibly since it was locked: /input_schema/properties/labels/maxItems: 10 → 5 (the maximum number of items now rejects values that were accepted)');
    expect(diagnostic!.hint).toMatch(/publish `github\.issues\.list\.v2`.*keep `github\.issues\.list\.v1` until its tools move/);
    const lock = await cli('lock', '--root', root);
    expect(lock.status).toBe(1);
    expect(lock.stdout).toMatch(/\[method-redefined\]/);
    expect(readFileSync(path.join(root, 'botc.lock.json'), 'utf8')).toBe(before);
  });

  it('a compatible change passes with lock-outdated until botc lock records it', async () => {
    const root = copyExample({ [GITHUB]: widenLabels });
    const result = await build({ root, write: false });
    expect(result.ok).toBe(true);
    expect(result.diagnostics.map((d) => [d.code, d.severity, d.file, d.line])).toEqual([['lock-outdated', 'warning', GITHUB, idLine().line]]);
    const lock = await cli('lock', '--root', root);
    expect(lock).toMatchObject({ status: 0 });
    expect(lock.stdout).toMatch(/0 added, 1 updated, 0 removed\n {2}updated github\.issues\.list\.v1/);
    expect((await build({ root, write: false })).diagnostics).toEqual([]);
  });

  it('a new workspace without a lock builds without versioning diagnostics; botc lock creates the lock', async () => {
    const root = copyExample();
    rmSync(path.join(root, 'botc.lock.json'));
    expect((await build({ root, write: false })).diagnostics).toEqual([]);
    const lock = await cli('lock', '--root', root);
    expect(lock.stdout).toMatch(/^wrote botc\.lock\.json: \d+ method\(s\); \d+ added, 0 updated, 0 removed/);
    expect(readFileSync(path.join(root, 'botc.lock.json'), 'utf8')).toBe(readFileSync(path.join(REPO_ROOT, 'botc.lock.json'), 'utf8'));
  });

  it('a broken lock file is one json-syntax error at the lock', async () => {
    const root = copyExample({ 'botc.lock.json': (text) => text.replace('"format": "botc.lock/1"', '"format": "botc.lock/9"') });
    const result = await build({ root, write: false });
    expect(result.diagnostics.map((d) => [d.code, d.file, d.line])).toEqual([['json-syntax', 'botc.lock.json', 2]]);
  });
});

describe('botc diff and botc impact', () => {
  async function buildInto(root: string, out: string): Promise<string> {
    const result = await build({ root, out, lock: 'ignore' });
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return out;
  }

  it('between the example and a copy with one edited prompt, one new tool and one breaking schema change, reports exactly those', async () => {
    const base = await buildInto(copyExample(), path.join(WORK, 'out-base'));
    const edited = copyExample({
      'bots/support_triage/prompts/expert_escalation.md': (t) => t.replace('You are asked about one problem at a time', 'You are asked about exactly one problem at a time'),
      'bots/sales_digest/manifest.json': (t) => t.replace('"tools": [', '"tools": [\n    { "name": "contacts", "description": "Read HubSpot contacts.", "methods": ["hubspot.contacts.get.v1"] },'),
      [GITHUB]: narrowLabels,
    });
    // The new tool needs its prompt and an expert that allows it.
    writeFileSync(path.join(edited, 'bots/sales_digest/prompts/tool_contacts.md'), 'Use `contacts` to look up one HubSpot contact by id.\n');
    const expertFile = path.join(edited, 'bots/sales_digest/prompts/expert_pipeline_analyst.md');
    writeFileSync(expertFile, readFileSync(expertFile, 'utf8').replace(/fexp_allow_tools: \[([^\]]*)\]/, 'fexp_allow_tools: [$1, contacts]'));
    const head = await buildInto(edited, path.join(WORK, 'out-head'));

    const json = await cli('diff', base, head, '--format', 'json');
    const diff = JSON.parse(json.stdout) as import('../src/versioning/diff.ts').BuildDiff;
    const summary = diff.bots.filter((b) => b.change !== 'unchanged').map((b) => ({
      bot: b.bot,
      experts: b.experts.map((e) => `${e.change} ${e.name}: ${e.blocks.map((k) => `${k.change} ${k.kind} ${k.source}`).join(', ')}${e.tools ? ` tools+${e.tools.added.join(',')}` : ''}`),
      tools: b.tools.map((t) => `${t.change} ${t.name}`),
      methods: b.methods.map((m) => `${m.change} ${m.method_id} ${m.compatibility ?? ''}`.trim()),
      integrations: b.integrations.map((i) => `${i.change} ${i.provider}`),
    }));
    // The new tool also changes what the expert sees (its tool block, and a common block that
    // lists the expert's tools); the schema change is a change of the module source too.
    expect(summary).toEqual([
      { bot: 'release_notes', experts: [], tools: [], methods: [], integrations: ['changed github'] },
      {
        bot: 'sales_digest',
        experts: ['changed pipeline_analyst: added tool bots/sales_digest/prompts/tool_contacts.md, changed common prompts/00_safety.md tools+contacts'],
        tools: ['added contacts'], methods: [], integrations: [],
      },
      {
        bot: 'support_triage',
        experts: ['changed escalation: changed expert bots/support_triage/prompts/expert_escalation.md'],
        tools: [], methods: ['changed github.issues.list.v1 breaking'], integrations: ['changed github'],
      },
    ]);
    expect(diff.summary.breaking).toBe(1);

    for (const format of ['pretty', 'markdown', 'github'] as const) {
      const out = await cli('diff', base, head, '--format', format);
      expect(out.status).toBe(0);
      await expect(stable(out.stdout)).toMatchFileSnapshot(`golden/diff/example.${format === 'markdown' ? 'md' : format === 'github' ? 'github.txt' : 'txt'}`);
    }
    await expect(stable(json.stdout)).toMatchFileSnapshot('golden/diff/example.json');
    expect((await cli('diff', base, head, '--fail-on', 'breaking')).status).toBe(1);
    expect((await cli('diff', base, base, '--fail-on', 'any')).status).toBe(0);
    expect((await cli('diff', base, base)).stdout).toBe('no changes\n');
  });

  it('covers every kind of change: experts, blocks, tools, methods, classification, lifecycle and tier', async () => {
    const base = await buildInto(copyExample(), path.join(WORK, 'kinds-base'));
    const edited = copyExample({
      'integrations/manifest.json': (t) => t.replace('"lifecycle": "maintenance"', '"lifecycle": "deprecated"').replace('"tier": 1', '"tier": 2')
        .replace(/("provider": "statuspage",[^}]*?"classification": )"read_only"/s, '$1"inbound"'),
      'bots/support_triage/manifest.json': (t) => t.replace(/\{\s*"name": "pulls",[^}]*\},\s*/s, ''),
      'bots/support_triage/prompts/expert_escalation.md': (t) => t.replace('"issues, pulls, status, notify"', '"issues, status, notify"'),
      [GITHUB]: (t) => widenLabels(t).replace("description: 'List issues of one repository", "description: 'List the issues of one repository"),
      'bots/support_triage/prompts/skill_tone_guide.md': (t) => `${t}\nKeep it short.\n`,
    });
    rmSync(path.join(edited, 'bots/support_triage/prompts/expert_reply_writer.md'));
    rmSync(path.join(edited, 'bots/support_triage/prompts/tool_pulls.md'));
    writeFileSync(path.join(edited, 'bots/support_triage/prompts/expert_watcher.md'), '---\nfexp_description: Watches incidents.\nfexp_allow_tools: [status, notify]\n---\nYou watch the status page.\n');
    const head = await buildInto(edited, path.join(WORK, 'kinds-head'));
    for (const format of ['pretty', 'markdown', 'github', 'json'] as const) {
      const out = await cli('diff', base, head, '--format', format);
      await expect(stable(out.stdout)).toMatchFileSnapshot(`golden/diff/kinds.${format === 'markdown' ? 'md' : format === 'github' ? 'github.txt' : format === 'json' ? 'json' : 'txt'}`);
    }
  });

  it('impact lists the bots, tools and experts that use a method or a provider', async () => {
    const root = copyExample();
    const method = await cli('impact', 'slack.chat.post_message.v1', '--root', root, '--format', 'json');
    const uses = JSON.parse(method.stdout) as { bot: string; tool: string; methods: string[]; experts: string[] }[];
    expect(uses.find((u) => u.bot === 'support_triage')).toEqual({ bot: 'support_triage', tool: 'notify', methods: ['slack.chat.post_message.v1'], experts: ['escalation'] });
    expect(uses.every((u) => u.methods.includes('slack.chat.post_message.v1'))).toBe(true);
    const provider = await cli('impact', 'github', '--root', root);
    expect(provider.status).toBe(0);
    expect(provider.stdout).toMatch(/^release_notes › /m);
    expect(provider.stdout).toMatch(/^support_triage › issues \(github\.issues\.list\.v1, github\.issues\.get\.v1, github\.issues\.search\.v2\): experts escalation, triager/m);
    expect((await cli('impact', 'nothing.here.v1', '--root', root)).stdout).toBe('nothing uses nothing.here.v1\n');
  });

  it('usage errors exit 2', async () => {
    expect((await cli('diff', 'only-one')).status).toBe(2);
    expect((await cli('diff', 'a', 'b', '--format', 'xml')).status).toBe(2);
    expect((await cli('impact')).status).toBe(2);
  });
});
