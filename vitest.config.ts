import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The JSON report lets CI print one `N passed, N failed` line.
    reporters: ['default', ['json', { outputFile: '.test-results/results.json' }]],
  },
});
