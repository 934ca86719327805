import { describe, expect, it } from 'vitest';
import { MAX_REPORTED_ERRORS, Validators } from '../src/runtime/validators.ts';

/**
 * Runtime validation of method params and results (src/runtime/validators.ts): every problem
 * is named with the property at fault, up to a documented bound, and patterns run in linear
 * time so one caller's input cannot stall the process for the others.
 */

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['repo'],
  properties: {
    repo: { type: 'string', pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$' },
    limit: { type: 'integer', minimum: 1, maximum: 100 },
    state: { enum: ['open', 'closed'] },
    labels: { type: 'array', maxItems: 3, items: { type: 'string', minLength: 1 } },
    filter: { type: 'object', additionalProperties: false, properties: { since: { type: 'string', format: 'date-time' } } },
  },
};

describe('VALIDATION_FAILED names the property and lists every problem', () => {
  it('lists an unknown property and an out-of-range value together', () => {
    const message = new Validators().check(SCHEMA, { repo: 'botc', colour: 'red', limit: 500 });
    expect(message).toBe('unknown property `colour`; `limit`: must be ≤ 100');
  });

  it('names nested properties and array items with a path, and says what was given', () => {
    const message = new Validators().check(SCHEMA, { limit: 'ten', state: 'merged', labels: ['ok', ''], filter: { since: 'yesterday', x: 1 } });
    expect(message).toContain('missing property `repo`');
    expect(message).toContain('`limit`: must be an integer, got a string');
    expect(message).toContain('`state`: must be one of `open`, `closed`');
    expect(message).toContain('`labels[1]`: must be at least 1 characters long');
    expect(message).toContain('`filter.since`: must be a valid date-time');
    expect(message).toContain('unknown property `filter.x`');
    expect(message).not.toContain('must NOT have additional properties');
  });

  it(`lists at most ${MAX_REPORTED_ERRORS} problems, then counts the rest`, () => {
    const params: Record<string, unknown> = { repo: 'botc' };
    for (let i = 0; i < 25; i++) params[`extra_${i}`] = i;
    const message = new Validators().check(SCHEMA, params)!;
    expect(message.split('; ')).toHaveLength(MAX_REPORTED_ERRORS + 1);
    expect(message).toMatch(/; and 15 more problems$/);
  });

  it('quotes caller-supplied names escaped and cut short', () => {
    const message = new Validators().check(SCHEMA, { repo: 'botc', [`evil\u001b[31m${'x'.repeat(500)}`]: 1 })!;
    expect(message).not.toContain('\u001b');
    expect(message.length).toBeLessThan(200);
  });

  it('names places in a provider output by the schema only, never by its keys or values', () => {
    const schema = { type: 'object', additionalProperties: false, properties: { items: { type: 'array', items: { type: 'object', properties: { title: { type: 'string' } } } } } };
    const message = new Validators().checkOutput(schema, { sk_live_secret_key: 1, items: [{ title: 7 }, { title: 'ok' }] })!;
    expect(message).toBe('has a property the schema does not allow; `items[].title`: must be a string, got an integer');
    expect(message).not.toContain('sk_live');
  });

  it('keeps the message short for a 100,000-item array of wrong items', () => {
    const schema = { type: 'object', properties: { ids: { type: 'array', items: { type: 'string' } } } };
    const message = new Validators().check(schema, { ids: Array.from({ length: 100_000 }, (_, i) => i) })!;
    expect(message.length).toBeLessThan(450);
    expect(message).toMatch(/^`ids\[0\]`: must be a string, got an integer; .*; and \d+ more problems$/);
  });

  it('does not let an inherited name satisfy `required`', () => {
    expect(new Validators().check({ type: 'object', required: ['toString'] }, {})).toBe('missing property `toString`');
  });
});

describe('patterns at run time cannot block the event loop', () => {
  // Quadratic on a backtracking engine (accepted by the build: degree 2): 100,000 characters
  // would take tens of seconds with RegExp; the RE2 engine answers in linear time.
  it('a degree-2 pattern accepted at build answers a hostile 100,000-character value fast', () => {
    const schema = { type: 'object', properties: { q: { type: 'string', pattern: '(a|b)*c' } } };
    const validators = new Validators();
    validators.check(schema, { q: 'c' });
    const started = performance.now();
    expect(validators.check(schema, { q: `${'a'.repeat(100_000)}\u0000` })).toContain('`q`: must match the pattern');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('an exponential pattern (a forged bundle: the build refuses it) still answers fast', () => {
    for (const pattern of ['^(a|a)*$', '^(a+)+$']) {
      const schema = { type: 'object', properties: { q: { type: 'string', pattern } }, patternProperties: { [pattern]: { type: 'string' } }, propertyNames: { pattern: '^(\\w+\\s?)*$' } };
      const validators = new Validators();
      const started = performance.now();
      const hostile = `${'a'.repeat(40)}!`;
      expect(validators.check(schema, { q: hostile, [hostile]: 1, [`${'a '.repeat(30)}!`]: 'x' })).toBeDefined();
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });

  it('keeps ECMAScript semantics for `.`, `\\s` and `\\S`, and lookbehind, on the RE2 engine', () => {
    const check = (pattern: string, value: string) => new Validators().check({ type: 'object', properties: { v: { type: 'string', pattern } } }, { v: value }) === undefined;
    expect(check('^\\s$', '\u00a0')).toBe(true);
    expect(check('^\\S$', '\u00a0')).toBe(false);
    expect(check('^.$', '\u2028')).toBe(false);
    expect(check('^.$', '😀')).toBe(true);
    expect(check('(?<=\\$)\\d+', '$12')).toBe(true);
    expect(check('(?<=\\$)\\d+', '€12')).toBe(false);
    expect(check('^[[:a]+$', ':a[')).toBe(true);
    expect(check('^[[:a]+$', 'ab')).toBe(false);
    expect(check('^a[]?$', 'a')).toBe(true);
    // Lookahead and backreferences are beyond RE2: they keep ECMAScript's engine.
    expect(check('^(?!admin$)[a-z]+$', 'admin')).toBe(false);
    expect(check('^(a)\\1$', 'aa')).toBe(true);
  });
});
