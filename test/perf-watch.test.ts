import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, type BuildResult } from '../src/build/build.ts';
import { watchWorkspace } from '../src/cli/watch.ts';
import { tempDir, writeFiles } from './helpers/workspace.ts';

const MANIFEST = `${JSON.stringify({ bot: 'demo', version: '1.0.0', description: 'A demo bot.', tools: [{ name: 'things', description: 'Reads things.', methods: ['acme.things.list.v1'] }] }, null, 2)}\n`;
const REGISTRY = `${JSON.stringify({ integrations: [{ provider: 'acme', module: 'acme/index.mjs', export: 'AcmeIntegration', classification: 'read_only', modes: ['request_response'], lifecycle: 'active' }] }, null, 2)}\n`;
const MODULE = `export class AcmeIntegration {
  describeMethods() {
    return [{ method_id: 'acme.things.list.v1', provider: 'acme', description: 'Lists things.', input_schema: { type: 'object', additionalProperties: false, properties: {} }, output_schema: { type: 'object' },
      capabilities: ['read'], auth_scopes: [], rate_limit_hint: null, idempotency: 'safe_read', cost_hint: null, deprecated: false, replacement_method_id: null }];
  }
  async authStatus() { return { authenticated: false }; }
  async call() { return { ok: false, error: { code: 'PROVIDER_ERROR', message: 'no', provider_code: null, http_status: null, retriable: false } }; }
}
`;
const EXPERT = '---\nfexp_description: Helps.\nfexp_allow_tools: [things]\n---\nYou help with {{bot.description}}.\n';

describe('botc build --watch', () => {
  it('rebuilds after edits (atomic saves), renames and deletes, with the diagnostics of a fresh build each time, and stops on abort', async () => {
    const root = tempDir();
    writeFiles(root, {
      'bots/demo/manifest.json': MANIFEST,
      'bots/demo/prompts/expert_helper.md': EXPERT,
      'bots/demo/prompts/tool_things.md': '---\ndescription: How.\n---\nList first.\n',
      'prompts/10_rules.md': '---\ndescription: Rules.\n---\nBe kind.\n',
      'integrations/manifest.json': REGISTRY,
      'integrations/acme/index.mjs': MODULE,
    });
    const reports: { result: BuildResult; status: string }[] = [];
    const stop = new AbortController();
    const done = watchWorkspace({
      root,
      rebuild: () => build({ root, write: false, lock: 'ignore' }),
      report: (result, status) => reports.push({ result, status }),
      signal: stop.signal,
      debounceMs: 40,
    });
    const next = async (seen: number) => {
      const deadline = Date.now() + 10_000;
      while (reports.length <= seen) {
        if (Date.now() > deadline) throw new Error(`no rebuild after change ${seen}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      // Let a burst of events settle into its one rebuild, then take the latest.
      await new Promise((r) => setTimeout(r, 150));
      const last = reports.at(-1)!;
      const fresh = await build({ root, write: false, lock: 'ignore', cache: false });
      expect(last.result.diagnostics).toEqual(fresh.diagnostics);
      return last;
    };
    const codes = (r: { result: BuildResult }) => r.result.diagnostics.map((d) => d.code);

    const first = await next(0);
    expect(first.result.ok).toBe(true);
    expect(first.status).toMatch(/^\[\d\d:\d\d:\d\d\] rebuild 1: ok, 0 error\(s\), 0 warning\(s\), 1 bundle\(s\) in \d+ ms/);

    // An editor's atomic save: write a temporary file, rename it over the prompt.
    let seen = reports.length;
    const expert = path.join(root, 'bots/demo/prompts/expert_helper.md');
    writeFileSync(`${expert}.swp`, EXPERT.replace('{{bot.description}}', '{{bot.nope}}'));
    renameSync(`${expert}.swp`, expert);
    const broken = await next(seen);
    expect(broken.result.ok).toBe(false);
    expect(broken.status).toContain('failed, 1 error(s)');

    // Fixed again.
    seen = reports.length;
    writeFileSync(expert, EXPERT);
    expect((await next(seen)).result.ok).toBe(true);

    // A rename: the common block no longer ends in .md.
    seen = reports.length;
    renameSync(path.join(root, 'prompts/10_rules.md'), path.join(root, 'prompts/10_rules.markdown'));
    expect(codes(await next(seen))).toEqual(['prompt-file-misnamed']);

    // A delete: the tool prompt goes.
    seen = reports.length;
    rmSync(path.join(root, 'bots/demo/prompts/tool_things.md'));
    const deleted = await next(seen);
    expect(deleted.result.ok).toBe(false);
    expect(codes(deleted)).toEqual(['tool-prompt-missing', 'prompt-file-misnamed']);

    // A folder renamed: the module is no longer where the registry says.
    seen = reports.length;
    writeFiles(root, { 'bots/demo/prompts/tool_things.md': '---\ndescription: How.\n---\nList first.\n' });
    renameSync(path.join(root, 'integrations/acme'), path.join(root, 'integrations/acme2'));
    expect(codes(await next(seen))).toContain('integration-module-missing');

    // And back: a change inside the renamed-back folder is still seen.
    seen = reports.length;
    renameSync(path.join(root, 'integrations/acme2'), path.join(root, 'integrations/acme'));
    renameSync(path.join(root, 'prompts/10_rules.markdown'), path.join(root, 'prompts/10_rules.md'));
    expect((await next(seen)).result.ok).toBe(true);
    seen = reports.length;
    writeFileSync(path.join(root, 'integrations/acme/index.mjs'), MODULE.replace('Lists things.', 'Lists all things.'));
    const last = await next(seen);
    expect(last.result.ok).toBe(true);

    stop.abort();
    expect(await done).toBe(0);
    // Nothing rebuilds after the stop.
    const count = reports.length;
    writeFileSync(expert, EXPERT.replace('help', 'assist'));
    await new Promise((r) => setTimeout(r, 200));
    expect(reports.length).toBe(count);
  }, 40_000);
});

describe('botc check --watch (the CLI)', () => {
  it('prints a status line per rebuild and stops on SIGINT with the status of the last build', async () => {
    const { spawn } = await import('node:child_process');
    const root = tempDir();
    writeFiles(root, { 'bots/demo/manifest.json': MANIFEST.replace(/"tools": \[[\s\S]*\]\n/, '"tools": []\n'), 'bots/demo/prompts/expert_helper.md': '---\nfexp_description: Helps.\n---\nHi.\n', 'integrations/manifest.json': '{"integrations": []}\n' });
    const bin = path.join(import.meta.dirname, '..', 'bin', 'botc.js');
    const child = spawn(process.execPath, [bin, 'check', '--watch', '--root', root], { env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const waitFor = async (pattern: RegExp) => {
      const deadline = Date.now() + 15_000;
      while (!pattern.test(stdout)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`not seen: ${pattern}\n${stdout}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    await waitFor(/rebuild 1: ok/);
    writeFileSync(path.join(root, 'bots/demo/prompts/expert_helper.md'), '---\nfexp_description: Helps.\n---\nHi {{bot.nope}}.\n');
    await waitFor(/rebuild 2: failed, 1 error\(s\)/);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(1); // the status of the last build
  }, 30_000);
});
