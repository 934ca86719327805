import { lstatSync } from 'node:fs';
import path from 'node:path';

/**
 * Why `outDir` may not receive bundles, or undefined. The folder and every folder between the
 * workspace root and it must not be a symbolic link (a planted `dist -> /elsewhere` would send
 * the output, and the pruning of stale bundles, anywhere), and it must be a folder if it exists.
 * A folder outside the workspace (only the command line's `--out` can name one) is checked
 * for itself only.
 */
export function outputFolderProblem(root: string, outDir: string): string | undefined {
  const relative = path.relative(root, outDir);
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  const chain = inside ? relative.split(path.sep).map((_, i, parts) => path.join(root, ...parts.slice(0, i + 1))) : [outDir];
  for (const folder of chain) {
    let stat;
    try {
      stat = lstatSync(folder);
    } catch {
      return undefined; // missing from here down: the build creates it
    }
    if (stat.isSymbolicLink()) return `\`${folder}\` is a symbolic link`;
    if (!stat.isDirectory()) return `\`${folder}\` is not a folder`;
  }
  return undefined;
}
