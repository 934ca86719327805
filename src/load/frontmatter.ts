import { isAlias, isCollection, isMap, isNode, isPair, isScalar, parseDocument, visit, type Document } from 'yaml';
import type { Position } from '../diagnostics/diagnostic.ts';
import type { JsonPath } from './json.ts';
import { checkYamlDepth } from './depth.ts';
import { parseSimpleYaml } from './simple-yaml.ts';
import { LineIndex, lineAt } from './text.ts';

export interface MarkdownFile {
  /** The front matter as plain data: an object, or {} when the file has none. */
  data: Record<string, unknown>;
  hasFrontMatter: boolean;
  body: string;
  /** Character offset of the body in the file text. */
  bodyOffset: number;
  /** 1-based line where the body starts. */
  bodyLine: number;
  locate(path: JsonPath, key?: string): Position;
  /** The source text of the scalar at `path` as written (`1.10` for a value YAML reads as 1.1), when there is one. */
  raw?: ((path: JsonPath) => string | undefined) | undefined;
}

export type MarkdownParse = { ok: true; file: MarkdownFile } | { ok: false; message: string; at: Position; hint: string };

/**
 * A front matter delimiter line: `---`, then nothing but spaces or tabs. The same rule holds for
 * the opening and the closing line, so trailing whitespace an editor leaves is never an error.
 */
const DELIMITER = /^---[ \t]*\r?$/;

/**
 * Splits a prompt file into YAML front matter and body (docs/security.md, "Building untrusted workspaces").
 * Front matter is YAML only: a language tag after `---`, an unterminated block, aliases,
 * anchors, merge keys, custom tags, duplicate keys and non-object values are refused
 * before anything is evaluated or expanded. Every refusal is located at the line that breaks
 * the rule: the opening line, the line inside that starts with `---`, or the blank lines
 * before a front matter that does not start on line 1.
 */
export function parseMarkdown(text: string): MarkdownParse {
  if (!text.startsWith('---')) return misplacedFrontMatter(text) ?? { ok: true, file: plainFile(text) };
  // Only the lines up to the closing delimiter: the body is never split into lines here.
  const lines = splitLines(text, (line, index) => index > 0 && line.text.startsWith('---'));
  const opening = lines[0]!;
  if (!DELIMITER.test(opening.text)) {
    return {
      ok: false,
      message: `front matter must be YAML, but the opening line is \`${opening.text.trim().slice(0, 40)}\``,
      at: { line: 1, column: 4 },
      hint: 'open the front matter with a line that is `---` (trailing spaces allowed); language tags such as `---js` are not allowed',
    };
  }
  const closeIndex = lines.findIndex((line, index) => index > 0 && line.text.startsWith('---'));
  if (closeIndex < 0) {
    return {
      ok: false,
      message: 'the front matter opened on line 1 is not closed',
      at: { line: 1, column: 1 },
      hint: 'end the front matter with a line that is `---`',
    };
  }
  const close = lines[closeIndex]!;
  if (!DELIMITER.test(close.text)) {
    return {
      ok: false,
      message: `a line inside the front matter starts with \`---\`: \`${close.text.trim().slice(0, 40)}\``,
      at: { line: closeIndex + 1, column: 4 },
      hint: 'the closing delimiter is a line that is `---` (trailing spaces allowed); quote a value that starts with `---`',
    };
  }
  const yamlText = text.slice(lines[1]!.start, close.start);
  const yaml = parseYaml(yamlText, 2);
  if (!yaml.ok) return yaml;
  const bodyOffset = close.end;
  return {
    ok: true,
    file: {
      data: yaml.data,
      hasFrontMatter: true,
      body: text.slice(bodyOffset),
      bodyOffset,
      bodyLine: closeIndex + 2,
      locate: yaml.locate,
      raw: yaml.raw,
    },
  };
}

interface Line {
  /** The line without its line break. */
  text: string;
  start: number;
  /** Offset after the line break. */
  end: number;
}

/** The lines of `text`, up to and including the first one `last` accepts (all of them when none does). */
function splitLines(text: string, last?: (line: Line, index: number) => boolean): Line[] {
  const lines: Line[] = [];
  let start = 0;
  while (start <= text.length) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline + 1;
    const line = { text: text.slice(start, newline < 0 ? text.length : newline).replace(/\r$/, ''), start, end };
    lines.push(line);
    if (newline < 0 || last?.(line, lines.length - 1)) break;
    start = end;
  }
  return lines;
}

/**
 * Blank lines before a front matter turn it into body text, and the file then fails for a
 * "missing" key that is right there. Reported where the front matter was meant to start.
 */
function misplacedFrontMatter(text: string): MarkdownParse | undefined {
  const leading = /^(?:[ \t]*\r?\n)+/.exec(text);
  if (!leading) return undefined;
  const rest = text.slice(leading[0].length);
  const first = /^[^\n]*/.exec(rest)![0];
  if (!DELIMITER.test(first)) return undefined;
  const lines = splitLines(rest);
  if (!lines.slice(1).some((line) => DELIMITER.test(line.text))) return undefined;
  const blank = lineAt(text, leading[0].length);
  return {
    ok: false,
    message: `the front matter must start on line 1, but ${blank === 2 ? 'a blank line comes' : `${blank - 1} blank lines come`} before \`---\``,
    at: { line: 1, column: 1 },
    hint: 'delete the blank lines before the opening `---`',
  };
}

function plainFile(text: string): MarkdownFile {
  return { data: {}, hasFrontMatter: false, body: text, bodyOffset: 0, bodyLine: 1, locate: () => ({ line: 1, column: 1 }) };
}

type YamlParse =
  | { ok: true; data: Record<string, unknown>; locate: (path: JsonPath, key?: string) => Position; raw: (path: JsonPath) => string | undefined }
  | { ok: false; message: string; at: Position; hint: string };

const YAML_OPTIONS = { uniqueKeys: true, merge: false, schema: 'core', strict: true, prettyErrors: false, version: '1.2' } as const;

function parseYaml(source: string, firstLine: number): YamlParse {
  const lines = new LineIndex(source, firstLine - 1);
  const tooDeep = checkYamlDepth(source, lines); if (tooDeep) return tooDeep;
  const simple = parseSimpleYaml(source);
  if (simple) return { ok: true, data: simple, ...locator(source, lines) };
  const doc = parseDocument(source, YAML_OPTIONS);
  const error = doc.errors[0];
  if (error) {
    const colon = unquotedColon(source, error.pos[0]);
    if (colon) {
      return {
        ok: false,
        message: `the value of \`${colon.key}\` contains \`: \`, which YAML reads as the start of another mapping`,
        at: lines.positionAt(colon.offset),
        hint: `quote the value: \`${colon.key}: ${JSON.stringify(colon.value)}\``,
      };
    }
    return {
      ok: false,
      message: `the front matter is not valid YAML: ${firstSentence(error.message)}`,
      at: lines.positionAt(error.pos[0]),
      hint: 'fix the YAML syntax; keys must be unique',
    };
  }
  const refused = findRefusedNode(doc);
  if (refused) return { ok: false, message: refused.message, at: lines.positionAt(refused.offset), hint: refused.hint };
  if (doc.contents !== null && !isMap(doc.contents)) {
    return {
      ok: false,
      message: 'the front matter must be a mapping of keys to values',
      at: lines.positionAt(isNode(doc.contents) ? (doc.contents.range?.[0] ?? 0) : 0),
      hint: 'write `key: value` lines between the `---` delimiters',
    };
  }
  const data = (doc.contents === null ? {} : doc.toJS({ maxAliasCount: 0 })) as Record<string, unknown>;
  return { ok: true, data, ...locator(source, lines) };
}

/**
 * `key: a value: with a colon` — an unquoted `: ` inside a plain value. YAML refuses it with a
 * message about nested mappings; the author meant one string. Found on the line of the error.
 */
function unquotedColon(source: string, errorOffset: number): { key: string; value: string; offset: number } | undefined {
  const lineStart = source.lastIndexOf('\n', errorOffset - 1) + 1;
  const lineEnd = source.indexOf('\n', lineStart);
  const line = source.slice(lineStart, lineEnd < 0 ? source.length : lineEnd).replace(/\r$/, '');
  const match = /^([A-Za-z_][\w-]*):[ \t]+([^"'\[{|>&*!#\s][^#]*?)[ \t]*$/.exec(line);
  if (!match) return undefined;
  const value = match[2]!;
  const inner = value.search(/:[ \t]/);
  if (inner < 0) return undefined;
  return { key: match[1]!, value, offset: lineStart + match[0].indexOf(value, match[1]!.length + 1) + inner };
}

/**
 * Positions of front matter keys and values, for diagnostics. The document is parsed again on
 * first use rather than kept: a build holds thousands of prompts, and keeping every parsed
 * document for the few that get a diagnostic costs memory and garbage-collection time.
 */
function locator(source: string, lines: LineIndex): { locate: (path: JsonPath, key?: string) => Position; raw: (path: JsonPath) => string | undefined } {
  let doc: Document | undefined;
  const parsed = () => (doc ??= parseDocument(source, YAML_OPTIONS));
  const locate = (path: JsonPath, key?: string): Position => {
    const document = parsed();
    const target = key === undefined ? path : [...path, key];
    // An item of a comma-separated string (`fexp_skills: a, Bad`): the column of that item.
    const item = commaItemOffset(document, source, target);
    if (item !== undefined) return lines.positionAt(item);
    for (let length = target.length; length >= 0; length--) {
      const offset = keyOrValueOffset(document, target.slice(0, length));
      if (offset !== undefined) return lines.positionAt(offset);
    }
    return lines.positionAt(0);
  };
  const raw = (path: JsonPath): string | undefined => {
    const node = parsed().getIn(path, true);
    return isScalar(node) && node.range ? source.slice(node.range[0], node.range[1]) : undefined;
  };
  return { locate, raw };
}

/** Where item `index` of a comma-separated scalar string starts, for a path that ends in an index. */
function commaItemOffset(doc: Document, source: string, path: JsonPath): number | undefined {
  const index = path.at(-1);
  if (typeof index !== 'number' || path.length < 2) return undefined;
  const node = doc.getIn(path.slice(0, -1), true);
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return undefined;
  const start = node.range[0];
  const written = source.slice(start, node.range[1]);
  const quoted = written.startsWith('"') || written.startsWith("'") ? 1 : 0;
  // Items as the list schema splits them: by commas, trimmed, empty ones dropped.
  let seen = 0;
  let at = quoted;
  for (const part of written.slice(quoted, written.length - quoted).split(',')) {
    const lead = part.length - part.trimStart().length;
    if (part.trim().length > 0) {
      if (seen === index) return start + at + lead;
      seen++;
    }
    at += part.length + 1;
  }
  return undefined;
}

/** The core-schema tags; any other explicit tag (`!custom`, `!!js/function`, `!!binary`) is refused. */
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'seq', 'map'].map((t) => `tag:yaml.org,2002:${t}`));

/**
 * Aliases, anchors, merge keys and explicit tags are refused before any expansion.
 * The first alias wins over other findings: in an alias bomb it is where expansion would start.
 */
function findRefusedNode(doc: Document): { message: string; offset: number; hint: string } | undefined {
  let found: { message: string; offset: number; hint: string } | undefined;
  visit(doc, (_key, node) => {
    if (isAlias(node)) {
      found = { message: `YAML aliases are not allowed (\`*${node.source}\`)`, offset: node.range?.[0] ?? 0, hint: 'write the value out instead of referring to an anchor' };
      return visit.BREAK;
    }
    if (found) return undefined;
    if (isPair(node) && isScalar(node.key) && node.key.value === '<<') {
      found = { message: 'YAML merge keys (`<<`) are not allowed', offset: node.key.range?.[0] ?? 0, hint: 'write the keys out explicitly' };
    } else if ((isScalar(node) || isCollection(node)) && node.anchor) {
      found = { message: `YAML anchors are not allowed (\`&${node.anchor}\`)`, offset: node.range?.[0] ?? 0, hint: 'remove the anchor and write values out' };
    } else if ((isScalar(node) || isCollection(node)) && node.tag && !CORE_TAGS.has(node.tag)) {
      const tag = node.tag.replace(/^tag:yaml\.org,2002:/, '!!');
      found = { message: `custom YAML tags are not allowed (\`${tag}\`)`, offset: node.range?.[0] ?? 0, hint: 'remove the tag; front matter holds plain strings, lists and booleans' };
    }
    return undefined;
  });
  return found;
}

function keyOrValueOffset(doc: Document, path: JsonPath): number | undefined {
  if (path.length === 0) return isNode(doc.contents) ? doc.contents.range?.[0] : undefined;
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path.at(-1);
  if (isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
    if (pair && isScalar(pair.key)) return pair.key.range?.[0];
  }
  const node = doc.getIn(path, true);
  return isNode(node) ? node.range?.[0] : undefined;
}

function firstSentence(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
}
