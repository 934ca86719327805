import { describe, expect, it } from 'vitest';
import { analysePattern, patternProblem, singleLoop } from '../src/build/validate/integrations-schema.ts';
import { runsInLinearTime } from '../src/schema/regexp.ts';

/** Patterns of the kind real method schemas carry: one loop, anchored or not. */
const SINGLE = [
  '^[A-Z]{3}$', '^cus_[0-9a-z]{8,24}$', '^[CGD][A-Z0-9]{8,12}$', '^job_[0-9]{1,10}$', '^[A-Za-z0-9._/-]{1,255}$',
  '[a-z]+', 'a*a', '^.*$', '^(?:ab)+$', '^(ab)+c$', '^x\\d+\\.$', '^[+*?|{]+$', '^\\p{L}+$', '^abc$',
];

/** Patterns the shortcut must leave to the analysis. */
const NOT_SINGLE = [
  '^(a|a)+$', '^(a+)+$', 'a*a*b', '^[0-9]{10}\\.[0-9]{6}$', '(?=a)a+', '^(a)\\1+$', '^(?<x>a)+$', 'a+?', '^v?[0-9]+$', 'a|b',
];

describe('pattern checks: the single-loop shortcut', () => {
  it('decides a one-loop pattern without the ReDoS analysis, with the verdict the analysis gives', () => {
    for (const pattern of SINGLE) {
      expect(singleLoop(pattern), pattern).toBe(true);
      expect(runsInLinearTime(pattern), pattern).toBe(true);
      expect(analysePattern(pattern), pattern).toBeUndefined();
      expect(patternProblem(pattern), pattern).toBeUndefined();
    }
  }, 20_000);

  it('leaves patterns with alternation, a second quantifier, lookaround, a backreference or a named group to the analysis', () => {
    for (const pattern of NOT_SINGLE) expect(singleLoop(pattern), pattern).toBe(false);
    // And the analysis still refuses what it refused.
    expect(patternProblem('^(a|a)+$')).toMatch(/exponential/);
    expect(patternProblem('^(a+)+$')).toMatch(/exponential/);
  }, 20_000);
});
