import type { Template } from '../assemble/render.ts';
import { parseTemplate } from './template-parse.ts';

/**
 * Static checks of prompt templates (README, Prompt assembly, docs/security.md). Every block is parsed
 * once and walked against the shape of the render context, so an unknown name, a helper
 * other than `if`/`unless`/`each`, a partial or a decorator is a located build error
 * rather than a surprise at render time. The parsed template is kept for rendering.
 */

export type ValueType =
  | { kind: 'string' }
  | { kind: 'object'; fields: Record<string, ValueType> }
  | { kind: 'array'; of: ValueType };

const STRING: ValueType = { kind: 'string' };
const list = (of: ValueType): ValueType => ({ kind: 'array', of });
const object = (fields: Record<string, ValueType>): ValueType => ({ kind: 'object', fields });

/** The render context of README, Prompt assembly. */
export const CONTEXT_TYPE: ValueType = object({
  bot: object({ id: STRING, version: STRING, description: STRING }),
  expert: object({ name: STRING, description: STRING }),
  tools: list(object({ name: STRING, description: STRING, methods: list(STRING) })),
  skills: list(STRING),
});

const BLOCK_HELPERS = new Set(['if', 'unless', 'each']);
const EACH_DATA = new Set(['index', 'first', 'last']);

export interface TemplateProblem {
  message: string;
  /** 1-based line and column within the template text. */
  line: number;
  column: number;
  hint: string;
  /** A second place in the template the problem is about (where a mismatched block closes). */
  related?: { line: number; column: number };
}

interface Frame {
  type: ValueType;
  params: Map<string, ValueType>;
}

type Node = hbs.AST.Node;

export interface CheckedTemplate {
  /** The parsed template, ready to render (source locations let go); undefined when it does not parse. */
  template: Template | undefined;
  problems: TemplateProblem[];
}

/** Parses a prompt body and checks every construct against what the renderer supports and the context provides; each problem is located (1-based line, column). */
export function checkTemplate(source: string): CheckedTemplate {
  let program: hbs.AST.Program;
  try {
    // The same parse (and whitespace control) that `Handlebars.compile` starts with.
    program = parseTemplate(source);
  } catch (error) {
    return { template: undefined, problems: [parseProblem(error, source)] };
  }
  const problems: TemplateProblem[] = [];
  const walker = new Walker(problems);
  walker.program(program, [{ type: CONTEXT_TYPE, params: new Map() }], 0);
  // Checked: from here on the tree is only rendered.
  return { template: forRendering(program), problems };
}

/**
 * Lets go of what only the checks needed: every node's source location (three objects per
 * node) and whitespace-control flags, which the checker has used and `renderTemplate`
 * (src/build/assemble/render.ts) never reads. A build keeps every bot's templates until it
 * assembles them; without this, most of that memory is locations, copied by each garbage
 * collection of the young generation while the bots load. Returns the same tree.
 */
function forRendering(program: hbs.AST.Program): hbs.AST.Program {
  dropProgram(program);
  return program;
}

/** What `forRendering` lets go of in a program, by the shapes the parser builds (any other node: every such key it holds). */
function dropProgram(program: hbs.AST.Program): void {
  const unset = program as unknown as Record<string, undefined>;
  unset['loc'] = unset['strip'] = undefined;
  for (const node of program.body) dropStatement(node);
}

function dropStatement(node: hbs.AST.Node): void {
  const unset = node as unknown as Record<string, undefined>;
  switch (node.type) {
    case 'ContentStatement':
      unset['loc'] = undefined;
      return;
    case 'MustacheStatement': {
      const mustache = node as hbs.AST.MustacheStatement;
      unset['loc'] = unset['strip'] = undefined;
      dropExpression(mustache.path);
      mustache.params.forEach(dropExpression);
      if (mustache.hash) dropAny(mustache.hash);
      return;
    }
    case 'BlockStatement': {
      const block = node as hbs.AST.BlockStatement;
      unset['loc'] = unset['openStrip'] = unset['inverseStrip'] = unset['closeStrip'] = undefined;
      dropExpression(block.path);
      block.params.forEach(dropExpression);
      if (block.hash) dropAny(block.hash);
      dropProgram(block.program);
      if (block.inverse) dropProgram(block.inverse);
      return;
    }
    default:
      dropAny(node);
  }
}

function dropExpression(node: hbs.AST.Node): void {
  if (node.type === 'PathExpression') (node as unknown as Record<string, undefined>)['loc'] = undefined;
  else dropAny(node);
}

/** Any other node (literals, hashes, partials, comments and decorators, which fail the checks anyway): every location and strip key, wherever it is. */
function dropAny(node: unknown): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) dropAny(item);
    return;
  }
  const record = node as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key === 'loc' || key === 'strip' || key === 'openStrip' || key === 'inverseStrip' || key === 'closeStrip') record[key] = undefined;
    else dropAny(record[key]);
  }
}

class Walker {
  constructor(private readonly problems: TemplateProblem[]) {}

  program(program: hbs.AST.Program, frames: Frame[], eachDepth: number): void {
    for (const statement of program.body) this.statement(statement, frames, eachDepth);
  }

  private statement(node: Node, frames: Frame[], eachDepth: number): void {
    switch (node.type) {
      case 'ContentStatement':
      case 'CommentStatement':
        return;
      case 'MustacheStatement':
        return this.mustache(node as hbs.AST.MustacheStatement, frames, eachDepth);
      case 'BlockStatement':
        return this.block(node as hbs.AST.BlockStatement, frames, eachDepth);
      case 'PartialStatement':
      case 'PartialBlockStatement':
        return this.problem(node, 'partials are not allowed in prompt blocks', 'write the text inline, or move it to a skill or common block');
      case 'Decorator':
      case 'DecoratorBlock':
        return this.problem(node, 'decorators are not allowed in prompt blocks', 'remove the `{{*decorator}}`');
      default:
        return this.problem(node, `unsupported template construct \`${node.type}\``, 'use plain text, `{{name}}` and `{{#if}}`/`{{#unless}}`/`{{#each}}`');
    }
  }

  private mustache(node: hbs.AST.MustacheStatement, frames: Frame[], eachDepth: number): void {
    if (node.path.type !== 'PathExpression') {
      return this.problem(node, 'a literal cannot be rendered on its own', `write the text directly; ${ESCAPE_HINT}`);
    }
    const path = node.path as hbs.AST.PathExpression;
    if (node.params.length > 0 || node.hash?.pairs.length) {
      const name = path.original;
      return this.problem(
        node,
        BLOCK_HELPERS.has(name) ? `\`${name}\` is a block helper` : `unknown helper \`${name}\``,
        BLOCK_HELPERS.has(name) ? `write \`{{#${name} ...}}...{{/${name}}}\`` : 'only `if`, `unless` and `each` blocks are available',
      );
    }
    const type = this.resolve(path, frames, eachDepth);
    if (type && type.kind !== 'string') {
      this.problem(
        node,
        `\`${path.original}\` is ${type.kind === 'array' ? 'a list' : 'an object'} and cannot be rendered as text`,
        type.kind === 'array' ? `iterate it with \`{{#each ${path.original}}}...{{/each}}\`` : `render one of its fields, such as \`${path.original}.${Object.keys(type.fields)[0]}\``,
      );
    }
  }

  private block(node: hbs.AST.BlockStatement, frames: Frame[], eachDepth: number): void {
    const name = node.path.original;
    if (!BLOCK_HELPERS.has(name) || node.path.parts.length !== 1 || node.path.data) {
      this.problem(node, `unknown block helper \`${name}\``, 'only `if`, `unless` and `each` blocks are available');
      return;
    }
    if (node.params.length !== 1 || node.hash?.pairs.length) {
      this.problem(node, `\`{{#${name}}}\` takes exactly one name`, `write \`{{#${name} tools}}\``);
      return;
    }
    const param = node.params[0]!;
    if (param.type !== 'PathExpression') {
      this.problem(param, `\`{{#${name}}}\` needs a name from the context, not a ${param.type.replace(/Literal$/, '').toLowerCase()}`, 'name a context value such as `tools` or `skills`');
      return;
    }
    const type = this.resolve(param as hbs.AST.PathExpression, frames, eachDepth);
    if (name === 'each') {
      if (type && type.kind !== 'array') {
        this.problem(param, `\`${(param as hbs.AST.PathExpression).original}\` is not a list`, 'iterate `tools`, `skills` or a tool\'s `methods`');
      }
      const element = type?.kind === 'array' ? type.of : undefined;
      if (element) {
        const params = new Map<string, ValueType>();
        const [itemName, indexName] = node.program.blockParams ?? [];
        if (itemName) params.set(itemName, element);
        if (indexName) params.set(indexName, STRING);
        this.program(node.program, [...frames, { type: element, params }], eachDepth + 1);
      }
    } else {
      this.program(node.program, frames, eachDepth);
    }
    if (node.inverse) this.program(node.inverse, frames, eachDepth);
  }

  private resolve(path: hbs.AST.PathExpression, frames: Frame[], eachDepth: number): ValueType | undefined {
    let parts = path.parts;
    let type: ValueType | undefined;
    if (path.data) {
      const [head, ...rest] = parts;
      if (head === 'root') {
        type = CONTEXT_TYPE;
        parts = rest;
      } else if (head !== undefined && EACH_DATA.has(head) && rest.length === 0) {
        if (eachDepth > 0) return STRING;
        this.problem(path, `\`@${head}\` is only defined inside \`{{#each}}\``, 'move it inside an `{{#each}}` block');
        return undefined;
      } else {
        this.problem(path, `unknown data variable \`@${parts.join('.')}\``, 'available: `@index`, `@first`, `@last` inside `{{#each}}`, and `@root`');
        return undefined;
      }
    } else {
      const frameIndex = frames.length - 1 - path.depth;
      const frame = frames[frameIndex];
      if (!frame) {
        this.problem(path, `\`${path.original}\` climbs above the top-level context`, 'remove a `../`');
        return undefined;
      }
      const head = parts[0];
      const param = path.depth === 0 && head !== undefined && !/^(this|\.)/.test(path.original) ? findParam(frames, head) : undefined;
      if (param) {
        type = param;
        parts = parts.slice(1);
      } else {
        type = frame.type;
      }
    }
    for (const part of parts) {
      const next: ValueType | undefined = type.kind === 'object' && Object.hasOwn(type.fields, part) ? type.fields[part] : undefined;
      if (!next) {
        const known = type.kind === 'object' ? Object.keys(type.fields) : [];
        this.problem(
          path,
          `unknown name \`${path.original}\``,
          `${known.length > 0 ? `available here: ${known.map((k) => `\`${k}\``).join(', ')}` : 'this value has no fields'}${path.parts.length === 1 && !path.data ? `; if the braces are meant as text, ${ESCAPE_HINT}` : ''}`,
        );
        return undefined;
      }
      type = next;
    }
    return type;
  }

  private problem(node: Node, message: string, hint: string): void {
    this.problems.push({ message, hint, line: node.loc?.start.line ?? 1, column: (node.loc?.start.column ?? 0) + 1 });
  }
}

function findParam(frames: Frame[], name: string): ValueType | undefined {
  for (let i = frames.length - 1; i >= 0; i--) {
    const found = frames[i]!.params.get(name);
    if (found) return found;
  }
  return undefined;
}

/** How to write braces that are text, not a template expression. */
const ESCAPE_HINT = 'a literal `{{` is written `\\{{` (for example `\\{{name}}` renders as `{{name}}`)';

function parseProblem(error: unknown, source: string): TemplateProblem {
  const blocks = blockStructureProblem(source);
  if (blocks) return blocks;
  const message = error instanceof Error ? error.message : String(error);
  const line = /on line (\d+)/.exec(message)?.[1];
  const lines = message.split('\n');
  const expecting = lines.find((l) => l.startsWith('Expecting'));
  return {
    message: `the template does not parse${expecting ? `: ${expecting.replace(/'/g, '`')}` : `: ${lines[0]}`}`,
    line: line ? Number(line) : 1,
    column: 1,
    hint: `check that braces are balanced; ${ESCAPE_HINT}`,
  };
}

/**
 * Block tags that do not pair up, found by a scan of the source (Handlebars reports them at
 * the end of the file, or at the closing tag): the message points at the opening tag that is
 * never closed, or at a closing tag that closes nothing.
 */
function blockStructureProblem(source: string): TemplateProblem | undefined {
  const stack: { name: string; text: string; offset: number }[] = [];
  const tag = /\\\{\{|\{\{!--[\s\S]*?--\}\}|\{\{![\s\S]*?\}\}|\{\{~?\s*([#^/])\s*([^\s}~]+)[^}]*\}\}/g;
  const at = (offset: number) => {
    const before = source.slice(0, offset);
    const line = before.split('\n').length;
    return { line, column: offset - before.lastIndexOf('\n') };
  };
  for (let match = tag.exec(source); match; match = tag.exec(source)) {
    const [text, kind, name] = match;
    if (kind === undefined || name === undefined) continue; // an escape or a comment
    if (kind !== '/') {
      stack.push({ name, text, offset: match.index });
      continue;
    }
    const open = stack.pop();
    if (!open) {
      return { message: `\`${text}\` closes a block that was never opened`, ...at(match.index), hint: `remove it, or open the block with \`{{#${name} ...}}\` before it` };
    }
    if (open.name !== name) {
      const close = at(match.index);
      return {
        message: `\`${open.text}\` is not closed: \`${text}\` closes a different block`,
        ...at(open.offset),
        related: close,
        hint: `close it with \`{{/${open.name}}}\` before \`${text}\``,
      };
    }
  }
  const open = stack.pop();
  if (open) return { message: `\`${open.text}\` is never closed`, ...at(open.offset), hint: `add \`{{/${open.name}}}\` where the block ends` };
  return undefined;
}
