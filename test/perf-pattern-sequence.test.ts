import { describe, expect, it } from 'vitest';
import { analysePattern, patternProblem, singleLoop } from '../src/build/validate/integrations-schema.ts';
import { sequenceOfDegreeAtMost2 } from '../src/build/validate/pattern-sequence.ts';
import { runsInLinearTime } from '../src/schema/regexp.ts';

/** Identifier and timestamp patterns with more than one loop, as method schemas carry them. */
const ACCEPTED = [
  '^[0-9]{10}\\.[0-9]{6}$', '^[A-Z]{2,4}-[0-9]{1,10}$', '^[a-z]+/[a-z0-9.+-]+$', '^v?[0-9]+\\.[0-9]+\\.[0-9]+$',
  '^\\d{4}-\\d{2}-\\d{2}$', '^[a-z]{2}_[A-Z]{2}$', '^[a-z]+:[0-9]+$', '^[^@\\s]+@[^@\\s]+$',
];

/** Sequences the shortcut must leave to the analysis: two loops that can read the same text, one after the other. */
const LEFT = ['^a*a*$', '.\\w+-{0,4}-{3}\\d$', '^\\d+\\d+$', 'a*b*a*', '[a-z]+[a-z0-9]+$', '^(a|b)+c+$', '^a+?b+$', '^\\p{L}+\\d+$'];

/** A small deterministic generator of atom sequences. */
function* generated(count: number): Generator<string> {
  let a = 12345;
  const random = () => (a = (a * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const atoms = ['a', 'b', '[ab]', '[a-z]', '[0-9]', '\\d', '.', '\\.', '-', '[^a]', '\\w', '\\s', '[a-z0-9.+-]', '_', '\\S'];
  const quantifiers = ['', '', '', '*', '+', '?', '{2,5}', '{3}', '{0,4}', '{1,}'];
  const seen = new Set<string>();
  while (seen.size < count) {
    const length = 2 + Math.floor(random() * 4);
    const pattern = `${random() < 0.6 ? '^' : ''}${Array.from({ length }, () => pick(atoms) + pick(quantifiers)).join('')}${random() < 0.6 ? '$' : ''}`;
    if (seen.has(pattern) || singleLoop(pattern) || !sequenceOfDegreeAtMost2(pattern) || !runsInLinearTime(pattern)) continue;
    seen.add(pattern);
    yield pattern;
  }
}

describe('pattern checks: the shortcut for sequences of one-character atoms', () => {
  it('accepts typical multi-loop identifier patterns without the analysis, and the analysis agrees', () => {
    for (const pattern of ACCEPTED) {
      expect(singleLoop(pattern), pattern).toBe(false);
      expect(sequenceOfDegreeAtMost2(pattern), pattern).toBe(true);
      expect(analysePattern(pattern), pattern).toBeUndefined();
      expect(patternProblem(pattern), pattern).toBeUndefined();
    }
  }, 30_000);

  it('leaves ambiguous sequences, groups, lazy quantifiers and unknown escapes to the analysis', () => {
    for (const pattern of LEFT) expect(sequenceOfDegreeAtMost2(pattern), pattern).toBe(false);
    // The analysis still refuses the ambiguous ones.
    expect(patternProblem('.\\w+-{0,4}-{3}\\d$')).toMatch(/degree 3/);
    expect(patternProblem('^\\d+\\d+\\d+x')).toMatch(/degree/);
  }, 30_000);

  it('never accepts a generated sequence that the analysis refuses', () => {
    // 250 such patterns were compared when the shortcut was written; 25 keep the test fast.
    for (const pattern of generated(25)) expect(analysePattern(pattern), pattern).toBeUndefined();
  }, 60_000);
});
