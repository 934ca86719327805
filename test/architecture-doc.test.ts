import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/cli.ts';

/**
 * The README's architecture section is a map of the source tree: every path it names exists,
 * and every folder of src/ (and every stage folder of the compiler) is named in it. A folder
 * added or moved without the map changing fails here.
 */
const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const start = readme.indexOf('\n## Architecture\n');
const end = readme.indexOf('\n## ', start + 1);
const section = readme.slice(start, end);

function folders(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `${dir}/${entry.name}`);
}

describe('the README architecture section matches the tree', () => {
  it('has the section', () => {
    expect(start).toBeGreaterThan(0);
  });

  it('names only paths that exist', () => {
    const named = [...section.matchAll(/`((?:src|bin|test|docs|bench)\/[^`\s]*)`/g)].map((match) => match[1]!.replace(/\/$/, ''));
    expect(named.length).toBeGreaterThan(20);
    const missing = named.filter((file) => !existsSync(path.join(REPO_ROOT, file)));
    expect(missing).toEqual([]);
  });

  it('names every folder of src/ and every stage folder of the compiler', () => {
    const expected = [...folders('src'), ...folders('src/build')];
    const unnamed = expected.filter((folder) => !section.includes(`\`${folder}\``) && !section.includes(`\`${folder}/`));
    expect(unnamed).toEqual([]);
  });
});
