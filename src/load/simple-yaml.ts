/**
 * A fast path for the front matter nearly every prompt has: one `key: value` line per key,
 * where a value is a word or a line of plain text, a double-quoted ASCII string, or a flow
 * list of words and quoted strings. For that subset it returns exactly the data the full
 * YAML parse would (and that parse would report nothing); for anything else (comments,
 * blank lines, CRLF, nesting, anchors, escapes beyond `\"` and `\\`, a repeated key, ...) it
 * returns undefined and the caller parses in full. Thousands of tiny documents through the
 * full parser are a large part of a cold build.
 */
export function parseSimpleYaml(source: string): Record<string, unknown> | undefined {
  if (!source.endsWith('\n') || source.includes('\r')) return undefined;
  const data: Record<string, unknown> = {};
  for (const line of source.slice(0, -1).split('\n')) {
    const match = LINE.exec(line);
    if (!match || RESERVED.has(match[1]!) || Object.hasOwn(data, match[1]!)) return undefined;
    const value = parseValue(match[2]!);
    if (value === undefined) return undefined;
    data[match[1]!] = value;
  }
  return data;
}

const LINE = /^([a-z][a-z0-9_]*): (.+)$/;
/** Words the core schema reads as booleans or null rather than strings. */
const RESERVED = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'null', 'Null', 'NULL']);
/** Printable ASCII but `"` and `\`, or the escapes `\"` and `\\`. */
const QUOTED = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;
/** A list item: a word (never a number: it starts with a letter or `_`), or a quoted string. */
const ITEM = /([a-z_][a-z0-9_]*)|"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"/y;
/** One line of plain text: starts with a letter, ends without a space, no YAML indicator inside. */
const PLAIN = /^[A-Za-z](?:[A-Za-z0-9 ,.;()'/_-]*[A-Za-z0-9.;()'/_-])?$/;

function parseValue(text: string): string | string[] | undefined {
  if (text.startsWith('"')) {
    const quoted = QUOTED.exec(text);
    return quoted ? unescape(quoted[1]!) : undefined;
  }
  if (text.startsWith('[')) return parseList(text);
  return PLAIN.test(text) && !RESERVED.has(text) ? text : undefined;
}

function parseList(text: string): string[] | undefined {
  if (text === '[]') return [];
  const items: string[] = [];
  let at = 1;
  for (;;) {
    ITEM.lastIndex = at;
    const item = ITEM.exec(text);
    if (!item || (item[1] !== undefined && RESERVED.has(item[1]))) return undefined;
    items.push(item[1] ?? unescape(item[2]!));
    at = ITEM.lastIndex;
    if (text.startsWith(', ', at)) at += 2;
    else return at === text.length - 1 && text.endsWith(']') ? items : undefined;
  }
}

function unescape(content: string): string {
  return content.replace(/\\(["\\])/g, '$1');
}
