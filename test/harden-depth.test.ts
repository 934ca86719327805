/**
 * Nesting-depth limits before parsing, and a CLI that exits on every path (no worker or child
 * process left alive). The CLI runs as CI runs it, in a child process with a timeout: a hang
 * fails the test instead of freezing the run. bin/ runs the compiled lib/ (`npm run build:lib`).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkJsonDepth, checkYamlDepth, MAX_NESTING_DEPTH } from '../src/load/depth.ts';
import { LineIndex } from '../src/load/text.ts';
import { REPO_ROOT, spawnCliSync } from './helpers/cli.ts';
import { checkWorkspace, tempDir, writeWorkspace } from './helpers/workspace.ts';

const DEEP = 10_000;
const deepManifest = `{"bot": "demo", "version": "1.0.0", "description": "A demo bot.", "tools": [], "x": ${'['.repeat(DEEP)}${']'.repeat(DEEP)}}\n`;
/** One integration, so that the build starts its schema worker. */
const INTEGRATION = {
  'integrations/manifest.json': JSON.stringify({
    integrations: [{ provider: 'acme', module: 'acme/index.mjs', classification: 'read_only', modes: ['request_response'], lifecycle: 'active' }],
  }),
  'integrations/acme/index.mjs': `export default class Acme {
  describeMethods() { return [{ method_id: 'acme.items.list.v1', provider: 'acme', description: 'Lists items.',
    input_schema: { type: 'object', additionalProperties: false }, output_schema: { type: 'object' },
    capabilities: ['read'], auth_scopes: [], rate_limit_hint: null, idempotency: 'safe_read', cost_hint: null,
    deprecated: false, replacement_method_id: null }]; }
  authStatus() { return { authenticated: false }; }
  call() { return undefined; }
}
`,
};

describe('nesting depth is bounded before parsing', () => {
  test('a manifest nested 10,000 deep is one json-syntax error at the bracket past the limit, and the CLI exits', () => {
    const root = writeWorkspace({ ...INTEGRATION, 'bots/demo/manifest.json': deepManifest });
    const run = spawnCliSync(['check', '--root', root, '--format', 'json'], { timeout: 15_000 });
    expect(run.signal).toBeNull();
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as { diagnostics: { code: string; file: string; line: number; column: number; message: string }[] };
    expect(report.diagnostics).toHaveLength(1);
    expect(report.diagnostics[0]).toMatchObject({ code: 'json-syntax', file: 'bots/demo/manifest.json', line: 1 });
    expect(report.diagnostics[0]!.column).toBe(deepManifest.indexOf('[', deepManifest.indexOf('"x"')) + MAX_NESTING_DEPTH); // the object is level 1
    expect(report.diagnostics[0]!.message).toContain(`deeper than ${MAX_NESTING_DEPTH} levels`);
  });

  test('front matter nested 10,000 deep (flow and block) is frontmatter-invalid, not a crash', async () => {
    const flow = `---\nfexp_description: Helps.\nx: ${'['.repeat(DEEP)}${']'.repeat(DEEP)}\n---\nHi.\n`;
    const block = `---\nfexp_description: Helps.\nx: \n${'- '.repeat(DEEP)}a\n---\nHi.\n`;
    for (const expert of [flow, block]) {
      const result = await checkWorkspace(writeWorkspace({ 'bots/demo/prompts/expert_helper.md': expert }));
      expect(result.ok).toBe(false);
      expect(result.diagnostics.map((d) => [d.code, d.file])).toEqual([['frontmatter-invalid', 'bots/demo/prompts/expert_helper.md']]);
      expect(result.diagnostics[0]!.message).toContain('nests deeper than');
    }
  });

  test('the scans count only real nesting: brackets in strings, quotes and comments do not count', () => {
    const inString = JSON.stringify({ text: '['.repeat(1000) });
    expect(checkJsonDepth(inString)).toBeUndefined();
    expect(checkJsonDepth(`{"a": "\\"[[["}`, 1)).toBeUndefined();
    expect(checkJsonDepth(`${'['.repeat(MAX_NESTING_DEPTH)}${']'.repeat(MAX_NESTING_DEPTH)}`)).toBeUndefined();
    expect(checkJsonDepth(`${'['.repeat(MAX_NESTING_DEPTH + 1)}`)?.at).toEqual({ line: 1, column: MAX_NESTING_DEPTH + 1 });
    const yaml = `a: "${'['.repeat(100)}"\nb: '{{{{{{{{{{{{{{'\nc: x # ${'['.repeat(100)}\nd: [a, [b, {c: d}]]\n`;
    expect(checkYamlDepth(yaml, new LineIndex(yaml, 1))).toBeUndefined();
    const deepBlock = Array.from({ length: 70 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
    // Line 1 opens level 1; line 65 opens level 65.
    expect(checkYamlDepth(deepBlock, new LineIndex(deepBlock))?.at.line).toBe(MAX_NESTING_DEPTH + 1);
  });
});

describe('the CLI exits on every path', () => {
  test('a build that throws still stops its schema worker: main() returns and the process ends on its own', () => {
    // A preload makes JSON.parse throw for the bot manifest only (standing in for any defect that
    // escapes as an exception); main() is called without bin/'s process.exit, so a worker left
    // running would keep this process alive until the timeout.
    const dir = tempDir();
    const root = writeWorkspace({ ...INTEGRATION, 'bots/demo/manifest.json': '{"bot": "demo", "marker": "THROW-HERE"}\n' });
    const preload = path.join(dir, 'throw.mjs');
    writeFileSync(
      preload,
      `const parse = JSON.parse;
JSON.parse = (text, ...rest) => {
  const value = parse(text, ...rest);
  if (String(text).includes('THROW-HERE')) Object.defineProperty(value, 'bot', { enumerable: true, get() { throw new RangeError('Maximum call stack size exceeded'); } });
  return value;
};
`,
    );
    const script = `const { main } = await import(${JSON.stringify(path.join(REPO_ROOT, 'lib/cli-bundle/main.js'))});
const status = await main(['check', '--root', ${JSON.stringify(root)}], { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), isTty: false, env: {} });
process.exitCode = status;
`;
    const scriptFile = path.join(dir, 'run.mjs');
    writeFileSync(scriptFile, script);
    const run = spawnSync(process.execPath, ['--import', preload, scriptFile], { encoding: 'utf8', timeout: 15_000 });
    expect(run.signal).toBeNull();
    expect(run.stderr).toContain('internal error: Maximum call stack size exceeded');
    expect(run.status).toBe(2);
  });
});
