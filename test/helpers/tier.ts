/**
 * The test tiers. `npm test` runs the fast tier; BOTC_FULL=1 (set by `.ci/run` and
 * `npm run test:full`) runs everything. A whole file of system tests is named
 * `*.system.test.ts` (vitest.config.ts leaves it out of the fast tier); a file that proves one
 * guarantee at two sizes picks its size with `tier()` (e.g. 2 racing processes fast, 8 in full),
 * so that the fast tier still holds a representative of every guarantee.
 */

/** True when the full suite runs (BOTC_FULL=1). */
export const FULL = process.env.BOTC_FULL === '1';

/** `fast` in the fast tier, `full` when BOTC_FULL=1. */
export function tier<T>(fast: T, full: T): T {
  return FULL ? full : fast;
}
