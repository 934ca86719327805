import path from 'node:path';
import type { Diagnostics, Position } from '../../diagnostics/diagnostic.ts';
import { closest, didYouMean, listNames } from '../../diagnostics/hints.ts';
import type { WorkspaceFiles } from '../../load/files.ts';
import { describeReadFailure, encodingDiagnostic } from '../../load/files.ts';
import { parseJson, type JsonPath } from '../../load/json.ts';
import { isName, methodIdProblem, nameProblem } from '../../load/names.ts';
import { findInvisible } from '../../load/unicode.ts';
import { clip, reportIssues } from '../../schema/common.ts';
import { manifestSchema, type Manifest } from '../../schema/manifest.ts';
import { blockFrontMatterSchema, expertFrontMatterSchema, type ExpertFrontMatter } from '../../schema/prompt.ts';
import { DESCRIPTION_LIMIT, descriptionLength } from '../validate/description-length.ts';
import { entryKindProblem, type Entry } from '../discover/discover.ts';
import { BLOCK_PATTERN, globToRegExp, isGlob } from './glob.ts';
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

export interface MethodRef {
  id: string;
  at: () => Position;
}


/** Stage 2: one bot's manifest and prompt files, each checked on its own (nothing here needs the integrations). */
export function loadBot(
  files: WorkspaceFiles,
  diagnostics: Diagnostics,
  dir: Entry,
  children: Entry[],
  promptEntries: Entry[],
): BotSource | undefined {
  const id = path.posix.basename(dir.path);
  if (dir.kind !== 'dir') {
    diagnostics.report('unsafe-path', {
      file: dir.path,
      message: `bot folder \`${clip(id)}\` is ${entryKindProblem(dir, 'folder')}`,
      hint: 'bots must be real folders inside the workspace',
    });
    return undefined;
  }
  if (!isName(id)) {
    diagnostics.report('manifest-invalid', {
      file: dir.path,
      message: `bot folder name \`${clip(id)}\` is not a valid bot id: ${nameProblem(id)}`,
      hint: 'rename the folder to match ^[a-z][a-z0-9_]{0,63}$',
    });
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
    diagnostics.report('unsafe-path', {
      file: promptsDir.path,
      message: `\`prompts\` of bot \`${id}\` is ${entryKindProblem(promptsDir, 'folder')}`,
      hint: 'make prompts/ a real folder inside the bot folder',
    });
    bot.expertsComplete = false;
    return bot;
  }
  for (const entry of promptEntries) loadPromptEntry(files, diagnostics, bot, entry);
  if (bot.experts.length === 0 && bot.expertsComplete) {
    // A misnamed expert file is the reason there is no expert: one diagnostic that names the rename.
    const misnamed = [...bot.misnamed].filter(([, expected]) => expected.startsWith('expert_'));
    for (const [file] of misnamed) bot.misnamed.delete(file);
    diagnostics.report('expert-missing', {
      file: `${dir.path}/prompts`,
      message: `bot \`${id}\` has no expert${misnamed.length > 0 ? ` (${listNames(misnamed.map(([file]) => path.posix.basename(file)))} ${misnamed.length === 1 ? 'is' : 'are'} not named \`expert_<name>.md\`)` : ''}`,
      hint:
        misnamed.length > 0
          ? misnamed.map(([file, expected]) => `rename ${path.posix.basename(file)} to ${expected}`).join('; ')
          : `create ${dir.path}/prompts/expert_<name>.md with \`fexp_description\` front matter`,
    });
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
    diagnostics.report('unsafe-path', {
      file: entry.path,
      message: `prompt \`${base}\` is ${entryKindProblem(entry, 'file')}`,
      hint: 'prompt files must be regular files inside the workspace; copy the content instead of linking it',
    });
    if (kind === 'expert') bot.expertsComplete = false;
    return;
  }
  if (name !== undefined && !isName(name)) {
    diagnostics.report('unsafe-path', {
      file: entry.path,
      message: `\`${clip(name)}\` in the file name is not a valid ${kind} name: ${nameProblem(name)}`,
      hint: 'rename the file; names match ^[a-z][a-z0-9_]{0,63}$',
    });
    if (kind === 'expert') bot.expertsComplete = false;
    return;
  }
  if (kind === 'expert') {
    loadExpert(files, diagnostics, bot, entry.path, name!);
    return;
  }
  const read = readPrompt(files, diagnostics, entry.path, blockFrontMatterSchema);
  if (!read.ok) {
    if (!read.missing) bot.refused.add(`${kind}_${name ?? ''}`);
    return;
  }
  if (kind === 'personality') bot.personality = read.prompt;
  else if (kind === 'skill') bot.skills.set(name!, read.prompt);
  else bot.toolPrompts.set(name!, read.prompt);
}

function loadExpert(files: WorkspaceFiles, diagnostics: Diagnostics, bot: BotSource, file: string, name: string): void {
  const read = readPrompt(files, diagnostics, file, expertFrontMatterSchema);
  if (!read.ok || !read.prompt.data) {
    bot.expertsComplete = false;
    return;
  }
  const { prompt } = read;
  const data = prompt.data!;
  const mark = diagnostics.mark;
  const allow = data.fexp_allow_tools ?? [];
  const block = data.fexp_block_tools ?? [];
  const skills = data.fexp_skills ?? [];
  const at = (key: string, index: number) => prompt.locate([key, index]);

  const validAllow = uniqueNames(diagnostics, file, 'fexp_allow_tools', allow, at, (tool, index) => {
    if (!isGlob(tool)) return true;
    diagnostics.report('allow-wildcard', {
      file,
      at: at('fexp_allow_tools', index),
      message: `\`fexp_allow_tools\` holds the wildcard \`${clip(tool)}\``,
      hint: 'list each tool by its exact name; use `fexp_block_tools` for patterns',
    });
    return false;
  });
  for (const [index, pattern] of block.entries()) {
    if (!BLOCK_PATTERN.test(pattern)) {
      diagnostics.report('frontmatter-invalid', {
        file,
        at: at('fexp_block_tools', index),
        message: `\`${clip(pattern)}\` is not a tool name or glob`,
        hint: 'block patterns use lower-case name characters and `*`, `?`, `[...]`',
      });
    }
  }
  const validSkills = uniqueNames(diagnostics, file, 'fexp_skills', skills, at, () => true);
  if (diagnostics.hasErrorsSince(mark)) bot.expertsComplete = false;
  bot.experts.push({ name, prompt, description: data.fexp_description.trim(), allow: validAllow, block, skills: validSkills });
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
      diagnostics.report('frontmatter-invalid', {
        file,
        at: at(key, index),
        message: `\`${key}\`: \`${clip(name)}\` is not a valid name: ${nameProblem(name)}`,
        hint: 'names match ^[a-z][a-z0-9_]{0,63}$',
      });
    } else if (seen.has(name)) {
      diagnostics.report('frontmatter-invalid', { file, at: at(key, index), message: `\`${key}\` lists \`${name}\` twice`, hint: 'remove the repeated entry' });
    } else {
      seen.add(name);
      kept.push(name);
    }
  }
  return kept;
}

function loadManifest(files: WorkspaceFiles, diagnostics: Diagnostics, bot: BotSource): void {
  const file = bot.manifestFile;
  const read = files.read(file);
  if (!read.ok) {
    const encoding = encodingDiagnostic(file, read);
    if (encoding) return diagnostics.report('file-encoding', encoding);
    diagnostics.report(read.kind === 'unsafe' ? 'unsafe-path' : 'manifest-invalid', {
      file,
      message: read.kind === 'missing' ? `bot \`${bot.id}\` has no manifest.json` : `the manifest cannot be read: ${describeReadFailure(read)}`,
      hint: read.kind === 'missing' ? `create ${file} with \`bot\`, \`version\`, \`description\` and \`tools\`` : 'make it a regular JSON file under 1 MiB',
    });
    return;
  }
  bot.manifestSha256 = read.sha256;
  const parsed = parseJson(read.text);
  if (!parsed.ok) {
    diagnostics.report('json-syntax', { file, message: parsed.message, at: parsed.at, hint: 'fix the JSON syntax' });
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
  const manifest = result.data;
  if (manifest.bot !== bot.id) {
    diagnostics.report('bot-id-mismatch', {
      file,
      at: document.locate(['bot']),
      message: `\`bot\` is \`${manifest.bot}\` but the folder is \`${bot.id}\``,
      hint: `set \`"bot": "${bot.id}"\` or rename the folder`,
    });
  }
  const mark = diagnostics.mark;
  for (const [where, text] of [[['description'], manifest.description], ...manifest.tools.map((t, i) => [['tools', i, 'description'], t.description] as const)] as const) {
    const invisible = findInvisible(text);
    if (invisible) {
      diagnostics.report('manifest-invalid', {
        file,
        at: document.locate(where),
        message: `the description contains ${invisible.name} (${invisible.codePoint}) at character ${invisible.offset + 1}`,
        hint: 'remove it: invisible characters can hide instructions from reviewers',
      });
    }
  }
  for (const [index, tool] of manifest.tools.entries()) {
    const length = descriptionLength(tool.description);
    if (length > DESCRIPTION_LIMIT) {
      diagnostics.report('description-too-long', {
        file,
        at: document.locate(['tools', index, 'description']),
        message: `the description of tool \`${tool.name}\` is ${length} characters long; OpenAI-compatible APIs refuse a function description over ${DESCRIPTION_LIMIT}, so exports of this tool would fail there`,
        hint: `shorten it to ${DESCRIPTION_LIMIT} characters or fewer; usage detail belongs in prompts/tool_${tool.name}.md, which the expert's system prompt carries`,
      });
    }
  }
  const firstIndex = new Map<string, number>();
  for (const [index, tool] of manifest.tools.entries()) {
    const first = firstIndex.get(tool.name);
    if (first !== undefined) {
      diagnostics.report('duplicate-tool', {
        file,
        at: document.locate(['tools', index, 'name']),
        message: `tool \`${tool.name}\` is installed twice (tools[${first}] and tools[${index}])`,
        hint: 'merge the two entries into one tool, or rename one',
      });
      continue;
    }
    firstIndex.set(tool.name, index);
    collectToolMethods(diagnostics, file, tool.methods, (i) => document.locate(['tools', index, 'methods', i]), bot.methodRefs);
  }
  // Structural problems make the manifest unusable for cross-file rules; method warnings do not.
  if (!diagnostics.items.slice(mark).some((d) => d.code === 'manifest-invalid')) bot.manifest = manifest;
  else bot.manifest = undefined;
}

/** Reports repeated and malformed method ids of one tool; keeps the rest to resolve later. */
function collectToolMethods(diagnostics: Diagnostics, file: string, methods: string[], at: (index: number) => Position, refs: MethodRef[]): void {
  const seen = new Set<string>();
  for (const [index, id] of methods.entries()) {
    if (seen.has(id)) {
      diagnostics.report('manifest-invalid', { file, at: at(index), message: `the tool lists \`${clip(id)}\` twice`, hint: 'remove the repeated method id' });
      continue;
    }
    seen.add(id);
    const problem = methodIdProblem(id);
    if (problem) {
      diagnostics.report('method-id-invalid', { file, at: at(index), message: `\`${clip(id)}\` is not a method id: ${problem}`, hint: 'name each method explicitly, like `github.issues.list.v1`' });
      continue;
    }
    refs.push({ id, at: () => at(index) });
  }
}

/** Stage 3: the cross-file rules of one bot (tools, experts, prompts agree). */
export function checkBot(diagnostics: Diagnostics, bot: BotSource): void {
  checkBotRules(diagnostics, bot);
  // Near misses that no other diagnostic already explained.
  const loaded = new Set([...bot.experts.map((e) => e.prompt), ...bot.skills.values(), ...bot.toolPrompts.values(), ...(bot.personality ? [bot.personality] : [])].map((p) => p.file));
  for (const [file, expected] of bot.misnamed) {
    const base = path.posix.basename(file);
    const exists = loaded.has(`bots/${bot.id}/prompts/${expected}`);
    diagnostics.report('prompt-file-misnamed', {
      file,
      message: `\`${clip(base)}\` looks like a prompt file but is not named as one, so the build ignores it`,
      hint: expected.includes('<name>')
        ? `name it ${expected}, where <name> matches ^[a-z][a-z0-9_]{0,63}$`
        : exists
          ? `${expected} exists too: merge the two files, or move ${clip(base)} out of prompts/`
          : `rename it to ${expected}${expected === 'personality.md' ? ' (a bot has one personality)' : ''}, or move it out of prompts/ if it is not a prompt`,
    });
  }
}

/**
 * The misnamed files that were meant to be `expected`, consumed so that each is reported once,
 * with the diagnostic it explains; their names as one phrase, or undefined when there are none.
 */
function takeMisnamed(bot: BotSource, expected: string): string | undefined {
  const files = [...bot.misnamed].filter(([, meant]) => meant === expected).map(([file]) => file);
  for (const file of files) bot.misnamed.delete(file);
  return files.length === 0 ? undefined : files.map((file) => path.posix.basename(file)).join(' or ');
}

function checkBotRules(diagnostics: Diagnostics, bot: BotSource): void {
  const promptPath = (kind: string, name: string) => `bots/${bot.id}/prompts/${kind}_${name}.md`;
  for (const expert of bot.experts) {
    for (const skill of expert.skills) {
      if (bot.skills.has(skill) || bot.refused.has(`skill_${skill}`)) continue;
      const misnamed = takeMisnamed(bot, `skill_${skill}.md`);
      diagnostics.report('skill-missing', {
        file: expert.prompt.file,
        at: expert.prompt.locate(['fexp_skills', expert.skills.indexOf(skill)]),
        message: `skill \`${skill}\` has no file${misnamed ? ` (${clip(misnamed)} is not named \`skill_${skill}.md\`)` : ''}`,
        hint: misnamed ? `rename ${clip(misnamed)} to skill_${skill}.md` : (didYouMean(skill, bot.skills.keys()) ?? `create ${promptPath('skill', skill)}`),
      });
    }
  }
  const manifest = bot.manifest;
  if (!manifest) return;
  const installed = new Map(manifest.tools.map((t, i) => [t.name, i]));
  const allowers = new Map<string, string[]>();
  for (const expert of bot.experts) for (const tool of expert.allow) allowers.set(tool, [...(allowers.get(tool) ?? []), expert.name]);

  // A tool renamed by a typo in the manifest: the experts and the tool prompt agree on the name
  // it had, and outvote the manifest. That is one error at the manifest, not one per expert and prompt.
  const renamedInManifest = new Map<string, string>(); // meant name → installed (misspelt) name
  for (const name of new Set([...allowers.keys(), ...bot.toolPrompts.keys()])) {
    if (installed.has(name)) continue;
    const typo = closest(name, installed.keys());
    if (typo === undefined || renamedInManifest.has(name)) continue;
    const votesFor = (allowers.get(name)?.length ?? 0) + (bot.toolPrompts.has(name) ? 1 : 0);
    const votesAgainst = 1 + (allowers.get(typo)?.length ?? 0) + (bot.toolPrompts.has(typo) ? 1 : 0);
    if (votesFor > votesAgainst) renamedInManifest.set(name, typo);
  }
  const typoInManifest = new Set(renamedInManifest.values());
  for (const [meant, typo] of renamedInManifest) {
    const by = allowers.get(meant) ?? [];
    const evidence = [
      ...(by.length > 0 ? [`${by.length === 1 ? 'expert' : 'experts'} ${listNames(by)} allow \`${meant}\``] : []),
      ...(bot.toolPrompts.has(meant) ? [`prompts/tool_${meant}.md exists`] : []),
    ];
    diagnostics.report('tool-unreachable', {
      file: bot.manifestFile,
      at: bot.locateInManifest(['tools', installed.get(typo)!, 'name']),
      message: `tool \`${typo}\` is installed but no expert allows it; ${evidence.join(' and ')}`,
      hint: `did you mean \`${meant}\`? rename the tool to \`${meant}\` in manifest.json`,
    });
  }

  // A misnamed tool prompt (`tool_isues.md`) is reported as an orphan whose hint names the tool; not also `tool-prompt-missing`.
  const misnamedFor = new Set([...bot.toolPrompts.keys()].filter((n) => !installed.has(n) && !renamedInManifest.has(n)).flatMap((n) => closest(n, installed.keys()) ?? []));
  const allowedSomewhere = new Set<string>(typoInManifest);
  /** Allowed tools without a prompt: reported once per tool, listing every expert that allows it. */
  const withoutPrompt = new Map<string, { experts: string[]; file: string; at: () => Position }>();
  for (const expert of bot.experts) {
    const blockers = expert.block.filter((p) => BLOCK_PATTERN.test(p)).map((p) => ({ pattern: p, regex: globToRegExp(p) }));
    for (const [index, pattern] of expert.block.entries()) {
      if (isGlob(pattern) || !BLOCK_PATTERN.test(pattern) || installed.has(pattern)) continue;
      diagnostics.report('block-unknown-tool', {
        file: expert.prompt.file,
        at: expert.prompt.locate(['fexp_block_tools', index]),
        message: `\`fexp_block_tools\` names \`${clip(pattern)}\`, which bot \`${bot.id}\` does not install, so it blocks nothing`,
        hint: didYouMean(pattern, installed.keys()) ?? `installed tools: ${listNames([...installed.keys()])}; use a glob such as \`*${clip(pattern)}*\` to guard future tools`,
      });
    }
    for (const [index, tool] of expert.allow.entries()) {
      // Located only when reported: finding a position re-parses the front matter.
      const at = () => expert.prompt.locate(['fexp_allow_tools', index]);
      if (renamedInManifest.has(tool)) continue;
      if (!installed.has(tool)) {
        // A near miss names the tool the author meant: one typo is one diagnostic, not also `tool-unreachable`.
        const meant = closest(tool, installed.keys());
        if (meant !== undefined) allowedSomewhere.add(meant);
        diagnostics.report('allow-unknown-tool', {
          file: expert.prompt.file,
          at: at(),
          message: `expert \`${expert.name}\` allows \`${tool}\`, which bot \`${bot.id}\` does not install`,
          hint: didYouMean(tool, installed.keys()) ?? `installed tools: ${listNames([...installed.keys()])}`,
        });
        continue;
      }
      allowedSomewhere.add(tool);
      const blocker = blockers.find((b) => b.regex.test(tool));
      if (blocker) {
        diagnostics.report('allow-block-conflict', {
          file: expert.prompt.file,
          at: at(),
          message: `\`${tool}\` is both allowed and blocked by \`${blocker.pattern}\``,
          hint: `remove \`${tool}\` from \`fexp_allow_tools\`, or narrow the block pattern`,
        });
        continue;
      }
      if (!bot.toolPrompts.has(tool) && !misnamedFor.has(tool) && !bot.refused.has(`tool_${tool}`)) {
        const missing = withoutPrompt.get(tool);
        if (missing) missing.experts.push(expert.name);
        else withoutPrompt.set(tool, { experts: [expert.name], file: expert.prompt.file, at });
      }
    }
  }
  for (const [tool, { experts, file, at }] of withoutPrompt) {
    const misnamed = takeMisnamed(bot, `tool_${tool}.md`);
    diagnostics.report('tool-prompt-missing', {
      file,
      at: at(),
      message: `allowed tool \`${tool}\` has no tool prompt (allowed by ${experts.length === 1 ? 'expert' : 'experts'} ${listNames(experts)})${misnamed ? `; ${clip(misnamed)} is not named \`tool_${tool}.md\`` : ''}`,
      hint: misnamed ? `rename ${clip(misnamed)} to tool_${tool}.md` : `create ${promptPath('tool', tool)} describing when and how to use the tool`,
    });
  }
  for (const [name, prompt] of bot.toolPrompts) {
    if (installed.has(name) || renamedInManifest.has(name)) continue;
    diagnostics.report('tool-prompt-orphan', {
      file: prompt.file,
      at: { line: 1, column: 1 },
      message: `tool prompt for \`${name}\`, which bot \`${bot.id}\` does not install`,
      hint: didYouMean(name, installed.keys()) ?? `install \`${name}\` in ${bot.manifestFile}, or delete the file`,
    });
  }
  // With a broken expert file we cannot know what it allows; reporting tools as unreachable would mislead.
  // Without any expert, `expert-missing` already says it all; every tool would be "unreachable".
  if (!bot.expertsComplete || bot.experts.length === 0) return;
  for (const [name, index] of installed) {
    if (allowedSomewhere.has(name)) continue;
    diagnostics.report('tool-unreachable', {
      file: bot.manifestFile,
      at: bot.locateInManifest(['tools', index, 'name']),
      message: `tool \`${name}\` is installed but no expert allows it`,
      hint: `add \`${name}\` to an expert's \`fexp_allow_tools\`, or uninstall it`,
    });
  }
}
