/** Loaders: JSON and front matter parsing with positions, workspace file reads, names, Unicode. */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { WorkspaceFiles } from '../src/load/files.ts';
import { parseMarkdown, type MarkdownFile } from '../src/load/frontmatter.ts';
import { parseJson, type JsonDocument } from '../src/load/json.ts';
import { isName, methodIdProblem } from '../src/load/names.ts';
import { findInvisible } from '../src/load/unicode.ts';
import { manifestSchema } from '../src/schema/manifest.ts';
import { positionOf, tempDir } from './helpers/workspace.ts';

function json(text: string): JsonDocument {
  const parsed = parseJson(text);
  if (!parsed.ok) throw new Error(`expected valid JSON: ${parsed.message}`);
  return parsed.document;
}

function markdown(text: string): MarkdownFile {
  const parsed = parseMarkdown(text);
  if (!parsed.ok) throw new Error(`expected valid front matter: ${parsed.message}`);
  return parsed.file;
}

describe('parseJson', () => {
  const text = [
    '{',
    '  "bot": "demo",',
    '  "version": 1,',
    '  "tools": [',
    '    { "name": "a", "description": "x", "methods": [] },',
    '    { "name": "b", "description": "y", "methods": ["m.v1", 7] }',
    '  ]',
    '}',
  ].join('\n');

  test('locates a property by pointing at its key', () => {
    const doc = json(text);
    expect(doc.locate(['version'])).toEqual(positionOf(text, '"version"'));
    expect(doc.locate(['tools', 1, 'methods'])).toEqual({ line: 6, column: 40 });
    expect(doc.locate(['tools', 1, 'methods', 1])).toEqual(positionOf(text, '7]'));
    expect(doc.locate(['tools', 0])).toEqual({ line: 5, column: 5 });
    expect(doc.locate([])).toEqual({ line: 1, column: 1 });
  });

  test('locates a key of an object, and falls back to the nearest existing parent', () => {
    const doc = json(text);
    expect(doc.locate(['tools', 0], 'description')).toEqual({ line: 5, column: 20 });
    expect(doc.locate(['tools', 0, 'missing'])).toEqual({ line: 5, column: 5 });
    expect(doc.locate(['nope', 3])).toEqual({ line: 1, column: 1 });
  });

  test('maps zod issue paths to lines and columns', () => {
    const doc = json(text);
    const result = manifestSchema.safeParse(doc.value);
    expect(result.success).toBe(false);
    const places = result.error!.issues.map((i) => ({ path: i.path.join('.'), at: doc.locate(i.path as (string | number)[]) }));
    expect(places).toEqual(
      expect.arrayContaining([
        { path: 'version', at: positionOf(text, '"version"') },
        { path: 'tools.1.methods.1', at: positionOf(text, '7]') },
      ]),
    );
  });

  test.each([
    ['a trailing comma in an object', '{\n  "a": 1,\n}', 2, 9],
    ['a trailing comma in an array', '{"a": [1, 2,]}', 1, 12],
    ['a comment', '{\n  // no\n  "a": 1\n}', 2, 3],
    ['a single-quoted string', "{'a': 1}", 1, 2],
    ['a missing comma', '{\n  "a": 1\n  "b": 2\n}', 3, 3],
    ['an unterminated string', '{"a": "x}', 1, 7],
    ['empty content', '', 1, 1],
    ['content after the value', '{} {}', 1, 4],
  ])('%s is a syntax error at its position', (_name, input, line, column) => {
    const parsed = parseJson(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.at).toEqual({ line, column });
  });

  test('duplicate keys are refused at the second occurrence', () => {
    const input = '{\n  "bot": "a",\n  "tools": [],\n  "bot": "b"\n}';
    const parsed = parseJson(input);
    expect(parsed).toEqual({ ok: false, message: 'duplicate key `bot`', at: { line: 4, column: 3 } });
  });

  test('nested duplicate keys are found; equal keys in sibling objects are not duplicates', () => {
    expect(parseJson('{"a": {"x": 1, "y": {"z": 1, "z": 2}}}')).toMatchObject({ ok: false, message: 'duplicate key `z`', at: { line: 1, column: 30 } });
    expect(parseJson('[{"x": 1}, {"x": 2}, {"a": {"x": 3}, "x": 4}]').ok).toBe(true);
  });

  test('`__proto__` is an own key of the parsed value, not a prototype', () => {
    const doc = json('{"__proto__": {"polluted": true}, "a": 1}');
    expect(Object.keys(doc.value as object)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(doc.value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('lines count across CRLF; columns count UTF-16 code units, as editors do', () => {
    const input = '{\r\n  "a": 1,\r\n  "\u{1F600}": [1, }\r\n}';
    const parsed = parseJson(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.at).toEqual({ line: 3, column: 13 });
  });
});

describe('parseMarkdown', () => {
  test('a file without front matter is all body, starting at line 1', () => {
    const file = markdown('Hello {{bot.id}}.\n');
    expect(file).toMatchObject({ data: {}, hasFrontMatter: false, body: 'Hello {{bot.id}}.\n', bodyOffset: 0, bodyLine: 1 });
  });

  test('the body starts on the line after the closing delimiter', () => {
    const text = '---\nfexp_description: Helps.\nfexp_skills: [a, b]\n---\nFirst.\nSecond.\n';
    const file = markdown(text);
    expect(file.data).toEqual({ fexp_description: 'Helps.', fexp_skills: ['a', 'b'] });
    expect(file.body).toBe('First.\nSecond.\n');
    expect(file.bodyLine).toBe(5);
    expect(text.slice(file.bodyOffset)).toBe(file.body);
  });

  test('a blank line after the front matter stays in the body', () => {
    const file = markdown('---\na: 1\n---\n\nText.\n');
    expect(file.body).toBe('\nText.\n');
    expect(file.bodyLine).toBe(4);
  });

  test('CRLF files split the same way as LF files', () => {
    const lf = '---\nfexp_description: Helps.\nfexp_allow_tools: [a]\n---\nBody one.\nBody two.\n';
    const crlf = lf.replace(/\n/g, '\r\n');
    const a = markdown(lf);
    const b = markdown(crlf);
    expect(b.data).toEqual(a.data);
    expect(b.bodyLine).toBe(a.bodyLine);
    expect(b.body).toBe('Body one.\r\nBody two.\r\n');
    expect(crlf.slice(b.bodyOffset)).toBe(b.body);
    expect(b.locate(['fexp_allow_tools', 0])).toEqual(a.locate(['fexp_allow_tools', 0]));
  });

  test('empty front matter and front matter at the end of the file', () => {
    expect(markdown('---\n---\nBody.')).toMatchObject({ data: {}, hasFrontMatter: true, body: 'Body.', bodyLine: 3 });
    expect(markdown('---\na: 1\n---')).toMatchObject({ data: { a: 1 }, body: '' });
  });

  test('locate maps YAML paths to file lines (front matter starts on line 2)', () => {
    const text = '---\nfexp_description: Helps.\nfexp_allow_tools:\n  - one\n  - two\nfexp_skills: [x, y]\n---\nBody.\n';
    const file = markdown(text);
    expect(file.locate(['fexp_description'])).toEqual({ line: 2, column: 1 });
    expect(file.locate(['fexp_allow_tools', 1])).toEqual({ line: 5, column: 5 });
    expect(file.locate(['fexp_skills', 1])).toEqual(positionOf(text, 'y]'));
    expect(file.locate([], 'fexp_skills')).toEqual({ line: 6, column: 1 });
    expect(file.locate(['nope'])).toEqual({ line: 2, column: 1 });
  });

  test.each([
    ['a language tag', '---js\n{}\n---\n', { line: 1, column: 4 }, /must be YAML/],
    ['an unterminated block', '---\na: 1\n', { line: 1, column: 1 }, /not closed/],
    ['an unquoted `: ` in a value', '---\nfexp_description: Helps.\na: b: c\n---\n', { line: 3, column: 5 }, /contains `: `/],
    ['a YAML syntax error', '---\nfexp_description: Helps.\na: [b\n---\n', { line: 4, column: 1 }, /not valid YAML/],
    ['a list', '---\n- a\n---\n', { line: 2, column: 1 }, /mapping/],
    ['a duplicate key', '---\na: 1\nb: 2\na: 3\n---\n', { line: 4, column: 1 }, /unique/],
    ['an alias', '---\na: &x 1\nb: *x\n---\n', { line: 3, column: 4 }, /alias/],
    ['a custom tag', '---\na: !!js/regexp /x/\n---\n', { line: 2, column: 16 }, /!!js\/regexp/],
  ])('%s is refused at its position', (_name, text, at, message) => {
    const parsed = parseMarkdown(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.at).toEqual(at);
      expect(parsed.message).toMatch(message);
    }
  });

  test('YAML 1.2 core schema: `yes`/`no`/`on` stay strings, no date objects', () => {
    expect(markdown('---\na: yes\nb: on\nc: 2024-01-01\nd: true\n---\n').data).toEqual({ a: 'yes', b: 'on', c: '2024-01-01', d: true });
  });
});

describe('WorkspaceFiles', () => {
  function workspace() {
    const parent = tempDir();
    const root = path.join(parent, 'ws');
    mkdirSync(path.join(root, 'dir'), { recursive: true });
    writeFileSync(path.join(parent, 'outside.md'), 'secret');
    writeFileSync(path.join(root, 'dir/a.md'), '\uFEFFhello');
    return { parent, root, files: new WorkspaceFiles(root) };
  }

  test('reads a regular file, strips a BOM, hashes the bytes', () => {
    const { files } = workspace();
    const read = files.read('dir/a.md');
    expect(read).toMatchObject({ ok: true, text: 'hello' });
    if (read.ok) expect(read.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test.each(['../outside.md', 'dir/../../outside.md', '/etc/passwd', 'dir\\a.md', 'dir/./a.md', 'x\u0000', ''])('refuses the path %j before touching the disk', (rel) => {
    const { files } = workspace();
    expect(files.read(rel)).toMatchObject({ ok: false, kind: 'unsafe' });
  });

  test('refuses a symlinked file, a symlinked folder and a loop; reports a missing file', () => {
    const { parent, root, files } = workspace();
    symlinkSync(path.join(parent, 'outside.md'), path.join(root, 'dir/link.md'));
    symlinkSync(parent, path.join(root, 'up'));
    symlinkSync('loop.md', path.join(root, 'dir/loop.md'));
    expect(files.read('dir/link.md')).toMatchObject({ ok: false, kind: 'unsafe' });
    expect(files.read('up/outside.md')).toMatchObject({ ok: false, kind: 'unsafe' });
    expect(files.read('dir/loop.md')).toMatchObject({ ok: false, kind: 'unsafe' });
    expect(files.read('dir/none.md')).toEqual({ ok: false, kind: 'missing' });
  });

  test('refuses folders, NUL bytes and files over the cap', () => {
    const { root, files } = workspace();
    writeFileSync(path.join(root, 'bin.md'), Buffer.from([104, 0, 105]));
    writeFileSync(path.join(root, 'big.md'), 'x'.repeat(101));
    expect(files.read('dir')).toMatchObject({ ok: false, kind: 'unsafe' });
    expect(files.read('bin.md')).toMatchObject({ ok: false, kind: 'encoding', at: { line: 1, column: 2 }, byte: 1 });
    expect(files.read('big.md', 100)).toEqual({ ok: false, kind: 'too-large', size: 101, cap: 100 });
    expect(files.read('big.md', 101)).toMatchObject({ ok: true });
  });
});

describe('names and invisible characters', () => {
  test.each(['a', 'support_triage', 'a1_', 'a'.repeat(64)])('%j is a name', (name) => expect(isName(name)).toBe(true));
  test.each(['', 'A', '1a', '_a', 'a-b', 'a.b', '../x', 'a/b', 'x\u0000', 'a\n', '\u0430', 'bot\u{1F916}', 'a'.repeat(65)])('%j is not a name', (name) => {
    expect(isName(name)).toBe(false);
  });

  test.each([
    ['github.issues.list.v1', undefined],
    ['github.issues.list.v0', /v1/],
    ['github.v1', /segment/],
    ['github.issues.*.v1', /patterns/],
    ['github.Issues.list.v1', /segment/],
    ['github.issues.list', /version/],
  ])('method id %j', (id, problem) => {
    const found = methodIdProblem(id);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });

  test.each([
    ['\u{E0041}', 'U+E0041'],
    ['\u{E007F}', 'U+E007F'],
    ['\u202E', 'U+202E'],
    ['\u2066', 'U+2066'],
    ['\u200B', 'U+200B'],
    ['\u200D', 'U+200D'],
    ['\uFEFF', 'U+FEFF'],
  ])('finds %j as %s with its offset', (char, codePoint) => {
    expect(findInvisible(`abc${char}def`)).toMatchObject({ offset: 3, codePoint });
  });

  test('visible text, emoji and accents are clean', () => {
    expect(findInvisible('Grüße, 世界! \u{1F600} — fine.\n\ttabs')).toBeUndefined();
  });
});
