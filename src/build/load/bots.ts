import path from 'node:path';
import type { Diagnostics, Position } from '../../diagnostics/diagnostic.ts';
import type { WorkspaceFiles } from '../../load/files.ts';
import { describeReadFailure, encodingDiagnostic } from '../../load/files.ts';
import { parseJson, type JsonPath } from '../../load/json.ts';
import { isName, nameProblem } from '../../load/names.ts';
import { clip, reportIssues } from '../../schema/common.ts';
import { manifestSchema, type Manifest } from '../../schema/manifest.ts';
import { blockFrontMatterSchema, expertFrontMatterSchema, type ExpertFrontMatter } from '../../schema/prompt.ts';
import { entryKindProblem, type Entry } from '../discover/discover.ts';
import type { BuildContext } from '../context.ts';
import { checkExpertLists } from '../validate/expert.ts';
import { checkManifest, type MethodRef } from '../validate/manifest.ts';
import { readPrompt, type PromptFile } from './prompts.ts';

export interface ExpertSource {
  name: string;
  prompt: PromptFile<ExpertFrontMatter>;
  description: string;
  allow: string[];
  block: string[];
  skills: string[];
}

export interface BotSource {
  id: string;
  manifestFile: string;
  manifest: Manifest | undefined;
  manifestSha256: string | undefined;
  locateInManifest: (path: JsonPath, key?: string) => Position;
  personality: PromptFile<unknown> | undefined;
  experts: ExpertSource[];
  /** Every expert file parsed and passed its front matter checks. */
  expertsComplete: boolean;
  skills: Map<string, PromptFile<unknown>>;
  toolPrompts: Map<string, PromptFile<unknown>>;
  /** Well-formed method ids of the manifest's tools, once per tool: resolved against the integrations later. */
  methodRefs: MethodRef[];
  /**
   * Prompts that exist but were refused and already reported (unsafe, too large, bad encoding,
   * broken front matter), as `<kind>_<name>`: never reported again as missing.
   */
  refused: Set<string>;
  /** Files that look like prompts but break the layout: the file's path → the expected file name. */
  misnamed: Map<string, string>;
}

export type { MethodRef } from '../validate/manifest.ts';


/** The load stage of one bot: its manifest and prompt files, each checked on its own (nothing here needs the integrations). */
export function loadBot(ctx: BuildContext, dir: Entry): BotSource | undefined {
  const { files, diagnostics, entries } = ctx;
  const id = path.posix.basename(dir.path);
  const children = entries.botChildren.get(id) ?? [];
  const promptEntries = entries.botPrompts.get(id) ?? [];
  if (dir.kind !== 'dir') {
    diagnostics.add('unsafe-path', { file: dir.path }, { variant: 'bot-folder', id: clip(id), problem: entryKindProblem(dir, 'folder') });
    return undefined;
  }
  if (!isName(id)) {
    diagnostics.add('manifest-invalid', { file: dir.path }, { variant: 'folder-name', id: clip(id), problem: nameProblem(id) });
    return undefined;
  }
  const bot: BotSource = {
    id,
    manifestFile: `${dir.path}/manifest.json`,
    manifest: undefined,
    manifestSha256: undefined,
    locateInManifest: () => ({ line: 1, column: 1 }),
    personality: undefined,
    experts: [],
    expertsComplete: true,
    skills: new Map(),
    toolPrompts: new Map(),
    methodRefs: [],
    refused: new Set(),
    misnamed: new Map(),
  };
  loadManifest(files, diagnostics, bot);

  const promptsDir = children.find((c) => c.path === `${dir.path}/prompts`);
  if (promptsDir && promptsDir.kind !== 'dir') {
    diagnostics.add('unsafe-path', { file: promptsDir.path }, { variant: 'prompts-folder', bot: id, problem: entryKindProblem(promptsDir, 'folder') });
    bot.expertsComplete = false;
    return bot;
  }
  for (const entry of promptEntries) loadPromptEntry(files, diagnostics, bot, entry);
  if (bot.experts.length === 0 && bot.expertsComplete) {
    // A misnamed expert file is the reason there is no expert: one diagnostic that names the rename.
    const misnamed = [...bot.misnamed].filter(([, expected]) => expected.startsWith('expert_'));
    for (const [file] of misnamed) bot.misnamed.delete(file);
    const where = { file: `${dir.path}/prompts` };
    if (misnamed.length > 0) {
      diagnostics.add('expert-missing', where, { variant: 'misnamed', bot: id, files: misnamed.map(([file, expected]) => ({ file: path.posix.basename(file), expected })) });
    } else {
      diagnostics.add('expert-missing', where, { variant: 'none', bot: id, folder: dir.path });
    }
  }
  return bot;
}

const PROMPT_FILE = /^(personality|expert|skill|tool)(?:_(.*))?\.md$/;
/**
 * A file "looks like a prompt" when its name, ignoring case, is one of the prompt kinds,
 * optionally followed by `-`, `_`, `.` or spaces and a name, with the extension `.md` or
 * `.markdown` in any case (`expert-reviewer.md`, `Skill_tone.MD`, `tool_x.markdown`,
 * `Personality.md`). Any other file (README.md, notes.txt, drafts) is not a prompt block.
 */
const PROMPT_LIKE = /^(personality|expert|skill|tool)(?:[-_. ]+(.*?))?\.(?:md|markdown)$/i;

/** The layout's file name (`expert_<name>.md`, ...) a prompt-like file name was meant to be, or undefined when it does not look like a prompt. */
export function expectedPromptName(base: string): string | undefined {
  const match = PROMPT_LIKE.exec(base);
  if (!match) return undefined;
  const kind = match[1]!.toLowerCase();
  if (kind === 'personality') return 'personality.md';
  const name = match[2]?.toLowerCase().replace(/[-. ]+/g, '_');
  return name ? `${kind}_${name}.md` : `${kind}_<name>.md`;
}

function loadPromptEntry(files: WorkspaceFiles, diagnostics: Diagnostics, bot: BotSource, entry: Entry): void {
  const base = path.posix.basename(entry.path);
  const match = PROMPT_FILE.exec(base);
  const [, kind, name] = match ?? [];
  if (!match || (kind === 'personality' ? name !== undefined : name === undefined)) {
    // Notes, drafts and other files are not prompt blocks; a near miss of a prompt name is reported later.
    const expected = entry.kind === 'file' ? expectedPromptName(base) : undefined;
    if (expected !== undefined) bot.misnamed.set(entry.path, expected);
    return;
  }
  if (entry.kind !== 'file') {
    bot.refused.add(`${kind}_${name ?? ''}`);
    diagnostics.add('unsafe-path', { file: entry.path }, { variant: 'prompt', base, problem: entryKindProblem(entry, 'file') });
    if (kind === 'expert') bot.expertsComplete = false;
    return;
  }
  if (name !== undefined && !isName(name)) {
    diagnostics.add('unsafe-path', { file: entry.path }, { variant: 'prompt-name', name: clip(name), kind: kind!, problem: nameProblem(name) });
    if (kind === 'expert') bot.expertsComplete = false;
    return;
  }
  if (kind === 'expert') {
    loadExpert(files, diagnostics, bot, entry.path, name!);
    return;
  }
  const read = readPrompt({ files, diagnostics }, entry.path, blockFrontMatterSchema);
  if (!read.ok) {
    if (!read.missing) bot.refused.add(`${kind}_${name ?? ''}`);
    return;
  }
  if (kind === 'personality') bot.personality = read.prompt;
  else if (kind === 'skill') bot.skills.set(name!, read.prompt);
  else bot.toolPrompts.set(name!, read.prompt);
}

function loadExpert(files: WorkspaceFiles, diagnostics: Diagnostics, bot: BotSource, file: string, name: string): void {
  const read = readPrompt({ files, diagnostics }, file, expertFrontMatterSchema);
  if (!read.ok || !read.prompt.data) {
    bot.expertsComplete = false;
    return;
  }
  const { prompt } = read;
  const data = prompt.data!;
  const lists = checkExpertLists(diagnostics, file, data, (key, index) => prompt.locate([key, index]));
  if (!lists.ok) bot.expertsComplete = false;
  bot.experts.push({ name, prompt, description: data.fexp_description.trim(), allow: lists.allow, block: lists.block, skills: lists.skills });
}

function loadManifest(files: WorkspaceFiles, diagnostics: Diagnostics, bot: BotSource): void {
  const file = bot.manifestFile;
  const read = files.read(file);
  if (!read.ok) {
    const encoding = encodingDiagnostic(file, read);
    if (encoding) return diagnostics.add('file-encoding', { file, at: encoding.at }, { variant: 'decode', detail: encoding.message, hint: encoding.hint });
    if (read.kind === 'unsafe') diagnostics.add('unsafe-path', { file }, { variant: 'manifest', failure: describeReadFailure(read) });
    else if (read.kind === 'missing') diagnostics.add('manifest-invalid', { file }, { variant: 'missing', bot: bot.id, file });
    else diagnostics.add('manifest-invalid', { file }, { variant: 'unreadable', failure: describeReadFailure(read) });
    return;
  }
  bot.manifestSha256 = read.sha256;
  const parsed = parseJson(read.text);
  if (!parsed.ok) {
    diagnostics.add('json-syntax', { file, at: parsed.at }, { variant: 'parse', detail: parsed.message });
    return;
  }
  const { document } = parsed;
  bot.locateInManifest = document.locate;
  const result = manifestSchema.safeParse(document.value);
  if (!result.success) {
    reportIssues(diagnostics, 'manifest-invalid', file, result.error.issues, document.locate, (issue) =>
      issue.code === 'unrecognized_keys'
        ? 'a manifest has `bot`, `version`, `description`, `tools` (and optionally `$schema`)'
        : issue.path[0] === 'version'
          ? 'use MAJOR.MINOR.PATCH, for example `1.0.0`'
          : 'see the manifest format in the README',
      { value: document.value, raw: document.raw },
    );
    return;
  }
  const checked = checkManifest(diagnostics, bot.id, file, result.data, document.locate);
  bot.methodRefs.push(...checked.methodRefs);
  // Structural problems make the manifest unusable for cross-file rules; method warnings do not.
  bot.manifest = checked.usable ? result.data : undefined;
}
