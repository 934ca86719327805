import { findNodeAtLocation, parseTree, printParseErrorCode, visit, type Node, type ParseError } from 'jsonc-parser';
import type { Position } from '../diagnostics/diagnostic.ts';
import { checkJsonDepth } from './depth.ts';
import { LineIndex } from './text.ts';

export type JsonPath = readonly (string | number)[];

export interface JsonDocument {
  value: unknown;
  /** Where the value at `path` starts; with `key`, where that property's key starts. */
  locate(path: JsonPath, key?: string): Position;
  /** The source text of the value at `path` as written, when it exists. */
  raw(path: JsonPath): string | undefined;
}

export type JsonParse =
  | { ok: true; document: JsonDocument }
  | { ok: false; message: string; at: Position };

/**
 * Parses strict JSON (no comments, no trailing commas, no duplicate keys) and keeps
 * the text so a zod or ajv path can be mapped back to a line and column.
 */
export function parseJson(text: string): JsonParse {
  const tooDeep = checkJsonDepth(text); if (tooDeep) return tooDeep;
  const lines = new LineIndex(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return syntaxError(text, lines);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    return { ok: false, message: `duplicate key \`${duplicate.key}\``, at: lines.positionAt(duplicate.offset) };
  }
  let tree: Node | undefined;
  const document: JsonDocument = {
    value,
    locate(path, key) {
      tree ??= parseTree(text) ?? undefined;
      if (!tree) return { line: 1, column: 1 };
      const node = nearestNode(tree, path);
      if (key !== undefined && node.type === 'object') {
        const property = node.children?.find((p) => p.children?.[0]?.value === key);
        if (property) return lines.positionAt(property.offset);
      }
      // For a property value, point at its key: that is where a reader looks.
      const target = node.parent?.type === 'property' ? node.parent : node;
      return lines.positionAt(target.offset);
    },
    raw(path) {
      tree ??= parseTree(text) ?? undefined;
      const node = tree ? findNodeAtLocation(tree, path as (string | number)[]) : undefined;
      return node ? text.slice(node.offset, node.offset + node.length) : undefined;
    },
  };
  return { ok: true, document };
}

function nearestNode(tree: Node, path: JsonPath): Node {
  for (let length = path.length; length >= 0; length--) {
    const node = findNodeAtLocation(tree, path.slice(0, length) as (string | number)[]);
    if (node) return node;
  }
  return tree;
}

function syntaxError(text: string, lines: LineIndex): JsonParse {
  const errors: ParseError[] = [];
  parseTree(text, errors, { allowTrailingComma: false, disallowComments: true, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return { ok: false, message: 'the file is not valid JSON', at: { line: 1, column: 1 } };
  const comma = trailingComma(text, first);
  if (comma !== undefined) return { ok: false, message: 'trailing comma: JSON allows no comma after the last entry', at: lines.positionAt(comma) };
  return { ok: false, message: describeParseError(printParseErrorCode(first.error)), at: lines.positionAt(first.offset) };
}

/**
 * The offset of a trailing comma, when that is what the parser stumbled on: a comma directly
 * before the closing `]` or `}` it failed at, and without which that closer parses.
 */
function trailingComma(text: string, error: ParseError): number | undefined {
  const offset = error.offset;
  if (text[offset] !== ']' && text[offset] !== '}') return undefined;
  let i = offset - 1;
  while (i >= 0 && /\s/.test(text[i]!)) i--;
  if (text[i] !== ',') return undefined;
  const errors: ParseError[] = [];
  parseTree(text.slice(0, i) + text.slice(i + 1), errors, { allowTrailingComma: false, disallowComments: true, allowEmptyContent: false });
  return errors.some((e) => e.offset === offset - 1) ? undefined : i;
}

function describeParseError(code: string): string {
  const words: Record<string, string> = {
    InvalidSymbol: 'unexpected character',
    InvalidNumberFormat: 'malformed number',
    PropertyNameExpected: 'expected a property name in double quotes',
    ValueExpected: 'expected a value',
    ColonExpected: 'expected `:` after the property name',
    CommaExpected: 'expected `,` between entries',
    CloseBraceExpected: 'expected `}`',
    CloseBracketExpected: 'expected `]`',
    EndOfFileExpected: 'unexpected content after the JSON value',
    InvalidCommentToken: 'comments are not allowed in JSON',
    UnexpectedEndOfComment: 'comments are not allowed in JSON',
    UnexpectedEndOfString: 'unterminated string',
    UnexpectedEndOfNumber: 'unterminated number',
    InvalidUnicode: 'invalid unicode escape',
    InvalidEscapeCharacter: 'invalid escape character',
    InvalidCharacter: 'invalid character in string',
  };
  return words[code] ?? code;
}

function findDuplicateKey(text: string): { key: string; offset: number } | undefined {
  const stack: Set<string>[] = [];
  let found: { key: string; offset: number } | undefined;
  visit(text, {
    onObjectBegin: () => void stack.push(new Set()),
    onObjectEnd: () => void stack.pop(),
    onObjectProperty: (key, offset) => {
      const keys = stack.at(-1);
      if (!keys || found) return;
      if (keys.has(key)) found = { key, offset };
      keys.add(key);
    },
  });
  return found;
}
