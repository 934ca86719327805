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
const WhitespaceControl = require('handlebars/dist/cjs/handlebars/compiler/whitespace-control.js') as new (options?: object) => { accept(program: hbs.AST.Program): hbs.AST.Program };
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
  return raw && (parser.hasBlocks ? new WhitespaceControl().accept(raw) : raw);
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
  const tokens: Token[] = [];
  let offset = 0;
  let line = 1;
  let column = 0;
  /** The location of the next `length` characters (none of them a line break unless `text` is given), and moves past them. */
  const advance = (length: number, text?: string): JisonLoc => {
    const first_line = line;
    const first_column = column;
    const breaks = text === undefined ? -1 : text.lastIndexOf('\n');
    if (breaks < 0) column += length;
    else {
      for (let i = text!.indexOf('\n'); i >= 0; i = text!.indexOf('\n', i + 1)) line++;
      column = length - breaks - 1;
    }
    offset += length;
    return { first_line, first_column, last_line: line, last_column: column };
  };
  while (offset < source.length) {
    const open = source.indexOf('{{', offset);
    const end = open < 0 ? source.length : open;
    if (end > offset) {
      const text = source.slice(offset, end);
      // `\{{` escapes the mustache: Handlebars handles escapes.
      if (open >= 0 && text.endsWith('\\')) return undefined;
      const loc = advance(text.length, text);
      tokens.push({ kind: 'content', node: { type: 'ContentStatement', original: text, value: text, loc: yy.locInfo(loc) } as unknown as hbs.AST.ContentStatement });
    }
    if (open < 0) break;
    MUSTACHE.lastIndex = open;
    const match = MUSTACHE.exec(source);
    if (!match) return undefined;
    const [all, blockName, gap, param, closeName, isElse, path] = match;
    const start = { line, column };
    if (isElse !== undefined) {
      advance(all.length);
      tokens.push({ kind: 'else' });
      continue;
    }
    if (blockName !== undefined) {
      if (RESERVED.has(blockName)) return undefined;
      advance(3); // {{#
      const nameLoc = advance(blockName.length);
      advance(gap!.length);
      const paramPath = pathExpression(param!, advance);
      if (!paramPath) return undefined;
      advance(2); // }}
      tokens.push({ kind: 'open', name: blockName, nameLoc, param: paramPath, loc: { first_line: start.line, first_column: start.column, last_line: line, last_column: column } });
      continue;
    }
    if (closeName !== undefined) {
      if (RESERVED.has(closeName)) return undefined;
      advance(3); // {{/
      const nameLoc = advance(closeName.length);
      advance(2); // }}
      tokens.push({ kind: 'close', name: closeName, nameLoc, loc: { first_line: start.line, first_column: start.column, last_line: line, last_column: column } });
      continue;
    }
    // `{{elsewhere}}` is read by the lexer as the start of an `{{else ...}}` chain.
    if (path!.startsWith('else')) return undefined;
    advance(2); // {{
    const expression = pathExpression(path!, advance);
    if (!expression) return undefined;
    advance(2); // }}
    const loc = { first_line: start.line, first_column: start.column, last_line: line, last_column: column };
    tokens.push({ kind: 'mustache', node: yy.prepareMustache(expression, [], undefined, '{{', yy.stripFlags('{{', '}}'), loc) });
  }
  return tokens;
}

/** A path (`@last`, `bot.id`) as the grammar builds it, advancing over its text; undefined for a reserved name. */
function pathExpression(text: string, advance: (length: number) => JisonLoc): hbs.AST.PathExpression | undefined {
  const data = text.startsWith('@');
  const segments = (data ? text.slice(1) : text).split('.');
  if (segments.some((segment) => RESERVED.has(segment))) return undefined;
  const first = data ? advance(1) : undefined;
  const parts: { part: string; original: string; separator?: string }[] = [];
  let start: JisonLoc | undefined = first;
  let end: JisonLoc | undefined;
  segments.forEach((segment, i) => {
    if (i > 0) advance(1); // the separator
    end = advance(segment.length);
    start ??= end;
    parts.push(i === 0 ? { part: segment, original: segment } : { part: segment, original: segment, separator: '.' });
  });
  return yy.preparePath(data, parts, span(start!, end!));
}

/** The location from the start of `a` to the end of `b`, as the grammar merges its symbols'. */
function span(a: JisonLoc, b: JisonLoc): JisonLoc {
  return { first_line: a.first_line, first_column: a.first_column, last_line: b.last_line, last_column: b.last_column };
}
