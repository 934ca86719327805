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
    // Files share their worker's module cache instead of loading src/ and its dependencies
    // afresh each: measured on 12 files, 40% less CPU and half the wall time. Child processes
    // (the default pool), since tests fork, kill and wait on processes and load native modules.
    pool: 'forks',
    isolate: false,
    // Vitest's default on 2 cores is one worker, which leaves a core idle while a file waits on
    // a child process, a socket or PostgreSQL. Two still left a quarter of the two cores idle
    // (CPU time ≈ 1.4 × wall); a third worker computes while the others wait, for the same CPU
    // time (docs/architecture.md, "Tests"). BOTC_TEST_WORKERS overrides it.
    maxWorkers: Number(process.env.BOTC_TEST_WORKERS ?? '3'),
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The JSON report lets CI print one `N passed, N failed` line (BOTC_TEST_REPORT names
    // another file, for .ci/run's second run of the load tests).
    reporters: ['default', ['json', { outputFile: process.env.BOTC_TEST_REPORT ?? '.test-results/results.json' }]],
  },
});
