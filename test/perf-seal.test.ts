import { describe, expect, it } from 'vitest';
import { canonicalJson, sortKeys } from '../src/bundle/canonical.ts';
import { sealSortedBundle, serializeSortedBundle, type Bundle } from '../src/bundle/format.ts';
import { layOut, sealBundle, takeBundleText, type UnsealedBundle } from '../src/build/assemble/seal.ts';
import { build } from '../src/build/build.ts';
import { envelopeSchema } from '../src/tools/envelope.ts';
import { writeWorkspace } from './helpers/workspace.ts';

const textOf = (bundle: Bundle) => {
  const text = takeBundleText(bundle);
  return text && layOut(text).toString('utf8');
};

const spec = (id: string, extra: Record<string, unknown> = {}) => ({
  method_id: id,
  provider: 'acme',
  description: `Does ${id}. "Quoted", \\ backslash, é, 😀, \u2028.`,
  input_schema: { type: 'object', properties: { z: { type: 'string' }, a: { type: 'integer', minimum: 1 }, '10': { type: 'boolean' } }, required: ['a'] },
  output_schema: { type: 'object', properties: {} },
  capabilities: [],
  rate_limit_hint: null,
  note: undefined,
  ...extra,
});

function parts(methods: Record<string, object>): UnsealedBundle {
  return {
    format: 'botc.bundle/1',
    bot: { id: 'b', version: '1.0.0', description: 'A bot.' },
    experts: [{ name: 'e', description: 'd', tools: ['t'], system_prompt: 'Hello\n', blocks: [{ kind: 'expert', source: 'bots/b/prompts/expert_e.md', start: 0, end: 5, sha256: 'a'.repeat(64) }] }],
    tools: [{ name: 't', description: 'T.', methods: Object.keys(methods), parameters: { type: 'object', oneOf: [], '2': 'x' } }],
    methods,
    integrations: { acme: { module: 'integrations/acme/index.ts', export: 'default', modes: ['read'], tier: null } },
    sources: { 'bots/b/manifest.json': 'b'.repeat(64), 'a.md': 'c'.repeat(64) },
  };
}

/** What the build did before: sort the whole bundle, seal it, serialize it. */
function reference(unsealed: UnsealedBundle): { bundle: Bundle; text: string } {
  const bundle = sealSortedBundle(sortKeys(unsealed) as Omit<Bundle, 'digest'>);
  return { bundle, text: serializeSortedBundle(bundle) };
}

describe('bundles: method specs sorted and serialized once per build', () => {
  it('gives the bundle, digest and bytes of sorting, sealing and serializing the whole bundle', () => {
    const shared = { 'acme.b.get.v1': spec('acme.b.get.v1'), 'acme.a.list.v1': spec('acme.a.list.v1', { deprecated: true }), '7': spec('7') };
    const cases: Record<string, object>[] = [
      shared,
      { 'acme.a.list.v1': shared['acme.a.list.v1'] }, // the same spec objects again: the cached texts
      {},
      { 'acme.c.v1': spec('acme.c.v1', { input_schema: {} }) },
      { '0': spec('0'), '12': spec('12'), x: spec('x') },
    ];
    // Array-index names only inside a method's schema, or nowhere at all: the canonical text then
    // comes from the one walk, which must still order such names as JCS does.
    const plain = (unsealed: UnsealedBundle): UnsealedBundle => ({ ...unsealed, tools: [{ name: 't', description: 'T.', methods: Object.keys(unsealed.methods), parameters: { type: 'object', oneOf: [] } }] });
    const edges = { x: undefined, list: [1, undefined, null, -0, 1e21, 0.1, [], {}, [[]], { b: undefined }], nested: { z: { y: { x: [] } }, a: 'line\nbreak "q" \u0000 \u2028 😀' } };
    const extra: UnsealedBundle[] = [
      // Numeric order (9, 10) is not code-unit order ("10" < "9").
      plain(parts({ 'acme.a.v1': spec('acme.a.v1', { input_schema: { type: 'object', properties: { '9': { type: 'string' }, '10': { type: 'string' } } } }) })),
      { ...plain(parts({})), sources: { '9': 'a'.repeat(64), '10': 'b'.repeat(64), '!': 'c'.repeat(64) } },
      plain(parts({ 'acme.b.v1': spec('acme.b.v1', { input_schema: { type: 'object', properties: { a: { type: 'string' } } } }) })),
      { ...plain(parts({})), integrations: edges },
      // Experts are written member by member (each string escaped once for both texts).
      { ...plain(parts({})), experts: [] },
      { ...plain(parts({})), experts: [{}, { system_prompt: 'Line "one"\n\tline \\two\u2028 😀 \u0007', blocks: [{ end: 1, kind: 'expert', nested: { deep: [1, { x: 'y' }], empty: {} } }], none: undefined, list: [] }] },
    ];
    for (const unsealed of extra) {
      const expected = reference(unsealed);
      const bundle = sealBundle(unsealed);
      expect(bundle).toStrictEqual(expected.bundle);
      expect(textOf(bundle)).toBe(expected.text);
    }
    for (const methods of cases) {
      const unsealed = parts(methods);
      const expected = reference(unsealed);
      const bundle = sealBundle(unsealed);
      expect(bundle).toStrictEqual(expected.bundle);
      expect(Object.keys(bundle)).toEqual(Object.keys(expected.bundle));
      expect(textOf(bundle)).toBe(expected.text);
      // The text is handed out once.
      expect(takeBundleText(bundle)).toBeUndefined();
    }
  });
});

describe('block offsets in code points', () => {
  it('count a character above U+FFFF once, in a block with one and in the blocks after it', async () => {
    const root = writeWorkspace({
      'bots/demo/prompts/personality.md': 'Cheerful 😀 and brief (𝔘𝔫𝔦𝔠𝔬𝔡𝔢).\n',
      'prompts/style.md': 'Plain words only.\n',
    });
    const result = await build({ root, write: false });
    expect(result.ok).toBe(true);
    const expert = result.built[0]!.experts[0]!;
    const codePoints = Array.from(expert.system_prompt);
    expect(expert.blocks.map((b) => codePoints.slice(b.start, b.end).join(''))).toEqual(['Cheerful 😀 and brief (𝔘𝔫𝔦𝔠𝔬𝔡𝔢).', 'You help with A demo bot..', 'Plain words only.']);
    expect(expert.blocks[1]!.start).toBe(Array.from('Cheerful 😀 and brief (𝔘𝔫𝔦𝔠𝔬𝔡𝔢).').length + 2);
  });
});

describe('tool envelopes', () => {
  it('are built in key order (sealing keeps them) and share no object between calls', () => {
    const a = envelopeSchema('orders', ['acme.orders.list.v1', 'acme.orders.get.v1']);
    expect(JSON.stringify(a)).toBe(canonicalJson(a));
    const b = envelopeSchema('orders', ['acme.orders.list.v1']);
    const cursor = (e: Record<string, unknown>) => (e as { properties: { args: { properties: { cursor: object } } } }).properties.args.properties.cursor;
    expect(cursor(a)).toEqual(cursor(b));
    expect(cursor(a)).not.toBe(cursor(b));
  });
});
