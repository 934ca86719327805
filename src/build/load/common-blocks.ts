import path from 'node:path';
import { didYouMean, listNames } from '../../diagnostics/hints.ts';
import { isName, nameProblem } from '../../load/names.ts';
import { clip } from '../../schema/common.ts';
import { commonFrontMatterSchema } from '../../schema/prompt.ts';
import type { CommonBlock } from '../assemble/assemble.ts';
import type { BuildContext } from '../context.ts';
import { entryKindProblem } from '../discover/discover.ts';
import { readPrompt } from './prompts.ts';

/** `prompts/notes.MD`, `prompts/style.markdown`: common blocks are `*.md`, so these would be skipped without a word. */
const COMMON_LIKE = /^(.+)\.(?:md|markdown)$/i;

/** The load stage of the workspace's common blocks (`prompts/*.md`), each checked on its own. */
export function loadCommonBlocks({ files, diagnostics, entries }: BuildContext): CommonBlock[] {
  const blocks: CommonBlock[] = [];
  for (const entry of entries.commonPrompts) {
    if (!entry.path.endsWith('.md')) {
      const like = entry.kind === 'file' ? COMMON_LIKE.exec(path.posix.basename(entry.path)) : null;
      if (like) diagnostics.add('prompt-file-misnamed', { file: entry.path }, { variant: 'common', base: clip(path.posix.basename(entry.path)), stem: like[1]! });
      continue;
    }
    if (entry.kind !== 'file') {
      diagnostics.add('unsafe-path', { file: entry.path }, { variant: 'common-block', path: entry.path, problem: entryKindProblem(entry, 'file') });
      continue;
    }
    const read = readPrompt({ files, diagnostics }, entry.path, commonFrontMatterSchema);
    if (!read.ok) continue;
    const when = read.prompt.data?.when_tools_any ?? [];
    for (const [index, tool] of when.entries()) {
      if (isName(tool)) continue;
      diagnostics.add('frontmatter-invalid', { file: entry.path, at: read.prompt.locate(['when_tools_any', index]) }, { variant: 'when-tools-name', tool: clip(tool), problem: nameProblem(tool) });
    }
    blocks.push({ prompt: read.prompt });
  }
  return blocks;
}

/**
 * `when_tools_any` names tools of any bot: a name that no bot installs would silently drop the
 * block from every expert. Checked only when every bot of the workspace is loaded with a
 * usable manifest (a `--bot` selection or a broken manifest leaves the set of tools unknown).
 */
export function checkCommonBlockTools({ diagnostics }: BuildContext, commons: readonly CommonBlock[], bots: readonly (readonly string[] | undefined)[]): void {
  if (bots.length === 0 || bots.some((b) => !b)) return;
  const tools = new Set(bots.flatMap((b) => b!));
  for (const { prompt } of commons) {
    for (const [index, tool] of (prompt.data?.when_tools_any ?? []).entries()) {
      if (!isName(tool) || tools.has(tool)) continue;
      diagnostics.add(
        'frontmatter-invalid',
        { file: prompt.file, at: prompt.locate(['when_tools_any', index]) },
        { variant: 'when-tools-unknown', tool: clip(tool), suggestion: didYouMean(tool, tools) ?? `tools of the workspace's bots: ${listNames([...tools].sort())}` },
      );
    }
  }
}
