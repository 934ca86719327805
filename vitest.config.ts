import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Two tiers (docs/architecture.md, "Tests"). `npm test` runs the fast tier: every file except
 * `*.system.test.ts`. BOTC_FULL=1 (set by `.ci/run`, or `npm run test:full`) adds the system
 * tests: a real browser, dependency-cruiser over the tree, the vendored JSON Schema suite,
 * ReDoS probes, multi-process crash and race tests at full size.
 */
const FULL = process.env.BOTC_FULL === '1';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: FULL ? configDefaults.exclude : [...configDefaults.exclude, 'test/**/*.system.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The JSON report lets CI print one `N passed, N failed` line.
    reporters: ['default', ['json', { outputFile: '.test-results/results.json' }]],
  },
});
