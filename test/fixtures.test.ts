import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { check, type BuildResult } from '../src/build/build.ts';
import { serializeBundle, type Bundle } from '../src/bundle/format.ts';
import { renderPretty } from '../src/cli/render.ts';
import { WorkspaceFiles } from '../src/load/files.ts';
import { DIAGNOSTIC_CODES, type DiagnosticCode } from '../src/diagnostics/codes.ts';
import type { Diagnostic } from '../src/diagnostics/diagnostic.ts';

/**
 * One table-driven test over every workspace in test/fixtures/ (discovered, not listed):
 *
 * - `valid-*` build (warnings allowed) and their bundles match the golden files in
 *   `<fixture>/expected/<bot>.bundle.json`, byte for byte, on every build;
 * - `invalid-<code>[-<variant>]` fail with diagnostics of that one code only, which proves
 *   that one mistake never cascades into several codes.
 *
 * Every fixture also has `<fixture>/expected/pretty.txt`: the `pretty` text `botc check` prints
 * for it (no colour), so a change of wording shows in review.
 *
 * Each fixture's expected.json lists every diagnostic (code, severity, file, line, column) in
 * output order, and optionally `hint_includes` / `message_includes` strings that some
 * diagnostic's hint / message must contain.
 */

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const CODES = Object.keys(DIAGNOSTIC_CODES) as DiagnosticCode[];
/** Needs a lock file of earlier releases; covered by its own tests, not by a fixture workspace. */
const NOT_COVERED_BY_FIXTURES: readonly DiagnosticCode[] = [];
/** Fixture builds import integration modules through tsx; the first import in a worker is slow. */
const TIMEOUT = 60_000;

const fixtures = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

type ExpectedDiagnostic = Pick<Diagnostic, 'code' | 'severity' | 'file' | 'line' | 'column'>;

interface Expected {
  ok: boolean;
  diagnostics: ExpectedDiagnostic[];
  hint_includes?: string[];
  message_includes?: string[];
}

function readExpected(name: string): Expected {
  return JSON.parse(readFileSync(path.join(FIXTURES, name, 'expected.json'), 'utf8')) as Expected;
}

/** `invalid-<code>[-<variant>]` → `<code>`: the longest code the rest of the name starts with. */
function codeOf(name: string): DiagnosticCode | undefined {
  const rest = name.replace(/^invalid-/, '');
  return CODES.filter((code) => rest === code || rest.startsWith(`${code}-`)).sort((a, b) => b.length - a.length)[0];
}

/**
 * Builds started ahead of their tests. A fixture build spends much of its time waiting on the
 * module loader's child process and the bundler; with the next builds already under way, this
 * worker computes while it waits. Each fixture is still built on its own, once (its tests share
 * the result), and the result each test checks is the same whenever its build started.
 */
const LOOKAHEAD = 2;
const builds = new Map<string, Promise<BuildResult>>();
function startBuild(name: string): Promise<BuildResult> {
  let result = builds.get(name);
  if (!result) {
    result = check({ root: path.join(FIXTURES, name) });
    // A build started ahead that fails is reported by the test that awaits it, not as unhandled.
    result.catch(() => undefined);
    builds.set(name, result);
  }
  return result;
}
function buildOnce(name: string): Promise<BuildResult> {
  const index = fixtures.indexOf(name);
  for (const next of fixtures.slice(index + 1, index + 1 + LOOKAHEAD)) startBuild(next);
  return startBuild(name);
}

function located({ code, severity, file, line, column }: Diagnostic): ExpectedDiagnostic {
  return { code, severity, file, ...(line === undefined ? {} : { line }), ...(column === undefined ? {} : { column }) };
}

/**
 * Line and column point into a real line of a real file. A diagnostic may be file-level only
 * when there is no line to point at: its `file` is a folder or does not exist (`expert-missing`
 * on `prompts/`, `integration-unregistered` on a folder, `manifest-invalid` on a bot folder with
 * an invalid name or a missing manifest.json, `integration-registry-invalid` on a missing
 * registry), or the path itself is the problem (`unsafe-path` on a badly named prompt file,
 * `prompt-file-misnamed`).
 */
function expectLocated(root: string, diagnostic: Diagnostic): void {
  const { file, line, column } = diagnostic;
  expect(file, 'workspace-relative with `/`').toMatch(/^[^/\\][^\\]*$/);
  expect(path.isAbsolute(file)).toBe(false);
  const absolute = path.join(root, ...file.split('/'));
  const isFile = statSync(absolute, { throwIfNoEntry: false })?.isFile() ?? false;
  if (line === undefined || column === undefined) {
    expect(line, `${diagnostic.code} has a line but no column`).toBeUndefined();
    expect(column, `${diagnostic.code} has a column but no line`).toBeUndefined();
    expect(!isFile || diagnostic.code === 'unsafe-path' || diagnostic.code === 'prompt-file-misnamed', `${diagnostic.code} on ${file} needs a line and column`).toBe(true);
    return;
  }
  expect(isFile, `${file} is a file`).toBe(true);
  const lines = readFileSync(absolute, 'utf8').split('\n');
  expect(Number.isInteger(line) && line >= 1 && line <= lines.length, `line ${line} of ${file}`).toBe(true);
  expect(Number.isInteger(column) && column >= 1 && column <= lines[line - 1]!.length + 1, `column ${column} of ${file}:${line}`).toBe(true);
}

const codePoints = (text: string) => Array.from(text);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const BLOCK_ORDER = ['personality', 'expert', 'skill', 'tool', 'common'];

/** SPEC §4 and §7: blocks in order, each at its offsets, joined by one blank line, ending with `\n`. */
function expectAssembled(bundle: Bundle): void {
  for (const expert of bundle.experts) {
    const prompt = codePoints(expert.system_prompt);
    const texts = expert.blocks.map((block) => prompt.slice(block.start, block.end).join(''));
    expect(`${texts.join('\n\n')}\n`).toBe(expert.system_prompt);
    expect(texts.map(sha256)).toEqual(expert.blocks.map((b) => b.sha256));
    const ranks = expert.blocks.map((b) => BLOCK_ORDER.indexOf(b.kind));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(expert.blocks.filter((b) => b.kind === 'tool').map((b) => b.source)).toEqual(
      expert.tools.map((tool) => `bots/${bundle.bot.id}/prompts/tool_${tool}.md`),
    );
  }
}

describe('fixture workspaces', () => {
  it('are named valid-* or invalid-<code>[-<variant>]', () => {
    expect(fixtures.length).toBeGreaterThan(0);
    for (const name of fixtures) {
      if (name.startsWith('valid-')) continue;
      expect(codeOf(name), `${name} names a diagnostic code`).toBeDefined();
    }
  });

  it(`cover every diagnostic code except ${NOT_COVERED_BY_FIXTURES.join(', ')}`, () => {
    const covered = new Set(fixtures.flatMap((name) => readExpected(name).diagnostics.map((d) => d.code)));
    expect([...covered].sort()).toEqual(CODES.filter((code) => !NOT_COVERED_BY_FIXTURES.includes(code)).sort());
  });
});

describe.each(fixtures)('%s', (name) => {
  const root = path.join(FIXTURES, name);

  it('reports exactly the expected diagnostics, each located', { timeout: TIMEOUT }, async () => {
    const expected = readExpected(name);
    const result = await buildOnce(name);
    expect(result.diagnostics.map(located)).toEqual(expected.diagnostics);
    expect(result.ok).toBe(expected.ok);
    for (const diagnostic of result.diagnostics) {
      expect(diagnostic.severity).toBe(DIAGNOSTIC_CODES[diagnostic.code].severity);
      expect(diagnostic.message.length).toBeGreaterThan(0);
      expectLocated(root, diagnostic);
    }
    for (const text of expected.hint_includes ?? []) {
      expect(result.diagnostics.map((d) => d.hint ?? ''), `some hint includes ${text}`).toContainEqual(expect.stringContaining(text));
    }
    for (const text of expected.message_includes ?? []) {
      expect(result.diagnostics.map((d) => d.message), `some message includes ${text}`).toContainEqual(expect.stringContaining(text));
    }

    if (name.startsWith('valid-')) {
      expect(result.ok).toBe(true);
      expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    } else {
      const code = codeOf(name);
      expect(result.ok).toBe(false);
      expect(result.diagnostics.length).toBeGreaterThan(0);
      expect(result.diagnostics.map((d) => d.code)).toEqual(result.diagnostics.map(() => code));
      expect(result.built).toEqual([]);
    }
  });

  it('renders the pretty text of its golden file (expected/pretty.txt)', { timeout: TIMEOUT }, async () => {
    // The same render the CLI uses for `botc check`, without colour, so that message wording is reviewed like code.
    const result = await buildOnce(name);
    const files = new WorkspaceFiles(root);
    const source = (file: string) => {
      const read = files.read(file);
      return read.ok ? read.text : undefined;
    };
    await expect(renderPretty(result, { color: false, source }, 'check')).toMatchFileSnapshot(`fixtures/${name}/expected/pretty.txt`);
  });

  if (!name.startsWith('valid-')) return;

  it('matches the golden bundles and builds byte-identical bundles twice', { timeout: TIMEOUT }, async () => {
    const first = await buildOnce(name);
    expect(first.built.map((b) => b.bot.id)).toEqual(first.bundles.map((b) => b.bot));
    expect(first.built.map((b) => b.digest)).toEqual(first.bundles.map((b) => b.digest));
    for (const bundle of first.built) {
      await expect(serializeBundle(bundle)).toMatchFileSnapshot(`fixtures/${name}/expected/${bundle.bot.id}.bundle.json`);
      expectAssembled(bundle);
    }
    // Every bundle has its golden file (toMatchFileSnapshot); no golden file outlives its bot.
    const golden = readdirSync(path.join(root, 'expected'), { withFileTypes: true }).map((e) => e.name);
    expect(golden.filter((file) => file !== 'pretty.txt' && !first.built.some((b) => file === `${b.bot.id}.bundle.json`)), 'stale golden bundles').toEqual([]);

    const second = await check({ root });
    expect(second.built.map(serializeBundle)).toEqual(first.built.map(serializeBundle));
  });
});
