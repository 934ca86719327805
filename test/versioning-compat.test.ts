import { describe, expect, it } from 'vitest';
import { breakingSchemaChanges, type SchemaRole } from '../src/versioning/compat.ts';
import { compareWithLock, lockEntry, nextVersion, serializeLock, updateLock, type LockFile } from '../src/versioning/lock.ts';
import type { MethodSpec } from '../src/integration/types.ts';

/**
 * The breaking-change rules, one row each: inputs may only accept more, outputs may only
 * promise less. `breaks` names the pointer of the first breaking difference, or null when the
 * change is proved compatible.
 */
interface Row {
  rule: string;
  role: SchemaRole;
  before: object;
  after: object;
  breaks: string | null;
  reason?: RegExp;
}

const obj = (properties: object, extra: object = {}) => ({ type: 'object', properties, ...extra });
const closed = (properties: object, extra: object = {}) => obj(properties, { additionalProperties: false, ...extra });

const ROWS: Row[] = [
  // required
  { rule: 'input: a new required property', role: 'input', before: obj({ a: { type: 'string' } }), after: obj({ a: { type: 'string' } }, { required: ['a'] }), breaks: '/required', reason: /`a` is now required/ },
  { rule: 'input: a property no longer required', role: 'input', before: obj({ a: {} }, { required: ['a'] }), after: obj({ a: {} }), breaks: null },
  { rule: 'output: a property no longer required', role: 'output', before: obj({ a: {} }, { required: ['a'] }), after: obj({ a: {} }), breaks: '/required', reason: /no longer required/ },
  { rule: 'output: a new required property', role: 'output', before: obj({ a: {} }), after: obj({ a: {} }, { required: ['a'] }), breaks: null },
  // properties under closed and open objects
  { rule: 'input: a property added to a closed object', role: 'input', before: closed({ a: {} }), after: closed({ a: {}, b: { type: 'integer' } }), breaks: null },
  { rule: 'input: a constrained property added to an open object', role: 'input', before: obj({ a: {} }), after: obj({ a: {}, b: { type: 'integer' } }), breaks: '/properties/b', reason: /constraint was added/ },
  { rule: 'input: a property removed from a closed object', role: 'input', before: closed({ a: {}, b: {} }), after: closed({ a: {} }), breaks: '/properties/b', reason: /removed/ },
  { rule: 'input: a property removed from an open object', role: 'input', before: obj({ a: {}, b: { type: 'string' } }), after: obj({ a: {} }), breaks: null },
  { rule: 'output: a property added to a closed object', role: 'output', before: closed({ a: {} }), after: closed({ a: {}, b: {} }), breaks: '/properties/b', reason: /may now be returned/ },
  { rule: 'output: a property removed from a closed object', role: 'output', before: closed({ a: {}, b: {} }), after: closed({ a: {} }), breaks: null },
  // additionalProperties toggled
  { rule: 'input: additionalProperties true → false', role: 'input', before: obj({ a: {} }), after: closed({ a: {} }), breaks: '/additionalProperties' },
  { rule: 'input: additionalProperties false → true', role: 'input', before: closed({ a: {} }), after: obj({ a: {} }), breaks: null },
  { rule: 'output: additionalProperties false → true', role: 'output', before: closed({ a: {} }), after: obj({ a: {} }), breaks: '/additionalProperties' },
  // type widened or narrowed
  { rule: 'input: type widened string → [string, number]', role: 'input', before: { type: 'string' }, after: { type: ['string', 'number'] }, breaks: null },
  { rule: 'input: type narrowed number → integer', role: 'input', before: { type: 'number' }, after: { type: 'integer' }, breaks: '/type' },
  { rule: 'input: type widened integer → number', role: 'input', before: { type: 'integer' }, after: { type: 'number' }, breaks: null },
  { rule: 'output: type widened integer → number', role: 'output', before: { type: 'integer' }, after: { type: 'number' }, breaks: '/type', reason: /number may now be returned/ },
  { rule: 'output: type narrowed number → integer', role: 'output', before: { type: 'number' }, after: { type: 'integer' }, breaks: null },
  { rule: 'input: nullable added via a type array', role: 'input', before: { type: 'string' }, after: { type: ['string', 'null'] }, breaks: null },
  { rule: 'output: nullable added via a type array', role: 'output', before: { type: 'string' }, after: { type: ['string', 'null'] }, breaks: '/type', reason: /null may now be returned/ },
  { rule: 'input: type added where any type was accepted', role: 'input', before: {}, after: { type: 'string' }, breaks: '/', reason: /constraint was added/ },
  // enum / const
  { rule: 'input: enum value added', role: 'input', before: { enum: ['a', 'b'] }, after: { enum: ['a', 'b', 'c'] }, breaks: null },
  { rule: 'input: enum value removed', role: 'input', before: { enum: ['a', 'b'] }, after: { enum: ['a'] }, breaks: '/enum', reason: /"b" is no longer accepted/ },
  { rule: 'output: enum value added', role: 'output', before: { enum: ['a'] }, after: { enum: ['a', 'b'] }, breaks: '/enum', reason: /"b" may now be returned/ },
  { rule: 'input: const changed', role: 'input', before: { const: 1 }, after: { const: 2 }, breaks: '/const' },
  { rule: 'input: const widened to an enum', role: 'input', before: { const: 'x' }, after: { enum: ['x', 'y'] }, breaks: null },
  { rule: 'input: an enum added to a free string', role: 'input', before: { type: 'string' }, after: { type: 'string', enum: ['a'] }, breaks: '/enum' },
  // numeric bounds
  { rule: 'input: maximum lowered', role: 'input', before: { type: 'integer', maximum: 100 }, after: { type: 'integer', maximum: 50 }, breaks: '/maximum' },
  { rule: 'input: maximum raised', role: 'input', before: { type: 'integer', maximum: 50 }, after: { type: 'integer', maximum: 100 }, breaks: null },
  { rule: 'input: minimum added', role: 'input', before: { type: 'integer' }, after: { type: 'integer', minimum: 1 }, breaks: '/minimum' },
  { rule: 'input: inclusive minimum made exclusive', role: 'input', before: { type: 'number', minimum: 0 }, after: { type: 'number', exclusiveMinimum: 0 }, breaks: '/exclusiveMinimum' },
  { rule: 'input: exclusive maximum made inclusive', role: 'input', before: { type: 'number', exclusiveMaximum: 10 }, after: { type: 'number', maximum: 10 }, breaks: null },
  { rule: 'output: maximum raised', role: 'output', before: { type: 'integer', maximum: 50 }, after: { type: 'integer', maximum: 100 }, breaks: '/maximum' },
  { rule: 'input: multipleOf coarsened', role: 'input', before: { type: 'number', multipleOf: 2 }, after: { type: 'number', multipleOf: 4 }, breaks: '/multipleOf' },
  { rule: 'input: multipleOf refined', role: 'input', before: { type: 'number', multipleOf: 4 }, after: { type: 'number', multipleOf: 2 }, breaks: null },
  // length bounds
  { rule: 'input: maxLength lowered', role: 'input', before: { type: 'string', maxLength: 10 }, after: { type: 'string', maxLength: 5 }, breaks: '/maxLength' },
  { rule: 'input: minLength lowered', role: 'input', before: { type: 'string', minLength: 3 }, after: { type: 'string', minLength: 1 }, breaks: null },
  { rule: 'output: minLength lowered', role: 'output', before: { type: 'string', minLength: 3 }, after: { type: 'string', minLength: 1 }, breaks: '/minLength' },
  { rule: 'input: maxItems lowered', role: 'input', before: { type: 'array', maxItems: 10 }, after: { type: 'array', maxItems: 5 }, breaks: '/maxItems' },
  // pattern and format
  { rule: 'input: pattern changed (unprovable)', role: 'input', before: { type: 'string', pattern: '^[a-z]+$' }, after: { type: 'string', pattern: '^[a-z0-9]+$' }, breaks: '/pattern', reason: /cannot prove/ },
  { rule: 'input: pattern removed', role: 'input', before: { type: 'string', pattern: '^[a-z]+$' }, after: { type: 'string' }, breaks: null },
  { rule: 'input: format added', role: 'input', before: { type: 'string' }, after: { type: 'string', format: 'email' }, breaks: '/format' },
  { rule: 'output: format removed', role: 'output', before: { type: 'string', format: 'date-time' }, after: { type: 'string' }, breaks: '/format' },
  // items / prefixItems
  { rule: 'input: items narrowed', role: 'input', before: { type: 'array', items: { type: 'number' } }, after: { type: 'array', items: { type: 'integer' } }, breaks: '/items/type' },
  { rule: 'input: items widened', role: 'input', before: { type: 'array', items: { type: 'integer' } }, after: { type: 'array', items: { type: ['integer', 'string'] } }, breaks: null },
  { rule: 'input: a prefixItems position narrowed', role: 'input', before: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }] }, after: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }] }, breaks: '/prefixItems/1/type' },
  { rule: 'input: items false added after prefixItems', role: 'input', before: { type: 'array', prefixItems: [{ type: 'string' }] }, after: { type: 'array', prefixItems: [{ type: 'string' }], items: false }, breaks: '/items' },
  // $ref followed locally
  { rule: 'input: a $ref target narrowed', role: 'input', before: { $defs: { n: { type: 'number' } }, type: 'object', properties: { a: { $ref: '#/$defs/n' } } }, after: { $defs: { n: { type: 'integer' } }, type: 'object', properties: { a: { $ref: '#/$defs/n' } } }, breaks: '/properties/a/type' },
  { rule: 'input: inlined $ref target, same meaning', role: 'input', before: { $defs: { n: { type: 'number' } }, type: 'object', properties: { a: { $ref: '#/$defs/n' } } }, after: obj({ a: { type: 'number' } }), breaks: null },
  { rule: 'input: recursive $ref unchanged', role: 'input', before: { $defs: { node: { type: 'object', properties: { next: { $ref: '#/$defs/node' } } } }, $ref: '#/$defs/node' }, after: { $defs: { node: { type: 'object', properties: { next: { $ref: '#/$defs/node' } } } }, $ref: '#/$defs/node' }, breaks: null },
  // anyOf / oneOf
  { rule: 'input: an anyOf branch added', role: 'input', before: { anyOf: [{ type: 'string' }] }, after: { anyOf: [{ type: 'string' }, { type: 'number' }] }, breaks: null },
  { rule: 'input: an anyOf branch removed', role: 'input', before: { anyOf: [{ type: 'string' }, { type: 'number' }] }, after: { anyOf: [{ type: 'string' }] }, breaks: '/anyOf' },
  { rule: 'output: an anyOf branch added', role: 'output', before: { anyOf: [{ type: 'string' }] }, after: { anyOf: [{ type: 'string' }, { type: 'number' }] }, breaks: '/anyOf/1' },
  { rule: 'output: an anyOf branch removed', role: 'output', before: { anyOf: [{ type: 'string' }, { type: 'number' }] }, after: { anyOf: [{ type: 'string' }] }, breaks: null },
  { rule: 'input: a disjoint oneOf branch added', role: 'input', before: { oneOf: [{ type: 'string' }] }, after: { oneOf: [{ type: 'string' }, { type: 'number' }] }, breaks: null },
  { rule: 'input: an overlapping oneOf branch added', role: 'input', before: { oneOf: [{ type: 'string' }] }, after: { oneOf: [{ type: 'string' }, { type: 'string', minLength: 1 }] }, breaks: '/oneOf' },
  { rule: 'input: a oneOf branch removed', role: 'input', before: { oneOf: [{ type: 'string' }, { type: 'number' }] }, after: { oneOf: [{ type: 'string' }] }, breaks: '/oneOf' },
  // keywords botc does not reason about
  { rule: 'input: a `not` added (unprovable)', role: 'input', before: { type: 'string' }, after: { type: 'string', not: { const: 'x' } }, breaks: '/not', reason: /cannot prove/ },
  { rule: 'input: annotations changed', role: 'input', before: { type: 'string', description: 'old', title: 'T' }, after: { type: 'string', description: 'new', examples: ['x'] }, breaks: null },
];

describe('breaking-change analysis of JSON Schemas', () => {
  for (const row of ROWS) {
    it(row.rule, () => {
      const differences = breakingSchemaChanges(row.before, row.after, row.role);
      if (row.breaks === null) {
        expect(differences).toEqual([]);
      } else {
        expect(differences.map((d) => d.pointer)).toContain(row.breaks);
        if (row.reason) expect(differences.map((d) => d.reason).join('\n')).toMatch(row.reason);
      }
    });
  }

  it('reports before → after values of the old and the new schema, whatever the role', () => {
    const [input] = breakingSchemaChanges({ type: 'integer', maximum: 100 }, { type: 'integer', maximum: 50 }, 'input');
    expect(input).toMatchObject({ pointer: '/maximum', before: 100, after: 50 });
    const [output] = breakingSchemaChanges({ type: 'integer', maximum: 50 }, { type: 'integer', maximum: 100 }, 'output');
    expect(output).toMatchObject({ pointer: '/maximum', before: 50, after: 100 });
  });
});

const spec = (over: Partial<MethodSpec> = {}): MethodSpec => ({
  method_id: 'acme.items.list.v1', provider: 'acme', description: 'List items.',
  input_schema: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', maximum: 100 } } },
  output_schema: { type: 'object', required: ['items'], properties: { items: { type: 'array' } } },
  capabilities: ['read'], auth_scopes: [], rate_limit_hint: null, idempotency: 'safe_read', cost_hint: null,
  deprecated: false, replacement_method_id: null, ...over,
});

describe('method comparison with the lock', () => {
  it('idempotency and capabilities may only permit less', () => {
    const locked = lockEntry(spec());
    expect(compareWithLock(locked, lockEntry(spec({ idempotency: 'non_idempotent_write' }))).breaking[0]).toMatchObject({ pointer: '/idempotency', before: 'safe_read', after: 'non_idempotent_write' });
    expect(compareWithLock(locked, lockEntry(spec({ capabilities: ['read', 'write'] }))).breaking[0]).toMatchObject({ pointer: '/capabilities' });
    const writer = lockEntry(spec({ idempotency: 'non_idempotent_write', capabilities: ['write', 'notify'] }));
    expect(compareWithLock(writer, lockEntry(spec({ idempotency: 'idempotent_write', capabilities: ['write'] }))).status).toBe('compatible');
  });

  it('an unchanged method is unchanged whatever the order of its keys and capabilities', () => {
    const a = lockEntry(spec({ capabilities: ['read', 'import'] }));
    const b = lockEntry({ ...spec({ capabilities: ['import', 'read'] }), input_schema: { properties: { limit: { maximum: 100, type: 'integer' } }, additionalProperties: false, type: 'object' } });
    expect(compareWithLock(a, b).status).toBe('unchanged');
  });

  it('botc lock adds new ids, updates compatible changes, refuses breaking ones and drops unused ids', () => {
    const old = updateLock(undefined, [spec(), spec({ method_id: 'acme.items.gone.v1' }), spec({ method_id: 'acme.items.kept.v1' })]).lock;
    const next = updateLock(old, [
      spec({ input_schema: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', maximum: 500 } } } }),
      spec({ method_id: 'acme.items.new.v1' }),
    ], (id) => id === 'acme.items.kept.v1');
    expect(next).toMatchObject({ added: ['acme.items.new.v1'], updated: ['acme.items.list.v1'], removed: ['acme.items.gone.v1'], refused: [] });
    expect(Object.keys(next.lock.methods).sort()).toEqual(['acme.items.kept.v1', 'acme.items.list.v1', 'acme.items.new.v1']);
    const refused = updateLock(next.lock, [spec({ input_schema: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', maximum: 10 } } } })]);
    expect(refused.refused[0]).toMatchObject({ method_id: 'acme.items.list.v1', breaking: [{ pointer: '/input_schema/properties/limit/maximum', before: 500, after: 10 }] });
    expect(refused.lock.methods['acme.items.list.v1']).toEqual(next.lock.methods['acme.items.list.v1']);
  });

  it('serializes byte-identically whatever the key order of the input', () => {
    const a: LockFile = updateLock(undefined, [spec(), spec({ method_id: 'acme.a.v1' })]).lock;
    const reverseKeys = (v: unknown): unknown => Array.isArray(v) ? v.map(reverseKeys)
      : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)])) : v;
    const shuffled = reverseKeys(a) as LockFile;
    expect(JSON.stringify(shuffled)).not.toBe(JSON.stringify(a));
    const reversed: LockFile = { methods: Object.fromEntries(Object.entries(a.methods).reverse()), format: a.format };
    expect(serializeLock(reversed)).toBe(serializeLock(a));
    expect(serializeLock(shuffled)).toBe(serializeLock(a));
    expect(serializeLock(a).endsWith('}\n')).toBe(true);
  });

  it('names the next version', () => {
    expect(nextVersion('github.issues.list.v1')).toBe('github.issues.list.v2');
    expect(nextVersion('a.b.v9')).toBe('a.b.v10');
  });
});
