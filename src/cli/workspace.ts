import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './usage.ts';

/** The workspace settings file; a folder holding it is a workspace root. */
const CONFIG_FILE = 'botc.config.json';

/**
 * The workspace root of a command. `--root DIR` is taken as given (relative to `cwd`) and must
 * be a folder that holds botc.config.json, bots/ or integrations/. Without it, the root is the
 * nearest folder at or above `cwd` that holds botc.config.json, or bots/ together with
 * integrations/, so `botc check` run inside `bots/helper/` checks the whole workspace.
 *
 * @throws UsageError when there is no such folder: nothing is read or written then, so a
 *   command run from the wrong folder never builds an empty workspace or creates state there.
 */
export function workspaceRoot(flag: string | undefined, cwd: string): string {
  if (flag !== undefined) {
    const root = path.resolve(cwd, flag);
    if (!isDirectory(root)) throw new UsageError(`--root \`${flag}\` is not a folder`, 'pass the folder that holds bots/ and integrations/');
    if (!(isFile(path.join(root, CONFIG_FILE)) || isDirectory(path.join(root, 'bots')) || isDirectory(path.join(root, 'integrations')))) {
      throw new UsageError(`--root \`${flag}\` is not a botc workspace: it has no ${CONFIG_FILE}, bots/ or integrations/`, 'pass the folder that holds bots/ and integrations/');
    }
    return root;
  }
  const found = findWorkspaceRoot(cwd);
  if (found === undefined) {
    throw new UsageError(
      `no botc workspace in ${cwd} or any folder above it (a workspace holds ${CONFIG_FILE}, or bots/ and integrations/)`,
      'run botc inside a workspace, or pass --root DIR',
    );
  }
  return found;
}

/** The nearest folder at or above `start` that is a workspace root, or undefined. */
export function findWorkspaceRoot(start: string): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (isFile(path.join(dir, CONFIG_FILE)) || (isDirectory(path.join(dir, 'bots')) && isDirectory(path.join(dir, 'integrations')))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * What to put before a workspace-relative path so that a GitHub annotation lands on the file:
 * GitHub resolves annotation paths against the repository root, which is the nearest folder at
 * or above the workspace holding `.git`, else `GITHUB_WORKSPACE`. Empty when the workspace is
 * the repository root or lies outside it. Uses `/` separators and ends with `/` when not empty.
 */
export function repositoryPrefix(root: string, env: NodeJS.ProcessEnv): string {
  const base = findGitRoot(root) ?? (env.GITHUB_WORKSPACE ? path.resolve(env.GITHUB_WORKSPACE) : undefined);
  if (base === undefined) return '';
  const relative = path.relative(base, root);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return '';
  return `${relative.split(path.sep).join('/')}/`;
}

function findGitRoot(start: string): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    // `.git` is a folder in a clone and a file in a worktree or submodule.
    if (fs.existsSync(path.join(dir, '.git'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
