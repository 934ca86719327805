import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './cli.ts';
import { tempDir } from './workspace.ts';

/** A valid workspace: bot `helper`, expert `main`, tool `things` over the read method demo.things.list.v1. */
export const VALID_WORKSPACE = fileURLToPath(new URL('../fixtures/valid-block-unknown-tool/', import.meta.url));
export const DEMO_MODULE = 'integrations/demo/index.ts';

/**
 * A copy of the valid workspace in a temporary folder, with botc installed as its modules
 * import it (`node_modules/botc` links to this repository; lib/ must be built) and `files`
 * written over it (workspace-relative paths).
 */
export function copyWorkspace(files: Record<string, string> = {}): string {
  const root = tempDir('botc-contract-');
  cpSync(VALID_WORKSPACE, root, { recursive: true });
  rmSync(path.join(root, 'expected'), { recursive: true, force: true });
  rmSync(path.join(root, 'expected.json'), { force: true });
  mkdirSync(path.join(root, 'node_modules'));
  symlinkSync(REPO_ROOT, path.join(root, 'node_modules', 'botc'), 'dir');
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(root, file), text);
  return root;
}
