import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { expectedPromptName } from '../src/build/load/bots.ts';
import { check } from '../src/build/build.ts';
import { checkTemplate } from '../src/build/validate/template.ts';
import { serializeBundle } from '../src/bundle/format.ts';
import { ConfigError, readConfig } from '../src/config.ts';
import { decodeText, WorkspaceFiles } from '../src/load/files.ts';
import { parseMarkdown } from '../src/load/frontmatter.ts';
import { parseJson } from '../src/load/json.ts';
import { describeLoadError, loadErrorPosition } from '../src/load/modules.ts';
import { issueMessage } from '../src/schema/common.ts';
import { checkWorkspace, integrationFiles, located, manifest, tempDir, writeWorkspace } from './helpers/workspace.ts';

/**
 * The compiler tells the truth: text inputs are read one way (strict UTF-8, LF), near-miss
 * file names and names that refer to nothing are reported, one mistake is one diagnostic at
 * the mistake, and messages say what was expected and what was found.
 */

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const EXPERT = 'bots/demo/prompts/expert_helper.md';
const TOOL = 'bots/demo/prompts/tool_things.md';

/** The base workspace with one tool, `things`, allowed by the expert and described by a tool prompt. */
function withTool(files: Record<string, string | Buffer | null> = {}): string {
  return writeWorkspace({
    ...integrationFiles([{ method_id: 'acme.things.list.v1' }]),
    'bots/demo/manifest.json': manifest([{ name: 'things' }]),
    [EXPERT]: '---\nfexp_description: Helps with demos.\nfexp_allow_tools: [things]\n---\nYou help.\n',
    [TOOL]: 'Use things.\n',
    ...files,
  });
}

describe('text inputs: strict UTF-8, line endings normalized', () => {
  test('a UTF-16 LE or BE byte-order mark is named as UTF-16 at line 1, column 1, byte 0', () => {
    for (const [bytes, order] of [[Buffer.from('\ufeffhi', 'utf16le'), 'LE'], [Buffer.from([0xfe, 0xff, 0, 0x68]), 'BE']] as const) {
      expect(decodeText(bytes)).toMatchObject({ ok: false, kind: 'encoding', at: { line: 1, column: 1 }, byte: 0, message: expect.stringContaining(`UTF-16 ${order}`) });
    }
  });

  test('UTF-16 without a byte-order mark is recognised by its NUL bytes', () => {
    expect(decodeText(Buffer.from('abc\ndef', 'utf16le'))).toMatchObject({ ok: false, message: expect.stringContaining('UTF-16 LE') });
  });

  test('an invalid byte is located by line, column and byte offset, and a Windows-1252 byte is named', () => {
    const bytes = Buffer.concat([Buffer.from('line one\nsay '), Buffer.from([0x93]), Buffer.from('hi\n')]);
    const decoded = decodeText(bytes);
    expect(decoded).toMatchObject({ ok: false, at: { line: 2, column: 5 }, byte: 13 });
    if (!decoded.ok) expect(decoded.message).toContain('`“`');
  });

  test.each([
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a UTF-16 surrogate encoded in UTF-8', [0xed, 0xa0, 0x80]],
    ['a truncated sequence', [0x61, 0xe2, 0x82]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('%s is refused', (_name, bytes) => {
    expect(decodeText(Buffer.from(bytes))).toMatchObject({ ok: false, kind: 'encoding' });
  });

  test('a UTF-8 byte-order mark is dropped; CRLF and lone CR become LF', () => {
    expect(decodeText(Buffer.from('\ufeffa\r\nb\rc\n'))).toEqual({ ok: true, text: 'a\nb\nc\n', normalized: true });
    expect(decodeText(Buffer.from('a\n'))).toEqual({ ok: true, text: 'a\n', normalized: false });
  });

  test('the digest of a file is the digest of its normalized text', () => {
    const root = tempDir();
    writeFileSync(path.join(root, 'lf.md'), 'a\nb\n');
    writeFileSync(path.join(root, 'crlf.md'), '\ufeffa\r\nb\r\n');
    const files = new WorkspaceFiles(root);
    const [lf, crlf] = [files.read('lf.md'), files.read('crlf.md')];
    expect(lf.ok && crlf.ok && lf.sha256 === crlf.sha256).toBe(true);
  });

  test('a Windows checkout (CRLF, some files with a BOM) builds byte-identical bundles', { timeout: 60_000 }, async () => {
    const source = path.join(FIXTURES, 'valid-full');
    const lf = await check({ root: source });
    expect(lf.ok).toBe(true);
    // Inside test/ so that integration modules still resolve `botc/integration`.
    const copy = path.join(FIXTURES, '..', '.tmp-crlf-checkout');
    cpSync(source, copy, { recursive: true });
    try {
      let withBom = 0;
      const convert = (dir: string): void => {
        for (const entry of readdirSync(dir)) {
          const file = path.join(dir, entry);
          if (statSync(file).isDirectory()) convert(file);
          else if (/\.(md|json|ts)$/.test(entry) && !file.includes(`${path.sep}expected${path.sep}`)) {
            const text = readFileSync(file, 'utf8').replace(/\n/g, '\r\n');
            writeFileSync(file, entry.endsWith('.md') && withBom++ % 2 === 0 ? `\ufeff${text}` : text);
          }
        }
      };
      convert(copy);
      const crlf = await check({ root: copy });
      expect(crlf.diagnostics).toEqual(lf.diagnostics);
      expect(crlf.built.map(serializeBundle)).toEqual(lf.built.map(serializeBundle));
      // Old Mac line endings (CR alone) read the same way too.
      const prompt = path.join(copy, 'bots/desk/prompts');
      for (const entry of readdirSync(prompt)) {
        const file = path.join(prompt, entry);
        writeFileSync(file, readFileSync(file, 'utf8').replace(/\r\n/g, '\r'));
      }
      const cr = await check({ root: copy });
      expect(cr.built.map(serializeBundle)).toEqual(lf.built.map(serializeBundle));
    } finally {
      execFileSync('rm', ['-rf', copy]);
    }
  });

  test('a UTF-16 manifest, registry or prompt is one file-encoding error and nothing else', async () => {
    const utf16 = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    for (const file of ['bots/demo/manifest.json', 'integrations/manifest.json', EXPERT, TOOL]) {
      const root = withTool();
      writeFileSync(path.join(root, file), utf16(readFileSync(path.join(root, file), 'utf8')));
      const result = await checkWorkspace(root);
      expect(located(result.diagnostics), file).toEqual([{ code: 'file-encoding', file, line: 1, column: 1 }]);
    }
  });

  test('a botc.config.json that is not UTF-8 is refused with its position', () => {
    const root = writeWorkspace({ 'botc.config.json': Buffer.from([0x7b, 0x0a, 0x20, 0x93, 0x7d]) });
    expect(() => readConfig(root)).toThrow(ConfigError);
    expect(() => readConfig(root)).toThrow(/botc\.config\.json:2:2: botc\.config\.json cannot be read: .*byte 0x93/);
  });
});

describe('one mistake, one diagnostic', () => {
  test.each([
    ['a symlink', 'unsafe-path'],
    ['too large', 'frontmatter-invalid'],
    ['Windows-1252', 'file-encoding'],
    ['broken front matter', 'frontmatter-invalid'],
  ])('a tool prompt that is %s is reported once, never also as missing', async (kind, code) => {
    const root = withTool({ [TOOL]: null });
    const target = path.join(root, TOOL);
    if (kind === 'a symlink') execFileSync('ln', ['-s', path.join(root, EXPERT), target]);
    if (kind === 'too large') writeFileSync(target, 'x'.repeat(1024 * 1024 + 1));
    if (kind === 'Windows-1252') writeFileSync(target, Buffer.from([0x55, 0x73, 0x65, 0x20, 0x93, 0x0a]));
    if (kind === 'broken front matter') writeFileSync(target, '---js\n{}\n---\nUse things.\n');
    const result = await checkWorkspace(root);
    expect(result.diagnostics.map((d) => [d.code, d.file])).toEqual([[code, TOOL]]);
  });

  test('a FIFO where a tool prompt should be is reported once, without hanging', async () => {
    const root = withTool({ [TOOL]: null });
    execFileSync('mkfifo', [path.join(root, TOOL)]);
    const result = await checkWorkspace(root);
    expect(result.diagnostics.map((d) => [d.code, d.file])).toEqual([['unsafe-path', TOOL]]);
  });

  test('a refused skill file is not also reported as a missing skill', async () => {
    const root = withTool({
      [EXPERT]: '---\nfexp_description: Helps.\nfexp_allow_tools: [things]\nfexp_skills: [tone]\n---\nYou help.\n',
      'bots/demo/prompts/skill_tone.md': Buffer.from([0xff, 0xfe, 0x41, 0x00]),
    });
    const result = await checkWorkspace(root);
    expect(result.diagnostics.map((d) => d.code)).toEqual(['file-encoding']);
  });

  test('a tool renamed by a typo in the manifest is one error at the manifest', async () => {
    const other = '---\nfexp_description: Other.\nfexp_allow_tools: [things]\n---\nYou help too.\n';
    const root = withTool({ 'bots/demo/manifest.json': manifest([{ name: 'thngs' }]), 'bots/demo/prompts/expert_other.md': other });
    const result = await checkWorkspace(root);
    expect(located(result.diagnostics)).toEqual([{ code: 'tool-unreachable', file: 'bots/demo/manifest.json', line: 7, column: 7 }]);
    expect(result.diagnostics[0]!.hint).toContain('did you mean `things`?');
  });

  test('an expert typo is still blamed on the expert when the manifest and tool prompt agree', async () => {
    const root = withTool({ [EXPERT]: '---\nfexp_description: Helps.\nfexp_allow_tools: [thngs]\n---\nYou help.\n' });
    const result = await checkWorkspace(root);
    expect(result.diagnostics.map((d) => [d.code, d.file])).toEqual([['allow-unknown-tool', EXPERT]]);
  });
});

describe('names that refer to nothing', () => {
  test('a `when_tools_any` typo is an error with "did you mean"; checked only when every bot is built', async () => {
    const root = withTool({ 'prompts/10_things.md': '---\nwhen_tools_any: [thngs]\n---\nList first.\n' });
    const all = await checkWorkspace(root);
    expect(located(all.diagnostics)).toEqual([{ code: 'frontmatter-invalid', file: 'prompts/10_things.md', line: 2, column: 18 }]);
    expect(all.diagnostics[0]!.hint).toBe('did you mean `things`?');
    // With `--bot`, other bots' tools are unknown: no guess.
    expect((await checkWorkspace(root, ['demo'])).diagnostics).toEqual([]);
    writeFileSync(path.join(root, 'prompts/10_things.md'), '---\nwhen_tools_any: things\n---\nList first.\n');
    expect((await checkWorkspace(root)).diagnostics).toEqual([]);
  });

  test('a literal block name that no tool matches is a warning; globs and installed names are not', async () => {
    const root = withTool({
      [EXPERT]: '---\nfexp_description: Helps.\nfexp_allow_tools: [things]\nfexp_block_tools: [thing_admin, "*_admin", things_x]\n---\nYou help.\n',
    });
    const result = await checkWorkspace(root);
    expect(result.ok).toBe(true);
    expect(result.diagnostics.map((d) => [d.code, d.severity, d.column])).toEqual([
      ['block-unknown-tool', 'warning', 20],
      ['block-unknown-tool', 'warning', 44],
    ]);
    expect(result.diagnostics[1]!.hint).toContain('did you mean `things`?');
  });

  test('a provider under `providers` in botc.config.json that no integration registers: an error at the key', async () => {
    const root = withTool({ 'botc.config.json': '{\n  "providers": {\n    "acne": {"base_url": "https://acme.test"},\n    "acme": {}\n  }\n}\n' });
    const result = await checkWorkspace(root);
    expect(located(result.diagnostics)).toEqual([{ code: 'integration-unregistered', file: 'botc.config.json', line: 3, column: 5 }]);
    expect(result.diagnostics[0]!.hint).toBe('did you mean `acme`?');
  });
});

describe('near-miss prompt file names', () => {
  test.each([
    ['expert-reviewer.md', 'expert_reviewer.md'],
    ['expert_auditor.MD', 'expert_auditor.md'],
    ['Skill_tone.md', 'skill_tone.md'],
    ['Personality.md', 'personality.md'],
    ['personality_old.md', 'personality.md'],
    ['tool_x.markdown', 'tool_x.md'],
    ['TOOL-Search Web.md', 'tool_search_web.md'],
    ['expert.md', 'expert_<name>.md'],
    ['README.md', undefined],
    ['notes.txt', undefined],
    ['toolbox.md', undefined],
    ['experts.md', undefined],
    ['expert_x.md.bak', undefined],
  ])('%s → %s', (name, expected) => {
    expect(expectedPromptName(name)).toBe(expected);
  });

  test('every near miss is reported, also two meant for one name; notes and README.md are not', async () => {
    const root = withTool({
      'bots/demo/prompts/Expert-a.md': '---\nfexp_description: A.\n---\nA.\n',
      'bots/demo/prompts/expert-a.md': '---\nfexp_description: A.\n---\nA.\n',
      'bots/demo/prompts/tool_things.MD': 'Use things.\n',
      'bots/demo/prompts/README.md': 'Notes.\n',
      'bots/demo/prompts/notes.txt': 'Notes.\n',
    });
    const result = await checkWorkspace(root);
    expect(result.ok).toBe(true);
    expect(result.diagnostics.map((d) => [d.code, d.file, d.hint])).toEqual([
      ['prompt-file-misnamed', 'bots/demo/prompts/Expert-a.md', 'rename it to expert_a.md, or move it out of prompts/ if it is not a prompt'],
      ['prompt-file-misnamed', 'bots/demo/prompts/expert-a.md', 'rename it to expert_a.md, or move it out of prompts/ if it is not a prompt'],
      ['prompt-file-misnamed', 'bots/demo/prompts/tool_things.MD', 'tool_things.md exists too: merge the two files, or move tool_things.MD out of prompts/'],
    ]);
  });

  test('a misnamed skill the expert names is one skill-missing error whose hint is the rename', async () => {
    const root = withTool({
      [EXPERT]: '---\nfexp_description: Helps.\nfexp_allow_tools: [things]\nfexp_skills: [tone]\n---\nYou help.\n',
      'bots/demo/prompts/Skill-Tone.md': 'Be kind.\n',
    });
    const result = await checkWorkspace(root);
    expect(result.diagnostics.map((d) => [d.code, d.hint])).toEqual([['skill-missing', 'rename Skill-Tone.md to skill_tone.md']]);
  });
});

describe('messages that tell the truth', () => {
  const schema = z.strictObject({
    name: z.string(),
    count: z.number().int().max(10),
    tags: z.union([z.array(z.string()), z.string()]),
    mode: z.enum(['a', 'b']).optional(),
    code: z.string().regex(/^x/).optional(),
    list: z.array(z.string()).min(1).optional(),
    label: z.string().min(3).optional(),
    map: z.record(z.string().regex(/^[a-z]+$/), z.number()).optional(),
  });
  const messages = (value: Record<string, unknown>, raw?: (p: readonly (string | number)[]) => string | undefined) =>
    schema.safeParse(value).error!.issues.map((i) => `${i.path.join('.')}: ${issueMessage(i, { value, raw })}`);

  test('every zod issue kind says what was expected and what was found, and "required" only when absent', () => {
    expect(messages({ name: 1.1, count: 12.5, tags: 3, mode: 'c', code: 'y', list: [], label: 'ab', map: { A: 1 } }, () => '1.10')).toEqual([
      'name: expected a string, got the number 1.1: quote it as "1.10"',
      'count: expected an integer, got the number 12.5',
      'tags: expected a list or a string, got the number 3',
      'mode: must be one of "a", "b", got the string "c"',
      'code: the string "y" does not match the pattern /^x/',
      'list: must have at least 1 item, got 0',
      'label: must be at least 3 characters long, got 2',
      'map.A: key `A`: the string "A" does not match the pattern /^[a-z]+$/',
    ]);
    expect(messages({ count: 11, tags: [] })).toEqual(['name: required: expected a string', 'count: must be ≤ 10, got the number 11']);
  });

  test('without the parsed value, the found type comes from zod, never "required" for a present key', () => {
    const issue = z.object({ a: z.string() }).safeParse({ a: true }).error!.issues[0]!;
    expect(issueMessage(issue)).toBe('expected a string, got a boolean');
  });

  test('a front matter value of the wrong type is quoted as written', async () => {
    const root = withTool({ [EXPERT]: '---\nfexp_description: 1.10\nfexp_allow_tools: [things]\n---\nYou help.\n' });
    const result = await checkWorkspace(root);
    expect(result.diagnostics.map((d) => d.message)).toEqual(['`fexp_description`: expected a string, got the number 1.1: quote it as "1.10"']);
  });

  test('a manifest value of the wrong type says so', async () => {
    const root = withTool({ 'bots/demo/manifest.json': manifest([{ name: 'things' }]).replace('"1.0.0"', '1') });
    const result = await checkWorkspace(root);
    expect(result.diagnostics.map((d) => d.message)).toEqual(['`version`: expected a string, got the number 1: quote it as "1"']);
  });

  test('front matter delimiters: trailing whitespace allowed on both lines; the message at the line that breaks the rule', () => {
    expect(parseMarkdown('--- \na: b\n---\t\nBody\n')).toMatchObject({ ok: true, file: { data: { a: 'b' }, body: 'Body\n', bodyLine: 4 } });
    expect(parseMarkdown('---x\na: b\n---\n')).toMatchObject({ ok: false, at: { line: 1, column: 4 } });
    expect(parseMarkdown('---\na: b\n--- x\nBody\n')).toMatchObject({ ok: false, at: { line: 3, column: 4 }, message: expect.stringContaining('`--- x`') });
    expect(parseMarkdown('\n\n---\na: b\n---\nBody\n')).toMatchObject({ ok: false, at: { line: 1, column: 1 }, message: expect.stringContaining('2 blank lines') });
  });

  test('an unquoted `: ` in a YAML value is reported at the colon with a quoted hint', () => {
    expect(parseMarkdown('---\nfexp_description: Sorts issues: fast\n---\n')).toMatchObject({
      ok: false,
      at: { line: 2, column: 31 },
      hint: 'quote the value: `fexp_description: "Sorts issues: fast"`',
    });
  });

  test('a bad name in a comma-separated list is located at its own column', () => {
    const parsed = parseMarkdown('---\nfexp_skills: tone,  Bad, ok\nfexp_allow_tools: "a, b"\n---\n');
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.file.locate(['fexp_skills', 1])).toEqual({ line: 2, column: 21 });
    expect(parsed.file.locate(['fexp_skills', 2])).toEqual({ line: 2, column: 26 });
    expect(parsed.file.locate(['fexp_allow_tools', 1])).toEqual({ line: 3, column: 23 });
  });

  test('a trailing comma is reported at the comma; a missing closer is not called a trailing comma', () => {
    expect(parseJson('{\n  "a": [1, 2 ,\n  ]\n}')).toMatchObject({ ok: false, at: { line: 2, column: 14 }, message: expect.stringContaining('trailing comma') });
    expect(parseJson('{"a": [1, }')).toMatchObject({ ok: false, message: expect.not.stringContaining('trailing comma') });
  });

  test('unclosed and mismatched blocks are reported at the opening tag; a stray close at itself', () => {
    expect(checkTemplate('x\n  {{#each tools}}\n{{name}}\n').problems).toEqual([expect.objectContaining({ line: 2, column: 3, message: '`{{#each tools}}` is never closed' })]);
    expect(checkTemplate('{{#if tools}}{{#each tools}}y{{/if}}').problems).toEqual([expect.objectContaining({ line: 1, column: 14 })]);
    expect(checkTemplate('a\n{{/each}}').problems).toEqual([expect.objectContaining({ line: 2, column: 1, message: expect.stringContaining('never opened') })]);
    expect(checkTemplate('{{!-- {{#each}} --}}\\{{#if}} ok').problems).toEqual([]);
  });

  test('a literal `{{` hints at the `\\{{` escape, which renders braces', () => {
    const [problem] = checkTemplate('Reply as {{json}}.').problems;
    expect(problem!.hint).toContain('`\\{{`');
    expect(checkTemplate('Write \\{{name}}.').problems).toEqual([]);
  });

  test('a TypeScript syntax error keeps the loader line, column and message', () => {
    const error = new Error('Transform failed with 1 error:\n/ws/integrations/x/index.ts:2:6: ERROR: Unexpected ";"');
    expect(describeLoadError(error, '/ws')).toBe('syntax error: Unexpected ";"');
    expect(loadErrorPosition(error)).toEqual({ line: 2, column: 7 });
  });
});
