import type { Diagnostics, Position } from '../../diagnostics/diagnostic.ts';
import { isName, nameProblem } from '../../load/names.ts';
import { clip } from '../../schema/common.ts';
import type { ExpertFrontMatter } from '../../schema/prompt.ts';
import { BLOCK_PATTERN, isGlob } from '../load/glob.ts';

/**
 * The checks of one expert's tool and skill lists that need no other file: no wildcard in
 * `fexp_allow_tools`, well-formed block patterns, valid names listed once. Returns the lists
 * to use (invalid and repeated names dropped) and whether the expert passed (`ok`: no error).
 */
export function checkExpertLists(
  diagnostics: Diagnostics,
  file: string,
  data: ExpertFrontMatter,
  at: (key: string, index: number) => Position,
): { allow: string[]; block: string[]; skills: string[]; ok: boolean } {
  const mark = diagnostics.mark;
  const allow = data.fexp_allow_tools ?? [];
  const block = data.fexp_block_tools ?? [];
  const skills = data.fexp_skills ?? [];
  const validAllow = uniqueNames(diagnostics, file, 'fexp_allow_tools', allow, at, (tool, index) => {
    if (!isGlob(tool)) return true;
    diagnostics.add('allow-wildcard', { file, at: at('fexp_allow_tools', index) }, { tool: clip(tool) });
    return false;
  });
  for (const [index, pattern] of block.entries()) {
    if (!BLOCK_PATTERN.test(pattern)) {
      diagnostics.add('frontmatter-invalid', { file, at: at('fexp_block_tools', index) }, { variant: 'block-pattern', pattern: clip(pattern) });
    }
  }
  const validSkills = uniqueNames(diagnostics, file, 'fexp_skills', skills, at, () => true);
  return { allow: validAllow, block, skills: validSkills, ok: !diagnostics.hasErrorsSince(mark) };
}

/** Keeps the valid, first-seen names of a front matter list; reports the rest. */
function uniqueNames(
  diagnostics: Diagnostics,
  file: string,
  key: string,
  names: string[],
  at: (key: string, index: number) => Position,
  accept: (name: string, index: number) => boolean,
): string[] {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const [index, name] of names.entries()) {
    if (!accept(name, index)) continue;
    if (!isName(name)) {
      diagnostics.add('frontmatter-invalid', { file, at: at(key, index) }, { variant: 'bad-name', key, name: clip(name), problem: nameProblem(name) });
    } else if (seen.has(name)) {
      diagnostics.add('frontmatter-invalid', { file, at: at(key, index) }, { variant: 'listed-twice', key, name });
    } else {
      seen.add(name);
      kept.push(name);
    }
  }
  return kept;
}
