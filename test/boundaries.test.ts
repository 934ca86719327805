import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/cli.ts';
import { FULL } from './helpers/tier.ts';

/**
 * The import boundaries of .dependency-cruiser.cjs hold: the runtime never imports the
 * compiler, nothing imports the CLI, integrations import only botc/integration, no cycles.
 * (`npm run lint:deps` runs the same check with readable output.) A system test: dependency-cruiser
 * parses the whole tree, so it runs with BOTC_FULL=1 (`.ci/run`, `npm run test:full`).
 */
describe.runIf(FULL)('import boundaries', () => {
  it('dependency-cruiser finds no violation in src/ and integrations/', () => {
    const bin = path.join(REPO_ROOT, 'node_modules', '.bin', 'depcruise');
    const run = spawnSync(bin, ['src', 'integrations', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(run.stdout + run.stderr).toMatch(/no dependency violations found/);
    expect(run.status).toBe(0);
  }, 150_000);
});
