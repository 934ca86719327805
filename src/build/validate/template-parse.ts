import { createRequire } from 'node:module';

/**
 * `Handlebars.parse`, faster for the templates prompts are made of. Handlebars' own parser (a
 * generated LR parser whose lexer copies the rest of the input for every token) took about a
 * third of the main thread of a cold build of a large workspace (docs/performance.md, "Cold
 * build"). The common subset (plain text, `{{path}}`, `{{#helper path}}`, `{{else}}`,
 * `{{/helper}}`) is tokenized here, and the tokens are handed to Handlebars' own node builders
 * (the functions its grammar calls: `preparePath`, `prepareMustache`, `prepareBlock`, ...) and
 * to its own whitespace control, so the tree, source locations included, is the one
 * `Handlebars.parse` builds. Anything else (comments, partials, `~`, escapes, literals, hashes,
 * block parameters, a mismatched or missing close, a carriage return, ...) goes to
 * `Handlebars.parse` itself, which also gives every parse error its message and place.
 * test/perf-template-parse.test.ts compares the two trees on generated templates.
 */

const require = createRequire(import.meta.url);

/** Handlebars' node builders (compiler/helpers.js), called as its grammar calls them. */
interface Builders {
  preparePath(this: Yy, data: boolean, parts: { part: string; original: string; separator?: string }[], loc: JisonLoc): hbs.AST.PathExpression;
  prepareMustache(this: Yy, path: hbs.AST.PathExpression, params: hbs.AST.Expression[], hash: undefined, open: string, strip: hbs.AST.StripFlags, loc: JisonLoc): hbs.AST.MustacheStatement;
  prepareBlock(this: Yy, open: OpenBlock, program: hbs.AST.Program, inverse: { strip: hbs.AST.StripFlags; program: hbs.AST.Program } | undefined, close: { path: hbs.AST.PathExpression; strip: hbs.AST.StripFlags }, inverted: boolean, loc: JisonLoc): hbs.AST.BlockStatement;
  prepareProgram(this: Yy, statements: hbs.AST.Statement[], loc?: JisonLoc): hbs.AST.Program;
  stripFlags(open: string, close: string): hbs.AST.StripFlags;
  SourceLocation: new (source: string | undefined, loc: JisonLoc) => hbs.AST.SourceLocation;
}
type Yy = Builders & { locInfo(loc: JisonLoc): hbs.AST.SourceLocation };
interface OpenBlock {
  open: string;
  path: hbs.AST.PathExpression;
  params: hbs.AST.Expression[];
  hash: undefined;
  blockParams: undefined;
  strip: hbs.AST.StripFlags;
}
/** A location as Handlebars' generated lexer records it: lines from 1, columns from 0. */
interface JisonLoc {
  first_line: number;
  last_line: number;
  first_column: number;
  last_column: number;
}

const builders = require('handlebars/dist/cjs/handlebars/compiler/helpers.js') as Builders;
// As `Handlebars.parse` without options sets it: locations without a source name.
const yy: Yy = { ...builders, locInfo: (loc: JisonLoc) => new builders.SourceLocation(undefined, loc) };

/** The parse tree of a template, whitespace control applied, exactly as `Handlebars.parse(source)` gives it. */
export function parseTemplate(source: string): hbs.AST.Program {
  // Handlebars as a whole (runtime and compiler) loads only when some template needs it.
  return parseSubset(source) ?? (require('handlebars') as typeof import('handlebars')).parse(source);
}

/** The tree `Handlebars.parse` gives, when the source stays within the subset; else undefined. */
export function parseSubset(source: string): hbs.AST.Program | undefined {
  const parser = new FastParser(source);
  let raw: hbs.AST.Program | undefined;
  try {
    raw = parser.parse();
  } catch {
    return undefined; // a construct the builders refuse (`x.this`): Handlebars reports it
  }
  // Whitespace control changes nothing around plain mustaches (their strip flags are off, and
  // they are never standalone): only a template with a block needs its pass.
  if (raw && parser.hasBlocks) controlWhitespace(raw, true);
  return raw;
}

/**
 * Handlebars' whitespace control (compiler/whitespace-control.js) as it acts on the subset: a
 * block tag alone on its line (`{{#each tools}}`, `{{else}}`, `{{/each}}`) takes that line's
 * indentation and line break with it. Nothing in the subset has a `~` or is a partial or a
 * comment, so only the standalone rules apply. The same steps in the same order, on the same
 * nodes (`value` trimmed, `leftStripped`/`rightStripped` set as Handlebars sets them), without
 * its visitor walking every node of the tree. `isRoot`: the template's top-level program.
 */
function controlWhitespace(program: hbs.AST.Program, isRoot: boolean): void {
  const body = program.body;
  for (let i = 0; i < body.length; i++) {
    if (body[i]!.type !== 'BlockStatement') continue;
    const block = body[i] as hbs.AST.BlockStatement;
    // The block's own pass: its programs first, then a standalone `{{else}}`.
    controlWhitespace(block.program, false);
    const inverse = block.inverse;
    if (inverse) controlWhitespace(inverse, false);
    // The program the closing tag ends.
    const last = (inverse ?? block.program).body;
    const openStandalone = isNextWhitespace(block.program.body, -1, false);
    const closeStandalone = isPrevWhitespace(last, last.length, false);
    if (inverse && isPrevWhitespace(block.program.body, block.program.body.length, false) && isNextWhitespace(inverse.body, -1, false)) {
      omitLeft(block.program.body, block.program.body.length);
      omitRight(inverse.body, -1);
    }
    // Then the enclosing program's: is the tag alone on its line?
    const prev = isPrevWhitespace(body, i, isRoot);
    const next = isNextWhitespace(body, i, isRoot);
    if (openStandalone && prev) {
      omitRight(block.program.body, -1);
      omitLeft(body, i);
    }
    if (closeStandalone && next) {
      omitRight(body, i);
      omitLeft(last, last.length);
    }
  }
}

/** A text node as the parser builds it (Handlebars' typings call `original` strip flags), with the marks whitespace control leaves. */
type Content = Omit<hbs.AST.ContentStatement, 'original'> & { original: string; leftStripped?: boolean; rightStripped?: boolean };

/** The node before `i` is text whose trailing whitespace holds a line break (at the top level's start: or nothing, or only whitespace). */
function isPrevWhitespace(body: hbs.AST.Statement[], i: number, isRoot: boolean): boolean {
  const prev = body[i - 1];
  if (!prev) return isRoot;
  if (prev.type !== 'ContentStatement') return false;
  const text = (prev as unknown as Content).original;
  let k = text.length - 1;
  while (k >= 0 && isSpace(text.charCodeAt(k))) {
    if (text.charCodeAt(k) === 0x0a) return true;
    k--;
  }
  // The template's very first text counts when it is whitespace only.
  return k < 0 && isRoot && i === 1;
}

/** The node after `i` is text whose leading whitespace holds a line break (at the top level's end: or nothing, or only whitespace). */
function isNextWhitespace(body: hbs.AST.Statement[], i: number, isRoot: boolean): boolean {
  const next = body[i + 1];
  if (!next) return isRoot;
  if (next.type !== 'ContentStatement') return false;
  const text = (next as unknown as Content).original;
  let k = 0;
  while (k < text.length && isSpace(text.charCodeAt(k))) {
    if (text.charCodeAt(k) === 0x0a) return true;
    k++;
  }
  // The template's very last text counts when it is whitespace only.
  return k === text.length && isRoot && i + 2 === body.length;
}

/** Takes the text after `i` (`-1`: the first node) up to and including its first line break, if it starts with only spaces and tabs before it. */
function omitRight(body: hbs.AST.Statement[], i: number): void {
  const current = body[i + 1] as unknown as Content | undefined;
  if (!current || current.type !== 'ContentStatement' || current.rightStripped) return;
  const text = current.value;
  let k = 0;
  while (k < text.length && (text.charCodeAt(k) === 0x20 || text.charCodeAt(k) === 0x09)) k++;
  if (text.charCodeAt(k) === 0x0a) k++;
  if (k > 0) current.value = text.slice(k);
  current.rightStripped = k > 0;
}

/** Takes the spaces and tabs at the end of the text before `i` (the body's length: the last node); true when there were some. */
function omitLeft(body: hbs.AST.Statement[], i: number): boolean {
  const current = body[i - 1] as unknown as Content | undefined;
  if (!current || current.type !== 'ContentStatement' || current.leftStripped) return false;
  const text = current.value;
  let k = text.length;
  while (k > 0 && (text.charCodeAt(k - 1) === 0x20 || text.charCodeAt(k - 1) === 0x09)) k--;
  if (k < text.length) current.value = text.slice(0, k);
  current.leftStripped = k < text.length;
  return current.leftStripped;
}

/** `\s` of ECMAScript regular expressions (the whitespace Handlebars' rules test for). */
function isSpace(c: number): boolean {
  return (
    c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/** A path segment the subset accepts: a name, never one the lexer reads as a literal or keyword. */
const SEGMENT = '[A-Za-z_][A-Za-z0-9_]*';
const PATH = `@?${SEGMENT}(?:\\.${SEGMENT})*`;
/**
 * One mustache of the subset, at the current offset: `{{#name path}}`, `{{/name}}`, `{{else}}`
 * or `{{path}}`, not followed by `}` (the lexer reads `}}}` and `}}}}` as other closers).
 */
const MUSTACHE = new RegExp(`\\{\\{(?:#(${SEGMENT})( +)(${PATH})|/(${SEGMENT})|(else)|(${PATH}))\\}\\}(?!\\})`, 'y');
/** Names the lexer reads as something other than a path segment. */
const RESERVED = new Set(['true', 'false', 'null', 'undefined', 'as', 'else']);
/**
 * Characters after which the subset gives up: NUL (the lexer's content rules stop there), a
 * carriage return and the Unicode line separators (the lexer counts lines and columns over
 * them in its own way).
 */
const AWKWARD = /[\0\r\u2028\u2029]/;

type Token =
  | { kind: 'content'; node: hbs.AST.ContentStatement }
  | { kind: 'mustache'; node: hbs.AST.MustacheStatement }
  | { kind: 'open'; name: string; nameLoc: JisonLoc; param: hbs.AST.PathExpression; loc: JisonLoc }
  | { kind: 'close'; name: string; nameLoc: JisonLoc; loc: JisonLoc }
  | { kind: 'else' };

class FastParser {
  private tokens: Token[] = [];
  private at = 0;
  /** Whether the source has a block (`{{#name path}}`), once parsed. */
  hasBlocks = false;

  constructor(private readonly source: string) {}

  /** The raw tree (before whitespace control), or undefined when the source leaves the subset. */
  parse(): hbs.AST.Program | undefined {
    if (AWKWARD.test(this.source)) return undefined;
    const tokens = lex(this.source);
    if (!tokens) return undefined;
    this.tokens = tokens;
    this.hasBlocks = tokens.some((token) => token.kind === 'open');
    const body = this.statements();
    if (!body || this.at !== tokens.length) return undefined;
    return yy.prepareProgram(body);
  }

  /** Statements up to (not including) the next `{{else}}`, `{{/...}}` or the end. */
  private statements(): hbs.AST.Statement[] | undefined {
    const body: hbs.AST.Statement[] = [];
    while (this.at < this.tokens.length) {
      const token = this.tokens[this.at]!;
      if (token.kind === 'else' || token.kind === 'close') return body;
      this.at++;
      if (token.kind !== 'open') {
        body.push(token.node);
        continue;
      }
      const program = this.statements();
      if (!program) return undefined;
      let after = this.tokens[this.at++];
      let inverse: { strip: hbs.AST.StripFlags; program: hbs.AST.Program } | undefined;
      if (after?.kind === 'else') {
        const inverseBody = this.statements();
        if (!inverseBody) return undefined;
        inverse = { strip: yy.stripFlags('{{else}}', '{{else}}'), program: yy.prepareProgram(inverseBody) };
        after = this.tokens[this.at++];
      }
      // A block closed by another name: Handlebars reports it.
      if (after?.kind !== 'close' || after.name !== token.name) return undefined;
      const open: OpenBlock = {
        open: '{{#',
        path: yy.preparePath(false, [{ part: token.name, original: token.name }], token.nameLoc),
        params: [token.param],
        hash: undefined,
        blockParams: undefined,
        strip: yy.stripFlags('{{#', '}}'),
      };
      const close = { path: yy.preparePath(false, [{ part: after.name, original: after.name }], after.nameLoc), strip: yy.stripFlags('{{/', '}}') };
      body.push(yy.prepareBlock(open, yy.prepareProgram(program), inverse, close, false, span(token.loc, after.loc)));
    }
    return body;
  }
}

/**
 * The source as tokens of the subset, with the locations Handlebars' lexer gives them, or
 * undefined when some text leaves the subset.
 */
function lex(source: string): Token[] | undefined {
  return new Lexer(source).tokens();
}

/**
 * The lexer's position (offset, and line and column as Handlebars counts them) in fields, with
 * a small method per step: kept small, each is optimized early in a build that parses
 * thousands of templates once each (a single large function was still being compiled by V8
 * after the first thousand).
 */
class Lexer {
  private offset = 0;
  private line = 1;
  private column = 0;

  constructor(private readonly source: string) {}

  tokens(): Token[] | undefined {
    const source = this.source;
    const tokens: Token[] = [];
    while (this.offset < source.length) {
      const open = source.indexOf('{{', this.offset);
      const end = open < 0 ? source.length : open;
      if (end > this.offset) {
        const text = source.slice(this.offset, end);
        // `\{{` escapes the mustache: Handlebars handles escapes.
        if (open >= 0 && text.endsWith('\\')) return undefined;
        tokens.push(this.content(text));
      }
      if (open < 0) break;
      const token = this.tag(open);
      if (!token) return undefined;
      tokens.push(token);
    }
    return tokens;
  }

  /** The location of the next `length` characters (none of them a line break), and moves past them. */
  private advance(length: number): JisonLoc {
    const first_line = this.line;
    const first_column = this.column;
    this.column += length;
    this.offset += length;
    return { first_line, first_column, last_line: first_line, last_column: this.column };
  }

  private content(text: string): Token {
    const first_line = this.line;
    const first_column = this.column;
    const last = text.lastIndexOf('\n');
    if (last < 0) this.column += text.length;
    else {
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.line++;
      this.column = text.length - last - 1;
    }
    this.offset += text.length;
    const loc = { first_line, first_column, last_line: this.line, last_column: this.column };
    return { kind: 'content', node: { type: 'ContentStatement', original: text, value: text, loc: yy.locInfo(loc) } as unknown as hbs.AST.ContentStatement };
  }

  /** The tag at `open` (`{{`), or undefined when it leaves the subset. */
  private tag(open: number): Token | undefined {
    MUSTACHE.lastIndex = open;
    const match = MUSTACHE.exec(this.source);
    if (!match) return undefined;
    const [all, blockName, gap, param, closeName, isElse, path] = match;
    const start = { line: this.line, column: this.column };
    if (isElse !== undefined) {
      this.advance(all.length);
      return { kind: 'else' };
    }
    if (blockName !== undefined) {
      if (RESERVED.has(blockName)) return undefined;
      this.advance(3); // {{#
      const nameLoc = this.advance(blockName.length);
      this.advance(gap!.length);
      const paramPath = this.path(param!);
      if (!paramPath) return undefined;
      this.advance(2); // }}
      return { kind: 'open', name: blockName, nameLoc, param: paramPath, loc: this.since(start) };
    }
    if (closeName !== undefined) {
      if (RESERVED.has(closeName)) return undefined;
      this.advance(3); // {{/
      const nameLoc = this.advance(closeName.length);
      this.advance(2); // }}
      return { kind: 'close', name: closeName, nameLoc, loc: this.since(start) };
    }
    // `{{elsewhere}}` is read by the lexer as the start of an `{{else ...}}` chain.
    if (path!.startsWith('else')) return undefined;
    this.advance(2); // {{
    const expression = this.path(path!);
    if (!expression) return undefined;
    this.advance(2); // }}
    return { kind: 'mustache', node: yy.prepareMustache(expression, [], undefined, '{{', yy.stripFlags('{{', '}}'), this.since(start)) };
  }

  /** From `start` to the current position. */
  private since(start: { line: number; column: number }): JisonLoc {
    return { first_line: start.line, first_column: start.column, last_line: this.line, last_column: this.column };
  }

  /** A path (`@last`, `bot.id`) as the grammar builds it, advancing over its text; undefined for a reserved name. */
  private path(text: string): hbs.AST.PathExpression | undefined {
    const data = text.startsWith('@');
    const segments = (data ? text.slice(1) : text).split('.');
    for (const segment of segments) if (RESERVED.has(segment)) return undefined;
    const first = data ? this.advance(1) : undefined;
    const parts: { part: string; original: string; separator?: string }[] = [];
    let start: JisonLoc | undefined = first;
    let end: JisonLoc | undefined;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      if (i > 0) this.advance(1); // the separator
      end = this.advance(segment.length);
      start ??= end;
      parts.push(i === 0 ? { part: segment, original: segment } : { part: segment, original: segment, separator: '.' });
    }
    return yy.preparePath(data, parts, span(start!, end!));
  }
}

/** The location from the start of `a` to the end of `b`, as the grammar merges its symbols'. */
function span(a: JisonLoc, b: JisonLoc): JisonLoc {
  return { first_line: a.first_line, first_column: a.first_column, last_line: b.last_line, last_column: b.last_column };
}
