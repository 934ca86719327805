import type { z } from 'zod';
import type { Position } from '../../diagnostics/diagnostic.ts';
import { describeReadFailure, encodingDiagnostic } from '../../load/files.ts';
import { parseMarkdown } from '../../load/frontmatter.ts';
import type { JsonPath } from '../../load/json.ts';
import { LineIndex } from '../../load/text.ts';
import { findInvisible } from '../../load/unicode.ts';
import { reportIssues } from '../../schema/common.ts';
import type { Template } from '../assemble/render.ts';
import { checkTemplate } from '../validate/template.ts';
import type { FileContext } from '../context.ts';

/** A prompt file read, split, and checked once; rendered later for every expert that uses it. */
export interface PromptFile<Data> {
  file: string;
  sha256: string;
  body: string;
  /** The parsed body; undefined when it does not parse. */
  template: Template | undefined;
  /** 1-based line of the body's first character in the file. */
  bodyLine: number;
  /** Valid front matter, or undefined when it broke its schema. */
  data: Data | undefined;
  locate(path: JsonPath, key?: string): Position;
  /** The body passed its template checks. */
  templateOk: boolean;
}

export type PromptRead<Data> = { ok: true; prompt: PromptFile<Data> } | { ok: false; missing: boolean };

/**
 * Reads one prompt file (`ok: false` with `missing: false` means it exists but was refused and
 * already reported, so no caller may report it again as missing): refuses unsafe paths and oversized files, splits and validates the
 * front matter against `schema`, scans for invisible characters and checks the template.
 */
export function readPrompt<S extends z.ZodType>(
  { files, diagnostics }: FileContext,
  file: string,
  schema: S,
): PromptRead<z.output<S>> {
  const read = files.read(file);
  if (!read.ok) {
    if (read.kind === 'missing') return { ok: false, missing: true };
    const encoding = encodingDiagnostic(file, read);
    if (encoding) {
      diagnostics.add('file-encoding', { file, at: encoding.at }, { variant: 'decode', detail: encoding.message, hint: encoding.hint });
      return { ok: false, missing: false };
    }
    const failure = describeReadFailure(read);
    if (read.kind === 'unsafe') diagnostics.add('unsafe-path', { file }, { variant: 'prompt-file', failure, hint: 'replace the link or special file with a regular file inside the workspace' });
    else diagnostics.add('frontmatter-invalid', { file }, { variant: 'unreadable', failure, hint: 'keep prompt files under 1 MiB of UTF-8 text' });
    return { ok: false, missing: false };
  }
  const parsed = parseMarkdown(read.text);
  if (!parsed.ok) {
    diagnostics.add('frontmatter-invalid', { file, at: parsed.at }, { variant: 'issue', detail: parsed.message, hint: parsed.hint });
    return { ok: false, missing: false };
  }
  const markdown = parsed.file;
  const invisible = findInvisible(read.text);
  if (invisible) {
    const inFrontMatter = invisible.offset < markdown.bodyOffset;
    const where = { file, at: new LineIndex(read.text).positionAt(invisible.offset) };
    const found = { variant: 'invisible', name: invisible.name, codePoint: invisible.codePoint } as const;
    if (inFrontMatter) diagnostics.add('frontmatter-invalid', where, found);
    else diagnostics.add('template-error', where, found);
  }
  const result = schema.safeParse(markdown.data);
  let data: z.output<S> | undefined;
  if (result.success) data = result.data;
  else reportIssues(diagnostics, 'frontmatter-invalid', file, result.error.issues, markdown.locate, frontMatterHint, { value: markdown.data, raw: markdown.raw });

  const { template, problems } = checkTemplate(markdown.body);
  for (const problem of problems) {
    const inFile = (place: { line: number; column: number }) => ({ line: markdown.bodyLine + place.line - 1, column: place.column });
    const related = problem.related ? { file, at: inFile(problem.related) } : undefined;
    diagnostics.add('template-error', { file, at: inFile(problem), related }, { variant: 'problem', detail: problem.message, hint: problem.hint });
  }
  return {
    ok: true,
    prompt: {
      file,
      sha256: read.sha256,
      body: markdown.body,
      template,
      bodyLine: markdown.bodyLine,
      data,
      locate: markdown.locate,
      templateOk: problems.length === 0 && !(invisible && invisible.offset >= markdown.bodyOffset),
    },
  };
}

function frontMatterHint(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === 'unrecognized_keys') {
    return 'expert keys are `fexp_description`, `fexp_allow_tools`, `fexp_block_tools`, `fexp_skills`; other prompts allow `description` (and `when_tools_any` in common blocks)';
  }
  if (issue.path[0] === 'fexp_description' && issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    return 'add `fexp_description: <what the expert does>`';
  }
  return undefined;
}
