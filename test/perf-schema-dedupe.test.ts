import { describe, expect, it } from 'vitest';
import { SchemaInspector } from '../src/build/validate/integrations-schema.ts';

const variants = (description: string): unknown[] => [
  { type: 'object', description, additionalProperties: false, properties: { id: { type: 'string', description, pattern: '^x_[0-9]{1,9}$' } } },
  { type: 'object', title: description, properties: { description: { type: 'string', description } } }, // lint: open object; a property named description
  { type: 'object', additionalProperties: false, properties: { n: { type: 'integer', description, minimum: 'one' } } }, // invalid (meta-schema)
  { type: 'object', additionalProperties: false, properties: { n: { type: 'strng', description } } }, // invalid
  { type: 'object', additionalProperties: false, properties: { n: { description, maxLenght: 3 } } }, // unknown keyword
  { type: 'object', additionalProperties: false, properties: { s: { const: { description }, description } } },
  { type: 'object', additionalProperties: false, properties: { n: { minimum: 1, description } } }, // lint: no type
  { type: 'object', properties: { s: { type: 'string', minLength: -1, description } } }, // invalid (meta-schema), with a lint-worthy open object
  { type: 'object', properties: { s: { type: 'string', description: 7, title: description } } }, // invalid: a description that is not a string
];

describe('schema checks: one compile per schema text without annotations', () => {
  it('schemas that differ only in descriptions and titles get the reports a fresh checker gives each', () => {
    const shared = new SchemaInspector();
    for (const description of ['First.', 'Second, longer.', 'Third']) {
      for (const schema of variants(description)) {
        expect(shared.checkMethodSchema(schema)).toEqual(new SchemaInspector().checkMethodSchema(schema));
      }
    }
  }, 20_000);
});
