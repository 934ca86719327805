/**
 * An ajv instance that compiles schemas only to check them (`createAjv({ checkOnly: true })`,
 * the build's schema checks) never turns the generated code into a function: every check
 * happens while the code is generated. These tests pin that the verdicts are unchanged (the
 * meta-schema still runs, as do strict mode, unknown formats and bad patterns) and that such a
 * validator cannot be mistaken for a working one.
 */
import { describe, expect, it } from 'vitest';
import { createAjv, withBaseUri } from '../src/schema/ajv.ts';

const schema = { type: 'object', properties: { id: { type: 'string', pattern: '^a+$', format: 'uuid' } }, required: ['id'] };

describe('check-only schema compiles', () => {
  it('a compiled check-only validator throws instead of validating', () => {
    const validate = createAjv({ checkOnly: true }).compile(withBaseUri(schema));
    expect(() => validate({ id: 'a' })).toThrow(/cannot validate/);
    // The same schema compiled for use validates.
    expect(createAjv().compile(withBaseUri(schema))({ id: 'b' })).toBe(false);
  });

  it('the meta-schema still runs, in validateSchema and inside compile', () => {
    const ajv = createAjv({ checkOnly: true, validateSchema: false });
    expect(ajv.validateSchema({ type: 'object', properties: { a: { type: 'strng' } } })).toBe(false);
    expect(ajv.validateSchema(schema)).toBe(true);
    expect(() => createAjv({ checkOnly: true }).compile({ type: 'object', minProperties: -1 })).toThrow(/schema is invalid/);
  });

  it('strict mode, unknown formats, bad patterns and dangling references still fail the compile', () => {
    const ajv = createAjv({ checkOnly: true, validateSchema: false });
    expect(() => ajv.compile(withBaseUri({ type: 'object', maxLenght: 3 }))).toThrow(/unknown keyword/);
    expect(() => ajv.compile(withBaseUri({ type: 'string', format: 'colour' }))).toThrow(/unknown format/);
    expect(() => ajv.compile(withBaseUri({ type: 'string', pattern: '(' }))).toThrow(/Invalid regular expression/);
    expect(() => ajv.compile(withBaseUri({ type: 'object', properties: { a: { $ref: '#/$defs/missing' } } }))).toThrow(/can't resolve reference/);
  });

  it('strict-mode remarks still reach onLint', () => {
    const lints: string[] = [];
    createAjv({ checkOnly: true, validateSchema: false, onLint: (message) => lints.push(message) }).compile(withBaseUri({ type: 'object', required: ['a'] }));
    expect(lints.join('\n')).toMatch(/required property "a" is not defined/);
  });
});
