/**
 * The CLI as users and CI run it, in process through `main(argv, io)` (the entry bin/botc.js
 * calls). One smoke test spawns `node bin/botc.js`, which runs the compiled lib/ that `npm test`
 * builds first (pretest).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { main } from '../src/cli/main.ts';
import type { Diagnostic } from '../src/diagnostics/diagnostic.ts';
import { REPO_ROOT, runCli, spawnCliSync } from './helpers/cli.ts';
import { positionOf, tempDir, writeWorkspace } from './helpers/workspace.ts';

const EXAMPLE_BOTS = readdirSync(path.join(REPO_ROOT, 'bots'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

const ESC = '\u001b[';

interface JsonReport {
  ok: boolean;
  diagnostics: Diagnostic[];
  bundles: { bot: string; path: string; digest: string }[];
}

function readBundles(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).sort().map((name) => [name, readFileSync(path.join(dir, name))]));
}

/** A workspace with two errors at known places. */
function brokenWorkspace() {
  const expert = '---\nfexp_description: Helps.\n---\nYou help {{nope}} today.\n';
  const manifest = '{\n  "bot": "demo",\n  "version": "1",\n  "description": "A demo bot.",\n  "tools": []\n}\n';
  const root = writeWorkspace({ 'bots/demo/prompts/expert_helper.md': expert, 'bots/demo/manifest.json': manifest });
  return {
    root,
    template: { file: 'bots/demo/prompts/expert_helper.md', ...positionOf(expert, 'nope') },
    version: { file: 'bots/demo/manifest.json', ...positionOf(manifest, '"version"') },
  };
}

describe('botc CLI', { timeout: 60_000 }, () => {
  test('check on the example workspace exits 0 with a summary line', () => {
    expect(EXAMPLE_BOTS).toHaveLength(3);
    const run = spawnCliSync(['check']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^ok: 3 bundles, 0 errors, \d+ warnings?$/);
    for (const bot of EXAMPLE_BOTS) expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^checked dist/${bot}\\.bundle\\.json [0-9a-f]{12}$`)));
    expect(run.stdout).not.toContain(ESC);
  });

  test('build --out writes one bundle per bot, byte-identical across builds and output folders', async () => {
    const first = tempDir();
    const second = tempDir();
    expect((await runCli(['build', '--out', first])).status).toBe(0);
    const once = readBundles(first);
    expect([...once.keys()]).toEqual(EXAMPLE_BOTS.map((b) => `${b}.bundle.json`));

    expect((await runCli(['build', '--out', first])).status).toBe(0);
    expect((await runCli(['build', '--out', second])).status).toBe(0);
    expect(readBundles(first)).toEqual(once);
    expect(readBundles(second)).toEqual(once);
    for (const bytes of once.values()) {
      const text = bytes.toString('utf8');
      expect(text).not.toContain(REPO_ROOT);
      expect(text).not.toContain(first);
    }
  });

  test('a rebuild says which bundle files it left as they were (`unchanged`), in text only', async () => {
    const root = writeWorkspace({
      'bots/other/manifest.json': `${JSON.stringify({ bot: 'other', version: '1.0.0', description: 'Another bot.', tools: [] }, null, 2)}\n`,
      'bots/other/prompts/expert_helper.md': '---\nfexp_description: Helps too.\n---\nYou also help with {{bot.description}}.\n',
    });
    const lines = async () => (await runCli(['build', '--root', root])).stdout.split('\n').filter((line) => line.includes('.bundle.json')).map((line) => line.split(' ').slice(0, 2).join(' '));
    expect(await lines()).toEqual(['wrote dist/demo.bundle.json', 'wrote dist/other.bundle.json']);
    // Answered whole by the cache: every file already in place.
    expect(await lines()).toEqual(['unchanged dist/demo.bundle.json', 'unchanged dist/other.bundle.json']);
    // One bot edited: the other one is reused, its file left as it is.
    writeFileSync(path.join(root, 'bots/demo/prompts/expert_helper.md'), '---\nfexp_description: Helps with demos.\n---\nYou help with {{bot.description}}, briefly.\n');
    expect(await lines()).toEqual(['wrote dist/demo.bundle.json', 'unchanged dist/other.bundle.json']);
    const json = JSON.parse((await runCli(['build', '--root', root, '--format', 'json'])).stdout) as { bundles: object[] };
    for (const bundle of json.bundles) expect(Object.keys(bundle).sort()).toEqual(['bot', 'digest', 'path']);
  });

  test('--out resolves against the working directory and keeps spaces and `#` in the path', async () => {
    const parent = tempDir();
    const out = path.join(parent, 'my out #1');
    const run = await runCli(['build', '--out', 'my out #1', '--root', REPO_ROOT, '--format', 'json'], { cwd: parent });
    expect(run.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual(EXAMPLE_BOTS.map((b) => `${b}.bundle.json`));
    expect(readdirSync(parent)).toEqual(['my out #1']);
    const report = JSON.parse(run.stdout) as JsonReport;
    expect(report.bundles.map((b) => b.path)).toEqual(EXAMPLE_BOTS.map((b) => path.join(out, `${b}.bundle.json`)));
  });

  test('--format json prints one parseable document {ok, diagnostics, bundles}', async () => {
    const out = tempDir();
    const run = await runCli(['build', '--out', out, '--format', 'json']);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as JsonReport;
    expect(Object.keys(report).sort()).toEqual(['bundles', 'diagnostics', 'ok']);
    expect(report.ok).toBe(true);
    expect(report.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(report.bundles.map((b) => b.bot)).toEqual(EXAMPLE_BOTS);
    for (const bundle of report.bundles) {
      expect(Object.keys(bundle).sort()).toEqual(['bot', 'digest', 'path']);
      expect(bundle.digest).toMatch(/^[0-9a-f]{64}$/);
      const written = JSON.parse(readFileSync(bundle.path, 'utf8')) as { digest: string; bot: { id: string } };
      expect(written.digest).toBe(bundle.digest);
      expect(written.bot.id).toBe(bundle.bot);
    }

    const check = JSON.parse((await runCli(['check', '--format', 'json'])).stdout) as JsonReport;
    expect(check.bundles).toEqual(report.bundles.map((b) => ({ ...b, path: `dist/${b.bot}.bundle.json` })));
  });

  test('--format json on a broken workspace: ok false, located diagnostics, no bundles, exit 1', async () => {
    const { root, template, version } = brokenWorkspace();
    const run = await runCli(['check', '--root', root, '--format', 'json']);
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as JsonReport;
    expect(report.ok).toBe(false);
    expect(report.bundles).toEqual([]);
    expect(report.diagnostics.map(({ code, file, line, column }) => ({ code, file, line, column }))).toEqual([
      { code: 'manifest-invalid', ...version },
      { code: 'template-error', ...template },
    ]);
  });

  test('--format github prints ::error annotations and exits 1', async () => {
    const { root, template, version } = brokenWorkspace();
    const run = await runCli(['check', '--root', root, '--format', 'github']);
    expect(run.status).toBe(1);
    const annotations = run.stdout.split('\n').filter((l) => l.startsWith('::'));
    expect(annotations).toHaveLength(2);
    for (const line of annotations) expect(line).toMatch(/^::error file=[^,:]+,line=\d+,col=\d+(,title=[a-z-]+)?::\S/);
    expect(annotations[0]).toContain(`::error file=${version.file},line=${version.line},col=${version.column},`);
    expect(annotations[1]).toContain(`::error file=${template.file},line=${template.line},col=${template.column},`);
    expect(annotations[1]).toContain('title=template-error::');
    expect(annotations[1]).toContain('unknown name `nope`');
  });

  test('--bot builds a subset', async () => {
    const out = tempDir();
    const run = await runCli(['build', '--out', out, '--bot', 'support_triage', '--format', 'json']);
    expect(run.status).toBe(0);
    expect((JSON.parse(run.stdout) as JsonReport).bundles.map((b) => b.bot)).toEqual(['support_triage']);
    expect(readdirSync(out)).toEqual(['support_triage.bundle.json']);

    const two = JSON.parse((await runCli(['check', '--bot', 'support_triage', '--bot', 'release_notes', '--format', 'json'])).stdout) as JsonReport;
    expect(two.bundles.map((b) => b.bot)).toEqual(['release_notes', 'support_triage']);
  });

  test.each([
    ['an unknown --bot', ['check', '--root', REPO_ROOT, '--bot', 'nope'], /nope/],
    ['an unknown flag', ['check', '--frobnicate'], /--frobnicate/],
    ['a bad --format', ['check', '--format', 'xml'], /--format.*xml/],
    ['a missing --format value', ['check', '--format'], /--format/],
    ['a positional argument', ['build', 'extra'], /extra|positional/i],
    ['an unknown command', ['compile'], /unknown command/],
    ['a missing root', ['check', '--root', '/nonexistent/botc-root'], /nonexistent/],
  ])('%s exits 2 with a message on stderr', async (_name, args, message) => {
    const out = tempDir();
    const run = await runCli(args, { cwd: out });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^botc: /);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
    expect(readdirSync(out)).toEqual([]);
  });

  test('pretty output on a broken workspace: location, code frame with a caret under the column, hint; no colour', async () => {
    const { root, template } = brokenWorkspace();
    const run = await runCli(['check', '--root', root]);
    expect(run.status).toBe(1);
    expect(run.stdout).not.toContain(ESC);
    const lines = run.stdout.split('\n');
    const head = lines.findIndex((l) => l.startsWith(`${template.file}:${template.line}:${template.column} error [template-error]`));
    expect(head).toBeGreaterThanOrEqual(0);
    const frameLine = lines.slice(head).find((l) => /^\s*>\s*\d+ \| /.test(l))!;
    expect(frameLine).toMatch(new RegExp(`^\\s*> ${template.line} \\| You help \\{\\{nope\\}\\} today\\.$`));
    const caretLine = lines[lines.indexOf(frameLine) + 1]!;
    expect(caretLine.trim()).toMatch(/^\| +\^$/);
    const contentStart = frameLine.indexOf('| ') + 2;
    expect(caretLine.indexOf('^')).toBe(contentStart + template.column - 1);
    expect(frameLine.slice(caretLine.indexOf('^'))).toMatch(/^nope/);
    const hint = lines.slice(head + 1).find((l) => l.trimStart().startsWith('hint:'));
    expect(hint).toMatch(/^ {2}hint: available here: `bot`, `expert`, `tools`, `skills`; if the braces are meant as text, a literal `\{\{` is written `\\\{\{`/);
    expect(lines.filter((l) => l.length > 0).at(-1)).toBe('failed: 2 errors, 0 warnings');
  });

  test('colour is used only on a TTY without NO_COLOR', async () => {
    const { root } = brokenWorkspace();
    const render = async (isTty: boolean, env: NodeJS.ProcessEnv) => {
      let stdout = '';
      const status = await main(['check', '--root', root], { stdout: (t) => void (stdout += t), stderr: () => undefined, isTty, env });
      expect(status).toBe(1);
      return stdout;
    };
    expect(await render(true, {})).toContain(ESC);
    expect(await render(true, { NO_COLOR: '1' })).not.toContain(ESC);
    expect(await render(false, {})).not.toContain(ESC);
  });
});
