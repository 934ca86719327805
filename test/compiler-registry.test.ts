import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES } from '../src/diagnostics/codes.ts';
import { DIAGNOSTICS } from '../src/diagnostics/registry.ts';
import { checkWorkspace, integrationFiles, MODULE_FILE, writeWorkspace } from './helpers/workspace.ts';

/**
 * The diagnostics registry (src/diagnostics/registry.ts) words every code; these tests hold
 * it to its rules: every code is exercised, and no message carries a location.
 */

const TEST_DIR = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.join(TEST_DIR, 'fixtures');
const fixtures = readdirSync(FIXTURES).filter((name) => /^(valid|invalid)-/.test(name));

/** `file:line` (or `file:line:column`) of a workspace path, as it would read inside a message. */
const LOCATION = /[\w./-]+\.[a-z]{2,8}:\d+/;

describe('the diagnostics registry', () => {
  it('has a fixture (test/fixtures/invalid-<code>*) or a test triggering every code it defines', () => {
    const fromFixtures = new Set(
      fixtures.flatMap((name) => (JSON.parse(readFileSync(path.join(FIXTURES, name, 'expected.json'), 'utf8')) as { diagnostics: { code: string }[] }).diagnostics.map((d) => d.code)),
    );
    const testSources = readdirSync(TEST_DIR)
      .filter((file) => file.endsWith('.test.ts') && file !== 'compiler-registry.test.ts')
      .map((file) => readFileSync(path.join(TEST_DIR, file), 'utf8'))
      .join('\n');
    const untested = Object.keys(DIAGNOSTICS).filter((code) => !fromFixtures.has(code) && !testSources.includes(`'${code}'`));
    expect(untested).toEqual([]);
  });

  it('is the source of the code list: same codes, severities and summaries', () => {
    expect(Object.keys(DIAGNOSTIC_CODES).sort()).toEqual(Object.keys(DIAGNOSTICS).sort());
    for (const [code, definition] of Object.entries(DIAGNOSTICS)) {
      expect(DIAGNOSTIC_CODES[code as keyof typeof DIAGNOSTICS]).toEqual({ severity: definition.severity, summary: definition.title });
    }
  });

  it('gives no golden message a file:line location (locations are fields, not text)', () => {
    const offenders: string[] = [];
    for (const name of fixtures) {
      const pretty = readFileSync(path.join(FIXTURES, name, 'expected', 'pretty.txt'), 'utf8');
      for (const line of pretty.split('\n')) {
        // A diagnostic's first line: `<where> <severity> [<code>] <message>`.
        const message = /^\S+ (?:error|warning) \[[a-z-]+\] (.*)$/.exec(line)?.[1];
        if (message !== undefined && LOCATION.test(message)) offenders.push(`${name}: ${message}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

describe('a second place goes in `related`, not in the message', () => {
  it('method-duplicate names the first declaration as its related location', async () => {
    const root = writeWorkspace(integrationFiles([{ method_id: 'acme.things.list.v1' }, { method_id: 'acme.things.list.v1' }]));
    const result = await checkWorkspace(root);
    const duplicate = result.diagnostics.find((d) => d.code === 'method-duplicate')!;
    expect(duplicate.message).toBe('method `acme.things.list.v1` is declared twice');
    expect(duplicate.file).toBe(MODULE_FILE);
    expect(duplicate.related?.file).toBe(MODULE_FILE);
    expect(duplicate.related!.line).toBeLessThan(duplicate.line!);
    expect(duplicate.message).not.toMatch(LOCATION);
  });

  it('template-error of a block closed by the wrong tag points at the closing tag in related', async () => {
    const root = writeWorkspace({
      'bots/demo/prompts/expert_helper.md': '---\nfexp_description: Helps with demos.\n---\n{{#if bot.description}}\nHelp.\n{{/each}}\n',
    });
    const result = await checkWorkspace(root);
    const error = result.diagnostics.find((d) => d.code === 'template-error')!;
    expect(error.message).toBe('`{{#if bot.description}}` is not closed: `{{/each}}` closes a different block');
    expect({ line: error.line, column: error.column }).toEqual({ line: 4, column: 1 });
    expect(error.related).toEqual({ file: 'bots/demo/prompts/expert_helper.md', line: 6, column: 1 });
  });

  it('integration-module-missing of an error in an imported file names that file in related', async () => {
    const files = integrationFiles([{ method_id: 'acme.things.list.v1' }]);
    files[MODULE_FILE] = `import { x } from './helper.mjs';\n${files[MODULE_FILE]}`;
    files['integrations/acme/helper.mjs'] = 'export const x = ;\n';
    const result = await checkWorkspace(writeWorkspace(files));
    const failure = result.diagnostics.find((d) => d.code === 'integration-module-missing')!;
    expect(failure.message).toBe('module of provider `acme` fails to load: Unexpected ";"');
    expect(failure.related).toEqual({ file: 'integrations/acme/helper.mjs', line: 1, column: 18 });
  });
});
