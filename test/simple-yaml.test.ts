import { parseDocument } from 'yaml';
import { describe, expect, test } from 'vitest';
import { parseSimpleYaml } from '../src/load/simple-yaml.ts';

/** The front matter parse of src/load/frontmatter.ts, for comparison. */
const full = (source: string) => parseDocument(source, { uniqueKeys: true, merge: false, schema: 'core', strict: true, prettyErrors: false, version: '1.2' });

function expectSameAsYaml(source: string): void {
  const simple = parseSimpleYaml(source);
  if (simple === undefined) return;
  const doc = full(source);
  expect({ source, errors: doc.errors.map((e) => e.message), warnings: doc.warnings.map((w) => w.message) }).toEqual({ source, errors: [], warnings: [] });
  const data = doc.toJS() as Record<string, unknown>;
  expect({ source, keys: Object.keys(simple), data: simple }).toEqual({ source, keys: Object.keys(data), data });
}

describe('parseSimpleYaml', () => {
  test.each([
    ['fexp_description: "Sorts new issues."\nfexp_allow_tools: [issues, insight]\n', { fexp_description: 'Sorts new issues.', fexp_allow_tools: ['issues', 'insight'] }],
    ['fexp_description: Announces confirmed incidents.\nfexp_skills: tone, severity\n', { fexp_description: 'Announces confirmed incidents.', fexp_skills: 'tone, severity' }],
    ['fexp_block_tools: ["*_admin", "notif?", "[xyz]*"]\nwhen_tools_any: []\n', { fexp_block_tools: ['*_admin', 'notif?', '[xyz]*'], when_tools_any: [] }],
    ['description: "say \\"hi\\" \\\\ bye"\n', { description: 'say "hi" \\ bye' }],
  ])('reads %j', (source, data) => {
    expect(parseSimpleYaml(source)).toEqual(data);
    expectSameAsYaml(source);
  });

  test.each([
    'a: b\r\n', 'a: b', '', 'a: b\na: c\n', 'a: true\n', 'a: null\n', 'a: [true]\n', 'a: 12\n', 'a: [1]\n', 'a: &x b\n', 'a: *x\n',
    'a: !!str b\n', 'a: b # c\n', 'a:  b\n', 'a: b \n', 'a: "\\n"\n', 'a: "é"\n', 'a:\n  - b\n', '<<: b\n', '__proto__: b\n', '# c\na: b\n',
    'a: [b,c]\n', 'a: [ b ]\n', 'a: b: c\n', 'a: {b: c}\n', 'a: - b\n', 'a: [b, c]]\n', 'a: "b\n',
  ])('leaves %j to the full parser', (source) => {
    expect(parseSimpleYaml(source)).toBeUndefined();
  });

  test('agrees with the yaml package on random documents', () => {
    let seed = 99;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const keys = ['a', 'description', 'b_2', 'true', 'null', 'y', 'no', 'on', 'key'];
    const words = ['x', 'yes', 'no', 'off', 'True', 'nan', 'inf', 'e5', 'a_b', '_x', 'n0', 'null', 'Null', 'false', 'y'];
    const texts = ['Hello world.', "don't stop", 'a - b', 'a, b', 'x;y', '(a) b/c', 'a  b', 'A.', 'a_b-c', 'a -', 'a.b.c', 'No', 'NULL'];
    const quoted = ['""', '"a b"', '"*_x"', '"[x]*"', '"a\\"b"', '"a\\\\"', '"#a"', '"a: b"', '"&x"', '"!t"', '" a "', '"a,b"'];
    const value = (): string => {
      const roll = next();
      if (roll < 0.25) return pick(words);
      if (roll < 0.5) return pick(texts);
      if (roll < 0.75) return pick(quoted);
      const n = Math.floor(next() * 4);
      return `[${Array.from({ length: n }, () => (next() < 0.5 ? pick(words) : pick(quoted))).join(', ')}]`;
    };
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const lines = Array.from({ length: 1 + Math.floor(next() * 4) }, () => `${pick(keys)}: ${value()}`);
      const source = `${lines.join('\n')}\n`;
      if (parseSimpleYaml(source) !== undefined) accepted++;
      expectSameAsYaml(source);
    }
    expect(accepted).toBeGreaterThan(500);
  });
});
