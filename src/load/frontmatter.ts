import matter from 'gray-matter';
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
}

export type MarkdownParse = { ok: true; file: MarkdownFile } | { ok: false; message: string; at: Position; hint: string };

const OPEN = /^---[ \t]*\r?$/;
const CLOSE = /^---[ \t]*\r?$/m;

/**
 * Splits a prompt file into YAML front matter and body (SPEC §3, SECURITY.md items 1–4).
 * Front matter is YAML only: a language tag after `---`, an unterminated block, aliases,
 * anchors, merge keys, custom tags, duplicate keys and non-object values are refused
 * before anything is evaluated or expanded.
 */
export function parseMarkdown(text: string): MarkdownParse {
  if (!text.startsWith('---')) return { ok: true, file: plainFile(text) };
  const firstBreak = text.indexOf('\n');
  const firstLine = firstBreak < 0 ? text : text.slice(0, firstBreak);
  if (!OPEN.test(firstLine)) {
    return {
      ok: false,
      message: `front matter must be YAML, but the opening line is \`${firstLine.trim().slice(0, 40)}\``,
      at: { line: 1, column: 4 },
      hint: 'open the front matter with a line that is exactly `---`; language tags such as `---js` are not allowed',
    };
  }
  const rest = firstBreak < 0 ? '' : text.slice(firstBreak + 1);
  const close = CLOSE.exec(rest);
  if (!close) {
    return {
      ok: false,
      message: 'the front matter is not closed',
      at: { line: 1, column: 1 },
      hint: 'end the front matter with a line that is exactly `---`',
    };
  }
  const yamlText = rest.slice(0, close.index);
  const yaml = parseYaml(yamlText, 2);
  if (!yaml.ok) return yaml;

  // gray-matter splits the file. Its engines are replaced so that nothing is ever evaluated
  // (the YAML is already parsed, strictly, above); the options object keeps it from caching.
  const data = yaml.data;
  const split = matter(text, {
    language: 'yaml',
    delimiters: '---',
    engines: { yaml: () => data, js: refuseEngine, javascript: refuseEngine, coffee: refuseEngine, json: refuseEngine },
  });
  if (trimBreaks(split.matter) !== trimBreaks(yamlText)) {
    // The split closes at any line that starts with `---`; we close only at a line that is `---`.
    return {
      ok: false,
      message: 'a line inside the front matter starts with `---`',
      at: new LineIndex(text).positionAt(firstBreak + 1 + split.matter.length + 1),
      hint: 'only the closing delimiter line may start with `---`',
    };
  }
  const body = split.content;
  const bodyOffset = text.length - body.length;
  return {
    ok: true,
    file: {
      data: yaml.data,
      hasFrontMatter: true,
      body,
      bodyOffset,
      bodyLine: lineAt(text, bodyOffset),
      locate: yaml.locate,
    },
  };
}

function refuseEngine(): never {
  throw new Error('front matter engines other than YAML are disabled');
}

function trimBreaks(text: string): string {
  // The split leaves the `\r` of a CRLF line before the closing `---`; drop it too.
  return text.replace(/^\r?\n/, '').replace(/\r?\n?$/, '');
}

function plainFile(text: string): MarkdownFile {
  return { data: {}, hasFrontMatter: false, body: text, bodyOffset: 0, bodyLine: 1, locate: () => ({ line: 1, column: 1 }) };
}

type YamlParse =
  | { ok: true; data: Record<string, unknown>; locate: (path: JsonPath, key?: string) => Position }
  | { ok: false; message: string; at: Position; hint: string };

const YAML_OPTIONS = { uniqueKeys: true, merge: false, schema: 'core', strict: true, prettyErrors: false, version: '1.2' } as const;

function parseYaml(source: string, firstLine: number): YamlParse {
  const lines = new LineIndex(source, firstLine - 1);
  const tooDeep = checkYamlDepth(source, lines); if (tooDeep) return tooDeep;
  const simple = parseSimpleYaml(source);
  if (simple) return { ok: true, data: simple, locate: locator(source, lines) };
  const doc = parseDocument(source, YAML_OPTIONS);
  const error = doc.errors[0];
  if (error) {
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
  return { ok: true, data, locate: locator(source, lines) };
}

/**
 * Positions of front matter keys and values, for diagnostics. The document is parsed again on
 * first use rather than kept: a build holds thousands of prompts, and keeping every parsed
 * document for the few that get a diagnostic costs memory and garbage-collection time.
 */
function locator(source: string, lines: LineIndex): (path: JsonPath, key?: string) => Position {
  let doc: Document | undefined;
  return (path, key) => {
    doc ??= parseDocument(source, YAML_OPTIONS);
    const target = key === undefined ? path : [...path, key];
    for (let length = target.length; length >= 0; length--) {
      const offset = keyOrValueOffset(doc, target.slice(0, length));
      if (offset !== undefined) return lines.positionAt(offset);
    }
    return lines.positionAt(0);
  };
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
