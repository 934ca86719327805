/**
 * Runs before every test file (vitest.config.ts `setupFiles`). Test files share a worker's
 * module cache (`isolate: false`), so per-file cleanup lives here rather than in helper modules,
 * whose top-level code runs once per worker.
 */
import { afterAll } from 'vitest';
import { dropSpareSchemas } from './stores.ts';
import { removeTempDirs } from './workspace.ts';

afterAll(async () => {
  removeTempDirs();
  await dropSpareSchemas();
});
