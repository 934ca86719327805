/**
 * SECURITY.md items 1–10: hostile build inputs. Each test builds a small workspace in a
 * temporary folder and asserts on the diagnostics array (code, file, line, column).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Diagnostic } from '../src/diagnostics/diagnostic.ts';
import { TEXT_FILE_CAP } from '../src/load/files.ts';
import { recordFileReads, spawnCliSync } from './helpers/cli.ts';
import {
  BASE_WORKSPACE, MODULE_FILE, checkWorkspace, integrationFiles, located, manifest, positionOf, registryEntry, tempDir, writeFiles, writeWorkspace,
} from './helpers/workspace.ts';

const EXPERT = 'bots/demo/prompts/expert_helper.md';
const MANIFEST = 'bots/demo/manifest.json';
const REGISTRY = 'integrations/manifest.json';

/** The one diagnostic of a build, or a failure listing all of them. */
function only(diagnostics: Diagnostic[]): Diagnostic {
  expect(diagnostics).toHaveLength(1);
  return diagnostics[0]!;
}

function expectNoPollution(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
  expect(Object.prototype).not.toHaveProperty('isAdmin');
}

/** A workspace inside a parent folder that also holds files "outside the workspace". */
function workspaceWithOutside(outside: Record<string, string>, files: Record<string, string | null> = {}): { root: string; parent: string } {
  const parent = tempDir();
  writeFiles(parent, outside);
  const root = path.join(parent, 'ws');
  mkdirSync(root, { recursive: true });
  writeWorkspace(files, root);
  return { root, parent };
}

describe('1. front matter language tags never run code', () => {
  const openers = ['---js', '---JS', '---javascript', '--- js', '---coffee', '---json'];

  test.each(openers)('%s is frontmatter-invalid and its payload never runs', async (opener) => {
    const root = tempDir();
    const marker = path.join(root, 'pwned-marker');
    const payload = `{ fexp_description: (globalThis.__pwned = true, require("fs").writeFileSync(${JSON.stringify(marker)}, "pwned"), "x") }`;
    writeWorkspace({ [EXPERT]: `${opener}\n${payload}\n---\nYou help.\n` }, root);
    const result = await checkWorkspace(root);
    expect(result.ok).toBe(false);
    expect(located(result.diagnostics)).toEqual([{ code: 'frontmatter-invalid', file: EXPERT, line: 1, column: 4 }]);
    expect((globalThis as Record<string, unknown>).__pwned).toBeUndefined();
    expect(existsSync(marker)).toBe(false);
  });

  test('a language tag is refused in every prompt kind, not just experts', async () => {
    const payload = '---js\n{ description: (globalThis.__pwned = true, "x") }\n---\nText.\n';
    const root = writeWorkspace({
      'bots/demo/prompts/personality.md': payload,
      'bots/demo/prompts/skill_tone.md': payload,
      'prompts/00_common.md': payload,
    });
    const result = await checkWorkspace(root);
    expect(located(result.diagnostics)).toEqual([
      { code: 'frontmatter-invalid', file: 'bots/demo/prompts/personality.md', line: 1, column: 4 },
      { code: 'frontmatter-invalid', file: 'bots/demo/prompts/skill_tone.md', line: 1, column: 4 },
      { code: 'frontmatter-invalid', file: 'prompts/00_common.md', line: 1, column: 4 },
    ]);
    expect((globalThis as Record<string, unknown>).__pwned).toBeUndefined();
  });
});

describe('2. YAML aliases, merge keys, custom tags and duplicate keys', () => {
  test('a 9-level alias bomb is refused at its first alias', async () => {
    const levels = 'abcdefghi'.split('');
    const lines = levels.map((name, i) => {
      const items = i === 0 ? Array(9).fill('"lol"') : Array(9).fill(`*${levels[i - 1]}`);
      return `${name}: &${name} [${items.join(', ')}]`;
    });
    const text = `---\nfexp_description: Helps.\n${lines.join('\n')}\n---\nYou help.\n`;
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: text }));
    const d = only(result.diagnostics);
    expect(d).toMatchObject({ code: 'frontmatter-invalid', file: EXPERT, ...positionOf(text, '*a') });
    expect(d.message).toMatch(/alias/i);
    expect(d.message).toContain('*a');
  });

  test.each([
    ['merge key', 'fexp_description: Helps.\n<<: {fexp_skills: [x]}', '<<', /merge key/],
    ['merge key from an alias', 'base: &base {fexp_description: Helps.}\n<<: *base', '*base', /alias/],
    ['anchor without alias', 'fexp_description: &d Helps.', 'Helps.', /anchor/],
    ['alias without anchor', 'fexp_description: *nowhere', '*nowhere', /alias/],
    ['!!js/function tag', 'fexp_description: !!js/function "function () { return 1 }"', '"function', /custom YAML tag.*!!js\/function/],
    ['!custom tag', 'fexp_description: !custom Helps.', 'Helps.', /custom YAML tag.*!custom/],
    ['!!binary tag', 'fexp_description: !!binary aGVsbG8=', 'aGVsbG8=', /custom YAML tag.*!!binary/],
    ['duplicate key', 'fexp_description: Helps.\nfexp_description: Hurts.', 'fexp_description: Hurts.', /unique/],
  ])('%s: frontmatter-invalid', async (_name, yaml, needle, message) => {
    const text = `---\n${yaml}\n---\nYou help.\n`;
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: text }));
    const d = only(result.diagnostics);
    expect(d).toMatchObject({ code: 'frontmatter-invalid', file: EXPERT, ...positionOf(text, needle) });
    expect(d.message).toMatch(message);
  });

  test('core tags (`!!str`) are plain data and allowed', async () => {
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: '---\nfexp_description: !!str Helps.\n---\nYou help.\n' }));
    expect(result.diagnostics).toEqual([]);
  });
});

describe('3. unterminated front matter', () => {
  test.each([
    ['a body after it', '---\nfexp_description: Helps.\nYou help.\n'],
    ['nothing after it', '---\nfexp_description: Helps.\n'],
    ['only the opening line', '---'],
  ])('with %s: an error, never an empty body', async (_name, text) => {
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: text }));
    expect(result.ok).toBe(false);
    expect(result.built).toEqual([]);
    const d = only(result.diagnostics);
    expect(d).toMatchObject({ code: 'frontmatter-invalid', file: EXPERT, line: 1, column: 1 });
    expect(d.message).toMatch(/not closed/);
  });

  test('with a closing line with text after the dashes: an error at that line, never an empty body', async () => {
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: '---\nfexp_description: Helps.\n--- \u200b\nYou help.\n' }));
    expect(result.built).toEqual([]);
    const d = only(result.diagnostics);
    expect(d).toMatchObject({ code: 'frontmatter-invalid', file: EXPERT, line: 3, column: 4 });
    expect(d.message).toMatch(/starts with `---`/);
  });

  test('in a skill file too', async () => {
    const result = await checkWorkspace(writeWorkspace({ 'bots/demo/prompts/skill_tone.md': '---\ndescription: Tone.\nBe kind.\n' }));
    expect(located(result.diagnostics)).toEqual([{ code: 'frontmatter-invalid', file: 'bots/demo/prompts/skill_tone.md', line: 1, column: 1 }]);
  });
});

describe('4. non-object front matter and prototype keys', () => {
  test.each([
    ['a list', '---\n- fexp_description\n- Helps.\n---\nYou help.\n', '- fexp_description'],
    ['a scalar', '---\njust some text\n---\nYou help.\n', 'just some text'],
    ['a quoted string', '---\n"fexp_description: Helps."\n---\nYou help.\n', '"fexp_description'],
  ])('front matter that is %s: frontmatter-invalid', async (_name, text, needle) => {
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: text }));
    const d = only(result.diagnostics);
    expect(d).toMatchObject({ code: 'frontmatter-invalid', file: EXPERT, ...positionOf(text, needle) });
    expect(d.message).toMatch(/mapping/);
  });

  test('a manifest with `__proto__` and `constructor` keys is rejected; nothing is polluted', async () => {
    const text = [
      '{',
      '  "__proto__": {"polluted": true},',
      '  "constructor": {"prototype": {"isAdmin": true}},',
      '  "bot": "demo",',
      '  "version": "1.0.0",',
      '  "description": "A demo bot.",',
      '  "tools": [{"name": "things", "description": "x", "methods": ["acme.things.list.v1"], "__proto__": {"polluted": true}}]',
      '}',
      '',
    ].join('\n');
    const result = await checkWorkspace(writeWorkspace({ [MANIFEST]: text }));
    expect(located(result.diagnostics)).toEqual([
      { code: 'manifest-invalid', file: MANIFEST, ...positionOf(text, '"__proto__"') },
      { code: 'manifest-invalid', file: MANIFEST, ...positionOf(text, '"constructor"') },
      { code: 'manifest-invalid', file: MANIFEST, line: 7, column: text.split('\n')[6]!.indexOf('"__proto__"') + 1 },
    ]);
    expect(result.diagnostics.map((d) => d.message)).toEqual(['unknown key `__proto__`', 'unknown key `constructor`', 'unknown key `__proto__` in `tools[0]`']);
    expectNoPollution();
  });

  test('a registry with a `__proto__` key is rejected; nothing is polluted', async () => {
    const text = `{"integrations": [], "__proto__": {"polluted": true}}\n`;
    const result = await checkWorkspace(writeWorkspace({ [REGISTRY]: text }));
    expect(located(result.diagnostics)).toEqual([{ code: 'integration-registry-invalid', file: REGISTRY, ...positionOf(text, '"__proto__"') }]);
    expectNoPollution();
  });

  test('front matter with `__proto__` and `constructor` keys is rejected; nothing is polluted', async () => {
    const text = '---\nfexp_description: Helps.\n__proto__: {polluted: true}\nconstructor: {prototype: {isAdmin: true}}\n---\nYou help.\n';
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: text }));
    expect(located(result.diagnostics)).toEqual([
      { code: 'frontmatter-invalid', file: EXPERT, line: 3, column: 1 },
      { code: 'frontmatter-invalid', file: EXPERT, line: 4, column: 1 },
    ]);
    expectNoPollution();
  });
});

describe('5. size caps', () => {
  const over = TEXT_FILE_CAP + 1;

  test('a prompt of 1 MiB + 1 byte is refused before parsing', async () => {
    // Front matter that would fail to parse proves the file never reached the parser.
    const head = '---js\n{ fexp_description: (globalThis.__pwned = true, "x") }\n---\n';
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: head + 'a'.repeat(over - head.length) }));
    const d = only(result.diagnostics);
    expect(d).toMatchObject({ code: 'frontmatter-invalid', file: EXPERT });
    expect(d.message).toContain(`${over} bytes`);
    expect(d.message).toContain(`${TEXT_FILE_CAP}-byte cap`);
    expect((globalThis as Record<string, unknown>).__pwned).toBeUndefined();
  });

  test('a manifest of 1 MiB + 1 byte is refused before parsing', async () => {
    const result = await checkWorkspace(writeWorkspace({ [MANIFEST]: '{'.repeat(over) }));
    const d = only(result.diagnostics);
    expect(d).toMatchObject({ code: 'manifest-invalid', file: MANIFEST });
    expect(d.message).toContain(`${over} bytes, over the ${TEXT_FILE_CAP}-byte cap`);
  });

  test('an integration registry of 1 MiB + 1 byte is refused before parsing', async () => {
    const result = await checkWorkspace(writeWorkspace({ [REGISTRY]: '['.repeat(over) }));
    const d = only(result.diagnostics);
    expect(d).toMatchObject({ code: 'integration-registry-invalid', file: REGISTRY });
    expect(d.message).toContain(`${over} bytes`);
  });

  test('multi-byte characters count as bytes, not characters', async () => {
    const head = '---\nfexp_description: Helps.\n---\n';
    const body = 'é'.repeat(Math.ceil((TEXT_FILE_CAP - head.length) / 2) + 1); // under the cap in characters, over it in bytes
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: head + body }));
    expect(only(result.diagnostics).message).toMatch(/bytes, over the 1048576-byte cap/);
  });

  test('a prompt of exactly 1 MiB is accepted', async () => {
    const head = '---\nfexp_description: Helps.\n---\n';
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: head + 'a'.repeat(TEXT_FILE_CAP - head.length) }));
    expect(result.diagnostics).toEqual([]);
  });
});

describe('6. names are checked before any path is built', () => {
  const BAD_NAMES = ['../x', 'a/b', 'A', 'x\u0000', 'bot\u{1F916}', '\u0430dmin', 'a'.repeat(65)];

  test.each(BAD_NAMES)('tool name %j in manifest.json: manifest-invalid at the name', async (name) => {
    const text = manifest([{ name }]);
    const result = await checkWorkspace(writeWorkspace({ [MANIFEST]: text }));
    expect(located(result.diagnostics)).toEqual([{ code: 'manifest-invalid', file: MANIFEST, ...positionOf(text, '"name"') }]);
  });

  test('a 64-character name is accepted', async () => {
    const name = 'a'.repeat(64);
    const root = writeWorkspace({
      ...integrationFiles([{ method_id: 'acme.things.list.v1' }]),
      [MANIFEST]: manifest([{ name }]),
      [EXPERT]: `---\nfexp_description: Helps.\nfexp_allow_tools: [${name}]\n---\nYou help.\n`,
      [`bots/demo/prompts/tool_${name}.md`]: 'Use it.\n',
    });
    expect((await checkWorkspace(root)).diagnostics).toEqual([]);
  });

  test.each(['fexp_allow_tools', 'fexp_skills'])('bad names in `%s`: frontmatter-invalid at each entry', async (key) => {
    const text = `---\nfexp_description: Helps.\n${key}:\n${BAD_NAMES.map((n) => `  - ${JSON.stringify(n)}`).join('\n')}\n---\nYou help.\n`;
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: text }));
    expect(located(result.diagnostics)).toEqual(BAD_NAMES.map((_, i) => ({ code: 'frontmatter-invalid', file: EXPERT, line: 4 + i, column: 5 })));
  });

  test('`fexp_skills: ["../../secret"]` never reads a file outside the workspace', async () => {
    const secret = 'TOP SECRET: the launch codes';
    const names = ['../../secret', '../../../../../secret', '/etc/passwd'];
    const text = `---\nfexp_description: Helps.\nfexp_skills: ${JSON.stringify(names)}\n---\nYou help.\n`;
    const { root, parent } = workspaceWithOutside({ 'secret.md': secret, 'ws/bots/demo/secret.md': secret }, { [EXPERT]: text });
    const { result, paths } = await recordFileReads(() => checkWorkspace(root));
    expect(located(result.diagnostics)).toEqual(names.map((n) => ({ code: 'frontmatter-invalid', file: EXPERT, ...positionOf(text, JSON.stringify(n)) })));
    expect(JSON.stringify(result.diagnostics)).not.toContain('TOP SECRET');
    const realRoot = realpathSync(root);
    expect(paths.filter((p) => !p.startsWith(realRoot + path.sep))).toEqual([]);
    expect(paths.filter((p) => p.endsWith('secret.md'))).toEqual([]);
    expect(existsSync(path.join(parent, 'secret.md'))).toBe(true);
  });

  // `/` and NUL cannot occur in a file name, so `../x`, `a/b` and `x\0` have no folder form.
  const BAD_FILE_NAMES = ['A', 'bot\u{1F916}', '\u0430dmin', 'a'.repeat(65), 'a-b', '_x'];

  test('bad bot folder names: manifest-invalid, and nothing inside them is read', async () => {
    const files: Record<string, string> = {};
    for (const name of BAD_FILE_NAMES) {
      files[`bots/${name}/manifest.json`] = 'not json';
      files[`bots/${name}/prompts/expert_x.md`] = '---js\n{}\n---\n';
    }
    const root = writeWorkspace(files);
    const { result, paths } = await recordFileReads(() => checkWorkspace(root));
    const expected = BAD_FILE_NAMES.map((name) => ({ code: 'manifest-invalid', file: `bots/${name}` }));
    expect(located(result.diagnostics)).toEqual(expect.arrayContaining(expected));
    expect(result.diagnostics).toHaveLength(expected.length);
    expect(paths.filter((p) => !p.includes(`${path.sep}bots${path.sep}demo${path.sep}`) && !p.endsWith(REGISTRY))).toEqual([]);
  });

  test('bad names in prompt file names: unsafe-path, and the file is not read', async () => {
    const files: Record<string, string> = {};
    for (const name of BAD_FILE_NAMES) {
      files[`bots/demo/prompts/expert_${name}.md`] = '---js\n{}\n---\n';
      files[`bots/demo/prompts/skill_${name}.md`] = '---js\n{}\n---\n';
      files[`bots/demo/prompts/tool_${name}.md`] = '---js\n{}\n---\n';
    }
    const root = writeWorkspace(files);
    const { result, paths } = await recordFileReads(() => checkWorkspace(root));
    const expected = Object.keys(files).map((file) => ({ code: 'unsafe-path', file }));
    expect(located(result.diagnostics)).toEqual(expect.arrayContaining(expected));
    expect(result.diagnostics).toHaveLength(expected.length);
    expect(paths.map((p) => path.basename(p)).sort()).toEqual(['expert_helper.md', 'manifest.json', 'manifest.json']);
  });

  test('a provider name and a module path that leave integrations/: refused, module never imported', async () => {
    const evil = 'globalThis.__pwnedModule = true;\nexport class AcmeIntegration {}\n';
    const { root } = workspaceWithOutside(
      { 'evil.mjs': evil },
      {
        [REGISTRY]: JSON.stringify({ integrations: [registryEntry({ module: '../../evil.mjs' }), registryEntry({ provider: '../x', module: 'x/index.mjs' })] }, null, 2),
      },
    );
    const result = await checkWorkspace(root);
    expect(result.diagnostics.map((d) => d.code)).toEqual(['integration-registry-invalid']);
    expect((globalThis as Record<string, unknown>).__pwnedModule).toBeUndefined();

    const single = JSON.stringify({ integrations: [registryEntry({ module: '../../evil.mjs' })] }, null, 2);
    writeFiles(root, { [REGISTRY]: single });
    const second = await checkWorkspace(root);
    expect(located(second.diagnostics)).toEqual([{ code: 'unsafe-path', file: REGISTRY, ...positionOf(single, '"module"') }]);
    expect((globalThis as Record<string, unknown>).__pwnedModule).toBeUndefined();
  });
});

describe('7. symlinks, devices and FIFOs are never read', () => {
  const SECRET = 'TOP SECRET: outside the workspace';

  async function checkNoOutsideReads(root: string) {
    const { result, paths } = await recordFileReads(() => checkWorkspace(root));
    const realRoot = realpathSync(root);
    expect(paths.filter((p) => !p.startsWith(realRoot + path.sep))).toEqual([]);
    expect(JSON.stringify(result.diagnostics)).not.toContain('TOP SECRET');
    return result;
  }

  test('a prompt symlinked to a file outside the workspace', async () => {
    const { root, parent } = workspaceWithOutside({ 'secret.md': SECRET });
    symlinkSync(path.join(parent, 'secret.md'), path.join(root, 'bots/demo/prompts/skill_secret.md'));
    const result = await checkNoOutsideReads(root);
    expect(located(result.diagnostics)).toEqual([{ code: 'unsafe-path', file: 'bots/demo/prompts/skill_secret.md' }]);
  });

  test('a prompt symlinked to a file inside the workspace is refused too', async () => {
    const root = writeWorkspace({ 'notes/expert.md': BASE_WORKSPACE[EXPERT]! });
    symlinkSync('../../../notes/expert.md', path.join(root, 'bots/demo/prompts/expert_linked.md'));
    const result = await checkNoOutsideReads(root);
    expect(located(result.diagnostics)).toEqual([{ code: 'unsafe-path', file: 'bots/demo/prompts/expert_linked.md' }]);
  });

  test('a symlink loop', async () => {
    const root = writeWorkspace();
    symlinkSync('skill_loop.md', path.join(root, 'bots/demo/prompts/skill_loop.md'));
    symlinkSync('tool_b.md', path.join(root, 'bots/demo/prompts/tool_a.md'));
    symlinkSync('tool_a.md', path.join(root, 'bots/demo/prompts/tool_b.md'));
    const result = await checkNoOutsideReads(root);
    expect(located(result.diagnostics)).toEqual([
      { code: 'unsafe-path', file: 'bots/demo/prompts/skill_loop.md' },
      { code: 'unsafe-path', file: 'bots/demo/prompts/tool_a.md' },
      { code: 'unsafe-path', file: 'bots/demo/prompts/tool_b.md' },
    ]);
  });

  test('a symlinked prompts/ folder', async () => {
    const { root, parent } = workspaceWithOutside({ 'elsewhere/expert_x.md': `---\nfexp_description: ${SECRET}\n---\n${SECRET}\n` }, { [EXPERT]: null });
    symlinkSync(path.join(parent, 'elsewhere'), path.join(root, 'bots/demo/prompts'));
    const result = await checkNoOutsideReads(root);
    expect(located(result.diagnostics)).toEqual([{ code: 'unsafe-path', file: 'bots/demo/prompts' }]);
  });

  test('a symlinked bot folder', async () => {
    const { root, parent } = workspaceWithOutside({
      'other/manifest.json': JSON.stringify({ bot: 'other', version: '1.0.0', description: SECRET, tools: [] }),
      'other/prompts/expert_x.md': `---\nfexp_description: ${SECRET}\n---\n${SECRET}\n`,
    });
    symlinkSync(path.join(parent, 'other'), path.join(root, 'bots/other'));
    const result = await checkNoOutsideReads(root);
    expect(located(result.diagnostics)).toEqual([{ code: 'unsafe-path', file: 'bots/other' }]);
  });

  test('symlinked top-level prompts/ folder and common block', async () => {
    const { root, parent } = workspaceWithOutside({ 'common/00.md': SECRET });
    symlinkSync(path.join(parent, 'common'), path.join(root, 'prompts'));
    const first = await checkNoOutsideReads(root);
    expect(located(first.diagnostics)).toEqual([{ code: 'unsafe-path', file: 'prompts' }]);

    const second = workspaceWithOutside({ 'common/00.md': SECRET });
    mkdirSync(path.join(second.root, 'prompts'));
    symlinkSync(path.join(second.parent, 'common/00.md'), path.join(second.root, 'prompts/00.md'));
    const result = await checkNoOutsideReads(second.root);
    expect(located(result.diagnostics)).toEqual([{ code: 'unsafe-path', file: 'prompts/00.md' }]);
  });

  test('symlinked top-level bots/ and integrations/ folders are not searched', async () => {
    const files = integrationFiles([{ method_id: 'acme.things.list.v1' }]);
    const { root, parent } = workspaceWithOutside({
      'outside/bots/demo/manifest.json': BASE_WORKSPACE[MANIFEST]!,
      'outside/bots/demo/prompts/expert_helper.md': BASE_WORKSPACE[EXPERT]!,
      'outside/integrations/manifest.json': files[REGISTRY]!,
      'outside/integrations/acme/index.mjs': `globalThis.__pwnedModule = true;\n${files[MODULE_FILE]!}`,
    }, { [MANIFEST]: null, [EXPERT]: null });
    symlinkSync(path.join(parent, 'outside/bots'), path.join(root, 'bots'));
    symlinkSync(path.join(parent, 'outside/integrations'), path.join(root, 'integrations'));
    const result = await checkNoOutsideReads(root);
    expect(located(result.diagnostics)).toEqual(expect.arrayContaining([
      { code: 'unsafe-path', file: 'bots' },
      { code: 'unsafe-path', file: 'integrations' },
    ]));
    expect(result.diagnostics.every((d) => d.code === 'unsafe-path')).toBe(true);
    expect(result.diagnostics.every((d) => d.file === 'bots' || d.file.startsWith('integrations'))).toBe(true);
    expect((globalThis as Record<string, unknown>).__pwnedModule).toBeUndefined();
  });

  test('a symlinked manifest.json and integration registry', async () => {
    const { root, parent } = workspaceWithOutside({ 'm.json': `{"secret": "${SECRET}"}` }, { [MANIFEST]: null });
    symlinkSync(path.join(parent, 'm.json'), path.join(root, MANIFEST));
    mkdirSync(path.join(root, 'integrations'));
    symlinkSync(path.join(parent, 'm.json'), path.join(root, REGISTRY));
    const result = await checkNoOutsideReads(root);
    expect(located(result.diagnostics)).toEqual([
      { code: 'unsafe-path', file: MANIFEST },
      { code: 'unsafe-path', file: REGISTRY },
    ]);
  });

  test('a symlinked integration module and integration folder are never imported', async () => {
    const evil = "globalThis.__pwnedModule = true;\nexport { AcmeIntegration } from './real.mjs';\n";
    const files = integrationFiles([{ method_id: 'acme.things.list.v1' }]);
    const { root, parent } = workspaceWithOutside({ 'outside/index.mjs': evil, 'outside/real.mjs': files[MODULE_FILE]! }, { ...files, [MODULE_FILE]: null });
    mkdirSync(path.join(root, 'integrations/acme'));
    symlinkSync(path.join(parent, 'outside/index.mjs'), path.join(root, MODULE_FILE));
    const result = await checkNoOutsideReads(root);
    expect(located(result.diagnostics)).toEqual([{ code: 'unsafe-path', file: REGISTRY, ...positionOf(files[REGISTRY]!, '"module"') }]);

    const second = workspaceWithOutside({ 'outside/index.mjs': evil, 'outside/real.mjs': files[MODULE_FILE]! }, { ...files, [MODULE_FILE]: null });
    symlinkSync(path.join(second.parent, 'outside'), path.join(second.root, 'integrations/acme'));
    const again = await checkNoOutsideReads(second.root);
    expect(again.diagnostics.filter((d) => d.code === 'unsafe-path')).toHaveLength(1);
    expect(again.ok).toBe(false);
    expect((globalThis as Record<string, unknown>).__pwnedModule).toBeUndefined();
  });

  // Devices and FIFOs build in a child process with a timeout: a regression that opens one
  // for reading would block the thread, and an in-process test could never time out.
  describe('devices and FIFOs (in a child process, so a hang fails instead of freezing)', () => {
    function checkInChild(root: string): Diagnostic[] {
      const run = spawnCliSync(['check', '--root', root, '--format', 'json'], { timeout: 20_000 });
      expect(run.signal).toBeNull();
      expect(run.status).toBe(1);
      return (JSON.parse(run.stdout) as { diagnostics: Diagnostic[] }).diagnostics;
    }

    test('prompts, a manifest and a registry linked to /dev/zero', () => {
      const root = writeWorkspace({ [MANIFEST]: null });
      symlinkSync('/dev/zero', path.join(root, 'bots/demo/prompts/expert_zero.md'));
      symlinkSync('/dev/zero', path.join(root, 'bots/demo/prompts/skill_zero.md'));
      symlinkSync('/dev/zero', path.join(root, MANIFEST));
      mkdirSync(path.join(root, 'integrations'));
      symlinkSync('/dev/zero', path.join(root, REGISTRY));
      expect(located(checkInChild(root))).toEqual([
        { code: 'unsafe-path', file: MANIFEST },
        { code: 'unsafe-path', file: 'bots/demo/prompts/expert_zero.md' },
        { code: 'unsafe-path', file: 'bots/demo/prompts/skill_zero.md' },
        { code: 'unsafe-path', file: REGISTRY },
      ]);
    });

    test('FIFOs as a prompt, a manifest, a registry and a module', () => {
      const files = integrationFiles([{ method_id: 'acme.things.list.v1' }]);
      const root = writeWorkspace({ [MANIFEST]: null, [MODULE_FILE]: null, [REGISTRY]: null });
      mkdirSync(path.join(root, 'integrations/acme'), { recursive: true });
      for (const fifo of ['bots/demo/prompts/expert_fifo.md', 'prompts/00_fifo.md', MANIFEST, MODULE_FILE]) {
        mkdirSync(path.dirname(path.join(root, fifo)), { recursive: true });
        execFileSync('mkfifo', [path.join(root, fifo)]);
      }
      writeFileSync(path.join(root, REGISTRY), files[REGISTRY]!);
      expect(located(checkInChild(root))).toEqual([
        { code: 'unsafe-path', file: MANIFEST },
        { code: 'unsafe-path', file: 'bots/demo/prompts/expert_fifo.md' },
        { code: 'unsafe-path', file: REGISTRY, ...positionOf(files[REGISTRY]!, '"module"') },
        { code: 'unsafe-path', file: 'prompts/00_fifo.md' },
      ]);

      const registryFifo = writeWorkspace();
      mkdirSync(path.join(registryFifo, 'integrations'));
      execFileSync('mkfifo', [path.join(registryFifo, REGISTRY)]);
      expect(located(checkInChild(registryFifo))).toEqual([{ code: 'unsafe-path', file: REGISTRY }]);
    });
  });
});

describe('8. templates', () => {
  const FRONT = '---\nfexp_description: Helps.\nfexp_skills: []\n---\n';
  const cases: [string, string, string][] = [
    // [construct, the line it sits on, where the diagnostic points]
    ['{{lookup this "constructor"}}', 'Say {{lookup this "constructor"}} now.', '{{lookup'],
    ['{{#with bot}}', 'A {{#with bot}}{{id}}{{/with}}', '{{#with'],
    ['{{unknownHelper x}}', 'B {{unknownHelper x}}', '{{unknownHelper'],
    ['{{> partial}}', 'C {{> partial}}', '{{>'],
    ['{{nope}}', 'D {{nope}}', 'nope'],
    ['{{bot.nope}}', 'E {{bot.nope}}', 'bot.nope'],
    ['{{#each bot}}', 'F {{#each bot}}x{{/each}}', 'bot}}x'],
    ['{{bot.constructor}}', 'G {{bot.constructor}}', 'bot.constructor'],
    ['{{@root.constructor}}', 'H {{@root.constructor}}', '@root'],
    ['{{#each tools}}{{__proto__}}', 'I {{#each tools}}{{__proto__}}{{/each}}', '__proto__'],
    ['{{*decorator}}', 'J {{*decorator}}', '{{*'],
  ];

  test.each(cases)('%s: template-error at file:line:column', async (_construct, line, needle) => {
    const text = `${FRONT}First body line.\n${line}\n`;
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: text }));
    const d = only(result.diagnostics);
    expect(d).toMatchObject({ code: 'template-error', file: EXPERT, ...positionOf(text, needle) });
    expect(d.line).toBe(6);
  });

  test('every construct in one file is reported at its own line (CRLF line endings)', async () => {
    const text = `${FRONT}First body line.\n${cases.map(([, line]) => line).join('\n')}\n`.replace(/\n/g, '\r\n');
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: text }));
    expect(located(result.diagnostics)).toEqual(cases.map(([, , needle]) => ({ code: 'template-error', file: EXPERT, ...positionOf(text, needle) })));
  });

  test('in a common block without front matter, lines count from 1', async () => {
    const result = await checkWorkspace(writeWorkspace({ 'prompts/10_common.md': 'One.\nTwo {{expert.nope}}.\n' }));
    expect(located(result.diagnostics)).toEqual([{ code: 'template-error', file: 'prompts/10_common.md', line: 2, column: 7 }]);
  });

  test('an unclosed block is a template-error, not a crash', async () => {
    const text = `${FRONT}{{#if bot.id}}\nno end\n`;
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: text }));
    expect(only(result.diagnostics)).toMatchObject({ code: 'template-error', file: EXPERT });
  });

  test('the known context, if/unless/each and @index render', async () => {
    const text = `${FRONT}{{bot.id}} {{expert.name}} {{#each skills}}{{@index}}{{this}}{{/each}}{{#unless tools}}none{{/unless}}{{#if bot.version}}v{{/if}}\n`;
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: text }));
    expect(result.diagnostics).toEqual([]);
    expect(result.built[0]!.experts[0]!.system_prompt).toBe('demo helper nonev\n');
  });
});

describe('9. invisible Unicode', () => {
  const CHARS: [string, string][] = [
    ['U+E0041', '\u{E0041}'],
    ['U+202E', '\u202E'],
    ['U+200B', '\u200B'],
  ];

  test.each(CHARS)('%s in a prompt body', async (codePoint, char) => {
    const text = `---\nfexp_description: Helps.\n---\nLine one.\nRead this${char} carefully.\n`;
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: text }));
    const d = only(result.diagnostics);
    expect(d).toMatchObject({ code: 'template-error', file: EXPERT, line: 5, column: 10 });
    expect(d.message).toContain(codePoint);
  });

  test.each(CHARS)('%s in front matter', async (codePoint, char) => {
    const text = `---\nfexp_description: Helps${char} people.\n---\nYou help.\n`;
    const result = await checkWorkspace(writeWorkspace({ [EXPERT]: text }));
    const d = only(result.diagnostics);
    expect(d).toMatchObject({ code: 'frontmatter-invalid', file: EXPERT, line: 2, column: 24 });
    expect(d.message).toContain(codePoint);
  });

  test.each(CHARS)('%s in a tool description in manifest.json', async (codePoint, char) => {
    const text = manifest([{ name: 'things', description: `Reads${char} things.` }]);
    const root = writeWorkspace({
      ...integrationFiles([{ method_id: 'acme.things.list.v1' }]),
      [MANIFEST]: text,
      [EXPERT]: '---\nfexp_description: Helps.\nfexp_allow_tools: [things]\n---\nYou help.\n',
      'bots/demo/prompts/tool_things.md': 'Use it.\n',
    });
    const result = await checkWorkspace(root);
    const d = only(result.diagnostics);
    expect(d).toMatchObject({ code: 'manifest-invalid', file: MANIFEST, ...positionOf(text, '"description": "Reads') });
    expect(d.message).toContain(codePoint);
    expect(d.message).toContain('at character 6');
  });

  test.each(CHARS)('%s in a method description', async (codePoint, char) => {
    const files = integrationFiles([{ method_id: 'acme.things.list.v1', description: `Lists${char} things.` }]);
    const result = await checkWorkspace(writeWorkspace(files));
    const d = only(result.diagnostics);
    expect(d).toMatchObject({ code: 'method-spec-invalid', file: MODULE_FILE, ...positionOf(files[MODULE_FILE]!, '"acme.things.list.v1"') });
    expect(d.message).toContain(codePoint);
  });

  test('in a common block and a personality', async () => {
    const result = await checkWorkspace(
      writeWorkspace({ 'prompts/00_common.md': 'Be \u2066nice.\n', 'bots/demo/prompts/personality.md': '---\ndescription: x\n---\n\nHi\u00ad.\n' }),
    );
    expect(located(result.diagnostics)).toEqual([
      { code: 'template-error', file: 'bots/demo/prompts/personality.md', line: 5, column: 3 },
      { code: 'template-error', file: 'prompts/00_common.md', line: 1, column: 4 },
    ]);
    expect(result.diagnostics.map((d) => /U\+[0-9A-F]{4,}/.exec(d.message)?.[0])).toEqual(['U+00AD', 'U+2066']);
  });
});

describe('10. method schemas', () => {
  let server: http.Server;
  let requests = 0;
  let base = '';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ $id: `${base}/s.json`, type: 'object' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** `{not: {not: ... {}}}`: the innermost `{}` sits `depth` levels below the root. */
  function nested(depth: number): Record<string, unknown> {
    let schema: Record<string, unknown> = {};
    for (let i = 1; i < depth; i++) schema = { not: schema };
    return { type: 'object', not: schema };
  }

  test('unsafe or invalid schemas: method-schema-invalid at their method, no network access', async () => {
    const bad: [string, unknown, RegExp][] = [
      ['acme.typo.list.v1', { type: 'object', properties: { q: { type: 'string', maxLenght: 3 } } }, /maxLenght/],
      ['acme.remote.list.v1', { type: 'object', properties: { q: { $ref: `${base}/s.json` } } }, /remote reference/],
      ['acme.remoteid.list.v1', { $id: `${base}/root.json`, type: 'object', properties: { q: { $ref: 's.json' } } }, /\$id|remote/],
      ['acme.metaschema.list.v1', { $schema: `${base}/meta.json`, type: 'object' }, /\$schema/],
      ['acme.dynamic.list.v1', { type: 'object', properties: { q: { $dynamicRef: `${base}/s.json#meta` } } }, /remote reference/],
      ['acme.data.list.v1', { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number', maximum: { $data: '1/a' } } } }, /\$data/],
      ['acme.proto.list.v1', JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}'), /__proto__/],
      ['acme.deep.list.v1', nested(65), /deeper than 64/],
      ['acme.redos.list.v1', { type: 'object', properties: { q: { type: 'string', pattern: '^(a+)+$' } } }, /exponential/],
      ['acme.redoskeys.list.v1', { type: 'object', patternProperties: { '^(\\w+\\s?)*$': { type: 'string' } } }, /exponential/],
      ['acme.badregex.list.v1', { type: 'object', properties: { q: { type: 'string', pattern: '(' } } }, /not a valid regular expression/],
      ['acme.notobject.list.v1', { type: 'string' }, /type: "object"/],
    ];
    const good: [string, unknown][] = [
      ['acme.ok.list.v1', { type: 'object', properties: { q: { type: 'string', maxLength: 3, pattern: '^[a-z]+$' } }, required: ['q'], additionalProperties: false }],
      ['acme.localref.list.v1', { type: 'object', $defs: { q: { type: 'string' } }, properties: { q: { $ref: '#/$defs/q' } } }],
      ['acme.deep64.list.v1', nested(64)],
      // Only `__proto__` turns into a prototype; other Object.prototype names are ordinary properties.
      ['acme.ctor.list.v1', { type: 'object', properties: { constructor: { type: 'string' } } }],
    ];
    const files = integrationFiles([
      ...bad.map(([method_id, input_schema]) => ({ method_id, input_schema })),
      ...good.map(([method_id, input_schema]) => ({ method_id, input_schema })),
      { method_id: 'acme.output.list.v1', output_schema: { type: 'object', properties: { r: { $ref: `${base}/out.json` } } } },
    ]);
    const source = files[MODULE_FILE]!;
    const result = await checkWorkspace(writeWorkspace(files));

    const expected = [...bad.map(([id]) => id), 'acme.output.list.v1'].map((id) => ({ code: 'method-schema-invalid', file: MODULE_FILE, ...positionOf(source, JSON.stringify(id)) }));
    expect(located(result.diagnostics)).toEqual(expected);
    for (const [id, , message] of bad) {
      const d = result.diagnostics.find((x) => x.message.includes(`\`${id}\``))!;
      expect(d.message).toContain('input_schema');
      expect(d.message).toMatch(message);
    }
    expect(result.diagnostics.find((d) => d.message.includes('acme.output.list.v1'))!.message).toContain('output_schema');
    expect(requests).toBe(0);
    expectNoPollution();
  });

  test('a bot that uses a method with a broken schema gets no unknown-method on top', async () => {
    const files = integrationFiles([{ method_id: 'acme.things.list.v1', input_schema: { type: 'object', properties: { q: { $ref: `${base}/s.json` } } } }]);
    const root = writeWorkspace({
      ...files,
      [MANIFEST]: manifest([{ name: 'things' }]),
      [EXPERT]: '---\nfexp_description: Helps.\nfexp_allow_tools: [things]\n---\nYou help.\n',
      'bots/demo/prompts/tool_things.md': 'Use it.\n',
    });
    const result = await checkWorkspace(root);
    expect(result.diagnostics.map((d) => d.code)).toEqual(['method-schema-invalid']);
    expect(requests).toBe(0);
  });
});
