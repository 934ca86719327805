import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SchemaInspector, type SchemaReport } from '../src/build/validate/integrations-schema.ts';
import { Validators } from '../src/runtime/validators.ts';
import { FULL } from './helpers/tier.ts';

/**
 * The official JSON Schema Test Suite, draft 2020-12 (vendored under
 * test/vendor/JSON-Schema-Test-Suite, MIT). The optional/ tests are not part of the required
 * suite; of them only the regular expression ones run (they test the runtime's regex engine).
 * Two promises are checked against every test group:
 *
 * (a) the build's schema check accepts every schema of the suite, except the ones that break
 *     a documented safety rule, and then for exactly that rule (the message says which);
 * (b) runtime validation agrees with every test's `valid`, except the exclusions below, each
 *     listed with its reason in the README ("JSON Schema Test Suite").
 *
 * The schema check is the one for any sub-schema (`SchemaInspector.check`); a method schema
 * must in addition be `type: "object"` at the top, which the suite's schemas need not be.
 */

const SUITE = fileURLToPath(new URL('./vendor/JSON-Schema-Test-Suite/tests/draft2020-12/', import.meta.url));

interface SuiteTest {
  description: string;
  data: unknown;
  valid: boolean;
}
interface SuiteGroup {
  description: string;
  schema: unknown;
  tests: SuiteTest[];
}

/** Messages of the documented safety rules: schemas refused with one of them are expected. */
const SAFETY_RULES = [
  /remote reference `[^`]+` is not allowed/, // $ref / $dynamicRef that is not a local `#...` reference
  /absolute `\$id` `[^`]+` is not allowed/, // an identifier that names a network location
  /`\$schema` must be `https:\/\/json-schema\.org\/draft\/2020-12\/schema`/, // custom meta-schemas live elsewhere
  /the name `__proto__` is not allowed/, // prototype pollution in JavaScript consumers
];

/** `file | group` (every test of the group) or `file | group | test`: why each is excluded is in the README. */
const EXCLUDED = new Set([
  // ajv refuses an empty `enum` at compile time.
  'enum.json | empty enum',
  // ajv follows a `$dynamicRef` to a `false` schema as if it were `true`.
  'dynamicRef.json | $dynamicRef points to a boolean schema | follow $dynamicRef to a false schema',
  // ajv does not collect annotations from `contains`, from nested `items`, or from an `if` without `then`/`else` for `unevaluated*`.
  'unevaluatedItems.json | unevaluatedItems with nested items',
  'unevaluatedItems.json | unevaluatedItems depends on adjacent contains',
  'unevaluatedItems.json | unevaluatedItems depends on multiple nested contains',
  'unevaluatedItems.json | unevaluatedItems and contains interact to control item dependency relationship',
  'unevaluatedItems.json | unevaluatedItems with minContains = 0',
  'unevaluatedItems.json | unevaluatedItems can see annotations from if without then and else',
  'unevaluatedProperties.json | unevaluatedProperties with if/then/else, then not defined',
  'unevaluatedProperties.json | unevaluatedProperties can see annotations from if without then and else',
]);
/** botc asserts `format` (a wrong date is VALIDATION_FAILED); the suite's default is annotation only. */
const FORMAT_ANNOTATION = /is only an annotation by default$/;

const files = readdirSync(SUITE).filter((name) => name.endsWith('.json')).sort();
const groups = files.flatMap((file) => (JSON.parse(readFileSync(`${SUITE}${file}`, 'utf8')) as SuiteGroup[]).map((group) => ({ file, group })));

/** The build check of every group's schema, done once for both tests (the ReDoS analysis is the slow part). */
let reports: Map<SuiteGroup, SchemaReport> | undefined;
function buildChecks(): Map<SuiteGroup, SchemaReport> {
  if (!reports) {
    const inspector = new SchemaInspector();
    reports = new Map(groups.map(({ group }) => [group, inspector.check(group.schema)]));
  }
  return reports;
}

describe('JSON Schema Test Suite, draft 2020-12', () => {
  it('is vendored whole (every required test file of the draft)', () => {
    expect(files.length).toBeGreaterThanOrEqual(45);
    expect(groups.length).toBeGreaterThan(350);
  });

  // The pure-JavaScript ReDoS analysis of the suite's ~20 distinct patterns takes seconds: this
  // test and the next run in the system tier (BOTC_FULL=1).
  it.runIf(FULL)('every schema is accepted by the build check, or refused by a documented safety rule', { timeout: 120_000 }, () => {
    const unexpected: string[] = [];
    let refusedBySafetyRule = 0;
    for (const { file, group } of groups) {
      const key = `${file} | ${group.description}`;
      const { error } = buildChecks().get(group)!;
      if (!error) continue;
      if (SAFETY_RULES.some((rule) => rule.test(error.message))) refusedBySafetyRule++;
      else if (!EXCLUDED.has(key)) unexpected.push(`${key}: ${error.message}`);
    }
    expect(unexpected).toEqual([]);
    // The safety rules refuse a minority of the suite (mostly embedded resources with absolute `$id`s), not a way around it.
    expect(refusedBySafetyRule).toBeLessThan(groups.length / 5);
  });

  it.runIf(FULL)('runtime validation agrees with every test of every accepted schema', { timeout: 120_000 }, () => {
    const validators = new Validators();
    const disagreements: string[] = [];
    let compared = 0;
    for (const { file, group } of groups) {
      const key = `${file} | ${group.description}`;
      if (EXCLUDED.has(key) || buildChecks().get(group)!.error) continue;
      // The runtime validates object schemas (method schemas); a boolean schema is its object form.
      const schema = typeof group.schema === 'boolean' ? (group.schema ? {} : { not: {} }) : (group.schema as object);
      for (const test of group.tests) {
        if (EXCLUDED.has(`${key} | ${test.description}`) || (file === 'format.json' && FORMAT_ANNOTATION.test(test.description))) continue;
        const valid = validators.check(schema, test.data) === undefined;
        compared++;
        if (valid !== test.valid) disagreements.push(`${key} | ${test.description}: expected ${test.valid ? 'valid' : 'invalid'}`);
      }
    }
    expect(disagreements).toEqual([]);
    expect(compared).toBeGreaterThan(1000);
  });

  // Optional in the suite, but they are what the RE2 engine (src/schema/regexp.ts) must keep.
  it('the optional ECMAScript regex tests (ecmascript-regex, non-bmp-regex) hold on the RE2 engine', { timeout: 60_000 }, () => {
    const inspector = new SchemaInspector();
    const validators = new Validators();
    const disagreements: string[] = [];
    let compared = 0;
    for (const file of ['ecmascript-regex.json', 'non-bmp-regex.json']) {
      for (const group of JSON.parse(readFileSync(`${SUITE}optional/${file}`, 'utf8')) as SuiteGroup[]) {
        expect(inspector.check(group.schema).error, `${file} | ${group.description}`).toBeUndefined();
        for (const test of group.tests) {
          compared++;
          if ((validators.check(group.schema as object, test.data) === undefined) !== test.valid) disagreements.push(`${file} | ${group.description} | ${test.description}`);
        }
      }
    }
    expect(disagreements).toEqual([]);
    expect(compared).toBeGreaterThan(80);
  });

  it('every exclusion still names a group or test of the suite', () => {
    const names = new Set(groups.flatMap(({ file, group }) => [`${file} | ${group.description}`, ...group.tests.map((t) => `${file} | ${group.description} | ${t.description}`)]));
    expect([...EXCLUDED].filter((key) => !names.has(key))).toEqual([]);
  });
});
