import { describe, expect, it } from 'vitest';
import { MAX_PATTERN_DEGREE, SchemaInspector } from '../src/build/validate/integrations-schema.ts';
import { FULL } from './helpers/tier.ts';

/**
 * The build decides catastrophic backtracking with recheck (src/build/validate/integrations-schema.ts):
 * exponential patterns and polynomial ones of degree > 2 are refused with an attack string;
 * patterns that only look alarming (nested stars without ambiguity, lookbehind) are accepted.
 * Every place a pattern can hide is checked. The pure-JavaScript analysis takes from a few
 * milliseconds to seconds per distinct pattern, hence the timeouts.
 */

const inspector = new SchemaInspector();
const withPattern = (pattern: string) => ({ type: 'object', properties: { v: { type: 'string', pattern } } });
const errorOf = (schema: unknown) => inspector.checkMethodSchema(schema).error;

const SEMVER =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$';

describe('ReDoS decisions at build', () => {
  const expectAcceptedAndFast = (pattern: string) => {
    expect(errorOf(withPattern(pattern)), pattern).toBeUndefined();
    // Rightly so: even on ECMAScript's backtracking engine a 40,000-character hostile input is matched at once.
    const started = performance.now();
    new RegExp(pattern, 'u').test(`${'a.'.repeat(20_000)}!`);
    new RegExp(pattern, 'u').test(`${'a-'.repeat(20_000)}!`);
    expect(performance.now() - started).toBeLessThan(200);
  };

  it('accepts unambiguous patterns with nested quantifiers (hostnames, slugs)', { timeout: 30_000 }, () => {
    expectAcceptedAndFast('^[a-z0-9]+(\\.[a-z0-9]+)*$');
    expectAcceptedAndFast('^[a-z0-9]+(?:-[a-z0-9]+)*$');
  });

  // The largest pattern here: about 2 s of CPU for the automaton analysis (system tier: BOTC_FULL=1).
  it.runIf(FULL)('accepts the semver.org pattern', { timeout: 60_000 }, () => expectAcceptedAndFast(SEMVER));

  // Lookbehind is beyond automata: recheck fuzzes it (a few seconds of CPU; system tier: BOTC_FULL=1).
  it.runIf(FULL)('accepts lookbehind', { timeout: 60_000 }, () => expectAcceptedAndFast('(?<=@)[a-z]+\\.com$'));

  it('refuses exponential patterns, alternation under a star included, with the attack string', { timeout: 30_000 }, () => {
    for (const pattern of ['^(a|a)*$', '^(a+)+$', '^(\\w+\\s?)*$']) {
      const error = errorOf(withPattern(pattern));
      expect(error?.message, pattern).toMatch(/can take exponential time to match, for example on the input '.+'\.repeat\(\d+\)/);
      expect(error?.pointer).toBe('/properties/v/pattern');
    }
  });

  it(`refuses polynomial patterns of degree > ${MAX_PATTERN_DEGREE} and accepts degree ${MAX_PATTERN_DEGREE}`, { timeout: 30_000 }, () => {
    expect(errorOf(withPattern('^.*a.*a.*a.*a$'))?.message).toMatch(/time of degree 4 in the input length .* for example on the input/);
    expect(errorOf(withPattern('a.*b.*c'))?.message).toMatch(/degree 3/);
    expect(errorOf(withPattern('(a|b)*c'))).toBeUndefined();
  });

  it('refuses a quadratic pattern that needs the backtracking engine at run time (lookahead)', { timeout: 30_000 }, () => {
    // Lookahead is fuzzed, not analysed exactly: the degree found may be 2 or more; either way it is refused.
    expect(errorOf(withPattern('(?=[ab])(a|b)*c'))?.message).toMatch(/(needs the backtracking engine .* degree 2|degree [3-9]).*, for example on the input/);
  });

  it('checks every place a pattern can be: pattern, patternProperties, propertyNames, nested, $defs', { timeout: 30_000 }, () => {
    const bad = '^(a|a)*$';
    const places: [unknown, string][] = [
      [{ type: 'object', patternProperties: { [bad]: { type: 'string' } } }, `/patternProperties/${bad}`],
      [{ type: 'object', propertyNames: { pattern: bad } }, '/propertyNames/pattern'],
      [{ type: 'object', properties: { a: { type: 'array', items: { type: 'object', properties: { b: { type: 'string', pattern: bad } } } } } }, '/properties/a/items/properties/b/pattern'],
      [{ type: 'object', $defs: { name: { type: 'string', pattern: bad } }, properties: { n: { $ref: '#/$defs/name' } } }, '/$defs/name/pattern'],
      [{ type: 'object', anyOf: [{ properties: { x: { not: { pattern: bad } } } }] }, '/anyOf/0/properties/x/not/pattern'],
    ];
    for (const [schema, pointer] of places) {
      const error = errorOf(schema);
      expect(error?.message, pointer).toMatch(/exponential time/);
      expect(error?.pointer).toBe(pointer);
    }
  });

  it('does not take data for a pattern: a `pattern` key inside `const` or a property named `pattern`', () => {
    const schema = {
      type: 'object',
      properties: { pattern: { type: 'string' }, c: { const: { pattern: '^(a+)+$' } } },
      examples: [{ pattern: '^(a+)+$' }],
    };
    expect(inspector.checkMethodSchema(schema)).toEqual({ lints: [] });
  });

  it('decides patterns with large bounded repeats on the automaton, in well under a second of CPU', { timeout: 30_000 }, () => {
    inspector.checkMethodSchema(withPattern('^x$')); // recheck itself is loaded once
    for (const pattern of ['^[a-z][a-z0-9_.]{0,127}$', '^[A-Za-z0-9._/-]{1,255}$', '^[A-Z0-9]{8,30}$']) {
      const before = process.cpuUsage();
      expect(errorOf(withPattern(pattern)), pattern).toBeUndefined();
      const used = process.cpuUsage(before);
      expect((used.user + used.system) / 1000, pattern).toBeLessThan(1000);
    }
    expect(errorOf(withPattern('^(a|a){1,255}$'))?.message).toMatch(/exponential time/);
  });

  it('refuses a pattern that is not an ECMAScript regular expression', () => {
    expect(errorOf(withPattern('(?<name'))?.message).toMatch(/not a valid regular expression/);
  });
});
