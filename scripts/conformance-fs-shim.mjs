/**
 * `node:fs` plus `globSync` (added in Node 22) for the MCP conformance package on Node 20:
 * used only by scripts/mcp-conformance.mjs.
 */
import fs from 'node:fs';
import fg from 'fast-glob';

export * from 'node:fs';
export default fs;

export function globSync(pattern, options = {}) {
  return fg.sync(pattern, { cwd: options.cwd ?? process.cwd(), dot: true });
}
