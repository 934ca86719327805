import type { Position } from '../diagnostics/diagnostic.ts';
import { LineIndex } from './text.ts';

/**
 * How deep a workspace's JSON files and YAML front matter may nest. Parsers, schema
 * validators and the code that walks their results all recurse; a file nested 10,000 levels
 * deep would overflow the stack in one of them. No manifest, registry, config or front
 * matter needs more than a handful of levels; 64 matches the bound on method schemas and
 * on runtime params.
 */
export const MAX_NESTING_DEPTH = 64;

export interface DepthProblem {
  ok: false;
  message: string;
  at: Position;
  hint: string;
}

/**
 * Scans JSON text for nesting deeper than `limit`, before any parser sees it: one pass over
 * the characters, counting `[` and `{` outside strings. Returns the problem at the first
 * bracket past the limit, or undefined. Malformed JSON is left to the parser (the scan only
 * counts), so it never reports a syntax error itself.
 */
export function checkJsonDepth(text: string, limit = MAX_NESTING_DEPTH): DepthProblem | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return tooDeep(new LineIndex(text).positionAt(i), limit, 'JSON');
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/**
 * Scans YAML text for nesting deeper than `limit` before it is parsed. The estimate never
 * falls short of the real depth: block levels (one per deeper indentation still open), plus
 * the `- ` and `? ` indicators that open a collection on the same line (`- - - x`), plus the
 * flow brackets `[` and `{` open at that point (outside quotes and comments, across lines).
 * `lines` maps offsets in `text` to file positions (front matter starts on line 2).
 */
export function checkYamlDepth(text: string, lines: LineIndex, limit = MAX_NESTING_DEPTH): DepthProblem | undefined {
  const indents: number[] = [];
  let flow = 0;
  let quote: '"' | "'" | undefined;
  let lineStart = 0;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    let i = lineStart;
    while (i < lineEnd && text[i] === ' ') i++;
    const blank = i >= lineEnd || text[i] === '#' || text[i] === '\r';
    if (!blank && flow === 0 && quote === undefined) {
      const indent = i - lineStart;
      while (indents.length > 0 && indents.at(-1)! > indent) indents.pop();
      if (indents.length === 0 || indents.at(-1)! < indent) indents.push(indent);
    }
    let block = indents.length;
    // Collection indicators at the start of the line's content each open a level.
    if (flow === 0 && quote === undefined) {
      while (i < lineEnd && (text[i] === '-' || text[i] === '?') && (i + 1 === lineEnd || text[i + 1] === ' ' || text[i + 1] === '\t')) {
        block++;
        i += 2;
        while (i < lineEnd && text[i] === ' ') i++;
        if (block + flow > limit) return tooDeep(lines.positionAt(i - 2), limit, 'YAML');
      }
    }
    for (; i < lineEnd; i++) {
      const c = text[i];
      if (quote !== undefined) {
        if (quote === '"' && c === '\\') i++;
        else if (c === quote) {
          if (quote === "'" && text[i + 1] === "'") i++;
          else quote = undefined;
        }
        continue;
      }
      if (c === '#' && (i === lineStart || text[i - 1] === ' ' || text[i - 1] === '\t')) break;
      if ((c === '"' || c === "'") && (i === lineStart || /[\s[{,:]/.test(text[i - 1]!))) quote = c;
      else if (c === '[' || c === '{') {
        if (block + ++flow > limit) return tooDeep(lines.positionAt(i), limit, 'YAML');
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
    if (block + flow > limit) return tooDeep(lines.positionAt(lineStart), limit, 'YAML');
    lineStart = lineEnd + 1;
  }
  return undefined;
}

function tooDeep(at: Position, limit: number, language: 'JSON' | 'YAML'): DepthProblem {
  return {
    ok: false,
    message: `the ${language} nests deeper than ${limit} levels`,
    at,
    hint: `flatten the structure; botc reads at most ${limit} levels of nesting`,
  };
}
