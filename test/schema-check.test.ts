import { describe, expect, it } from 'vitest';
import { SchemaInspector, schemaKeywordOffset } from '../src/build/validate/integrations-schema.ts';

/**
 * The build's schema check (src/build/validate/integrations-schema.ts): valid JSON Schema 2020-12 is
 * never an error for style; lints and errors carry a JSON Pointer to their keyword, which the
 * build maps to the module source.
 */

const inspector = new SchemaInspector();

describe('method schema check', () => {
  it('reports ajv strictness remarks as lints with their keyword, not errors', () => {
    const report = inspector.checkMethodSchema({
      type: 'object',
      properties: { name: { minLength: 1 }, pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }] } },
      anyOf: [{ required: ['id'] }],
      if: { properties: { name: { const: 'x' } } },
      $defs: { a: { $anchor: 'a', type: 'string' } },
    });
    expect(report.error).toBeUndefined();
    expect(report.lints.map((l) => l.pointer).sort()).toEqual(['/anyOf/0/required', '/if', '/properties/name/minLength', '/properties/pair/prefixItems']);
  });

  it('keeps typos and dangling references as errors, with a readable message', () => {
    expect(inspector.checkMethodSchema({ type: 'object', properties: { q: { type: 'string', maxLenght: 3 } } }).error).toEqual({
      message: '/properties/q/maxLenght: unknown keyword `maxLenght` (did you mean `maxLength`?)',
      pointer: '/properties/q/maxLenght',
    });
    expect(inspector.checkMethodSchema({ type: 'object', properties: { q: { $ref: '#/$defs/nope' } } }).error).toEqual({
      message: '/properties/q/$ref: `$ref` `#/$defs/nope` points to nothing in this schema',
      pointer: '/properties/q/$ref',
    });
  });

  it('accepts recursion through the root, and property names that Object.prototype also has', () => {
    expect(inspector.checkMethodSchema({ type: 'object', properties: { child: { $ref: '#' }, constructor: { type: 'string' }, toString: { type: 'string' } } })).toEqual({ lints: [] });
  });
});

describe('schema findings in the module source', () => {
  const source = [
    "defineMethod({ method_id: 'demo.a.v1', input_schema: { type: 'object', properties: { q: { type: 'string', pattern: 'x' } } } }),",
    "defineMethod({ method_id: 'demo.b.v1', input_schema: SHARED }),",
    "defineMethod({ method_id: 'demo.c.v1', input_schema: { 'type': 'object', \"properties\": { q: { pattern: 'y' } } } }),",
  ].join('\n');

  it('points at the keyword of the schema written in the method', () => {
    const offset = schemaKeywordOffset(source, 'demo.a.v1', 'input_schema', '/properties/q/pattern')!;
    expect(source.slice(offset, offset + 12)).toBe("pattern: 'x'");
    const quoted = schemaKeywordOffset(source, 'demo.c.v1', 'input_schema', '/properties/q/pattern')!;
    expect(source.slice(quoted, quoted + 12)).toBe("pattern: 'y'");
  });

  it('finds the element of an array: the second `required` of an `anyOf`', () => {
    const text = "defineMethod({ method_id: 'demo.d.v1', input_schema: { type: 'object', anyOf: [{ required: ['a'] }, { required: ['b'] }] } }),";
    const offset = schemaKeywordOffset(text, 'demo.d.v1', 'input_schema', '/anyOf/1/required')!;
    expect(text.slice(offset, offset + 15)).toBe("required: ['b']");
  });

  it('gives up (the build then points at the method id) for a schema defined elsewhere', () => {
    expect(schemaKeywordOffset(source, 'demo.b.v1', 'input_schema', '/properties/q/pattern')).toBeUndefined();
  });
});
