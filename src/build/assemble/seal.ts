import { hash } from 'node:crypto';
import { canonicalJson, sha256 } from '../../bundle/canonical.ts';
import type { Bundle } from '../../bundle/format.ts';

/**
 * Sorting, digesting and serializing bundles, with the method specs done once per build. A
 * workspace's bots share their integrations' MethodSpecs (with their schemas, the largest
 * part of a bundle after the prompts): each spec is key-sorted and turned into JSON once,
 * and every bundle that carries it splices those texts in. The bundle, its digest and its
 * bytes are exactly those of `sealSortedBundle(sortKeys(bundle))` and `serializeSortedBundle`
 * (src/bundle/format.ts); test/perf-seal.test.ts compares them.
 *
 * Neither text is ever one string. Each is a list of parts (`BundleText`) that `layOut` writes
 * one after the other into a buffer reused from bundle to bundle: the compact text to be
 * digested, the indented one to be written. Joined, a bundle's text is a string of hundreds of
 * KiB, which V8 allocates outside its young generation, in memory fresh from the system each
 * time; and every string built by concatenation or cut from another is copied again before it
 * can be encoded or hashed. On the machines we measured, those copies cost more than
 * serializing the bundle.
 */

/** One shared value, sorted, as compact JSON and as two-space JSON at the depth of a `methods` entry. */
interface SharedJson {
  sorted: unknown;
  compact: string;
  indented: string;
  /** Some object in it has a member named by an array index (see `sortKeysFindingIndexNames`). */
  indexNames: boolean;
}

const shared = new WeakMap<object, SharedJson>();
/** The file text of each sealed bundle, until the writer takes it. */
const texts = new WeakMap<Bundle, BundleText>();

function sharedJson(value: object): SharedJson {
  let known = shared.get(value);
  if (!known) {
    const found = { indexNames: false };
    const sorted = sortKeysFindingIndexNames(value, found);
    // A `methods` entry sits two levels deep in the file: four spaces before each inner line.
    known = { sorted, compact: JSON.stringify(sorted), indented: JSON.stringify(sorted, null, 2).replace(/\n/g, '\n    '), indexNames: found.indexNames };
    shared.set(value, known);
  }
  return known;
}

/** A member name that is an array index (0 to 2^32 - 2): objects enumerate those first, in numeric order. */
const INDEX_NAME = /^(?:0|[1-9][0-9]{0,9})$/;

/**
 * `sortKeys` (src/bundle/canonical.ts), noting in `found` whether some object has a member
 * named by an array index. JSON.stringify of the sorted value is its canonical (JCS) text
 * unless one has: objects enumerate such names first, in numeric order, where JCS sorts them
 * with the others by code units ("10" before "9").
 */
function sortKeysFindingIndexNames(value: unknown, found: { indexNames: boolean }): unknown {
  if (Array.isArray(value)) {
    // Arrays of sorted values are kept too: copied only from the first element that changed.
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const sorted = sortKeysFindingIndexNames(item, found);
      if (!copy && sorted !== item) copy = value.slice(0, i);
      if (copy) copy.push(sorted);
    }
    return copy ?? value;
  }
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let inOrder = true;
  for (let i = 1; i < keys.length && inOrder; i++) inOrder = keys[i - 1]! < keys[i]!;
  for (const key of keys) if (!found.indexNames && isIndexName(key)) found.indexNames = true;
  // Most of a bundle is built in key order already: such an object is kept as it is (when its
  // members are too, and none is undefined), not copied.
  if (inOrder) {
    let copy: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const child = record[key];
      const sorted = child === undefined ? undefined : sortKeysFindingIndexNames(child, found);
      if (!copy && (child === undefined || sorted !== child)) {
        copy = {};
        for (let k = 0; k < i; k++) copy[keys[k]!] = record[keys[k]!];
      }
      if (copy && sorted !== undefined) copy[key] = sorted;
    }
    return copy ?? value;
  }
  const out: Record<string, unknown> = {};
  for (const key of keys.sort()) {
    const child = record[key];
    if (child === undefined) continue;
    out[key] = sortKeysFindingIndexNames(child, found);
  }
  return out;
}

/** `INDEX_NAME`, tested only for a name that starts with a digit. */
function isIndexName(key: string): boolean {
  const first = key.charCodeAt(0);
  return first >= 0x30 && first <= 0x39 && INDEX_NAME.test(key);
}

/** The parts of a bundle before its digest, as `assembleBundle` builds them (keys in any order). */
export interface UnsealedBundle {
  format: string;
  bot: unknown;
  experts: unknown;
  tools: unknown;
  methods: Record<string, object>;
  integrations: unknown;
  sources: unknown;
}

/**
 * A text as parts written one after the other (`layOut`): a string as it is, or the members of
 * an object without its braces: `JSON.stringify` of an object whose first character (`{`) is
 * written as `separator` and whose last `drop` characters (`}`, or a line break and `}`) are
 * left out. No part is ever cut or joined into a new string.
 */
export type BundleText = (string | Members)[];

interface Members {
  json: string;
  separator: '{' | ',';
  drop: number;
}

/** The buffers texts are laid out in, reused from one bundle to the next (grown when a bundle needs more). */
const buffers = { digest: Buffer.allocUnsafe(0), file: Buffer.allocUnsafe(0) };

/**
 * The UTF-8 bytes of a text, in a buffer that the next call for the same `use` overwrites:
 * encoding each bundle into fresh memory costs page faults on every write.
 */
export function layOut(text: BundleText, use: keyof typeof buffers = 'file'): Buffer {
  // UTF-8 takes at most three bytes per UTF-16 code unit: room for the longest encoding.
  let room = 0;
  for (const part of text) room += (typeof part === 'string' ? part.length : part.json.length) * 3;
  if (buffers[use].length < room) buffers[use] = Buffer.allocUnsafe(Math.max(room, buffers[use].length * 2));
  const buffer = buffers[use];
  let at = 0;
  for (const part of text) {
    if (typeof part === 'string') {
      at += buffer.write(part, at);
    } else {
      const written = buffer.write(part.json, at);
      buffer[at] = part.separator === '{' ? 0x7b : 0x2c;
      at += written - part.drop;
    }
  }
  return buffer.subarray(0, at);
}

/** `"a":1,"b":2`: the members of a non-empty object as compact JSON, after `separator`. */
function compactMembers(members: Record<string, unknown>, separator: Members['separator']): Members {
  return { json: JSON.stringify(members), separator, drop: 1 };
}

/** The members of a non-empty object as two-space JSON at the top level of a bundle, after `separator` and its line break. */
function indentedMembers(members: Record<string, unknown>, separator: Members['separator']): Members {
  return { json: JSON.stringify(members, null, 2), separator, drop: 2 };
}

/**
 * `sealSortedBundle(sortKeys(parts))`: the bundle with sorted keys and its digest (sha256 of
 * the canonical JSON of everything else). Its file text is kept for `takeBundleText`.
 */
export function sealBundle(parts: UnsealedBundle): Bundle {
  const found = { indexNames: false };
  const sort = (value: unknown) => sortKeysFindingIndexNames(value, found);
  const bot = sort(parts.bot);
  const experts = sort(parts.experts);
  const format = sort(parts.format);
  const integrations = sort(parts.integrations);
  const sources = sort(parts.sources);
  const tools = sort(parts.tools);
  const methods: Record<string, unknown> = {};
  const methodJson = new Map<string, SharedJson>();
  for (const id of Object.keys(parts.methods).sort()) {
    const json = sharedJson(parts.methods[id]!);
    methods[id] = json.sorted;
    methodJson.set(id, json);
    if (json.indexNames || INDEX_NAME.test(id)) found.indexNames = true;
  }
  // Enumeration order, as JSON.stringify walks the object (array-index names first).
  const ids = Object.keys(methods);
  const sorted = { bot, experts, format, integrations, methods, sources, tools };
  let digest: string;
  if (found.indexNames) {
    digest = sha256(canonicalJson(sorted));
  } else {
    const compact: BundleText = [compactMembers({ bot }, '{'), compactMembers({ experts }, ','), compactMembers({ format, integrations }, ','), ',"methods":{'];
    ids.forEach((id, i) => compact.push(`${i === 0 ? '' : ','}${JSON.stringify(id)}:`, methodJson.get(id)!.compact));
    compact.push('}', compactMembers({ sources, tools }, ','), '}');
    digest = hash('sha256', layOut(compact, 'digest'), 'hex');
  }
  const bundle = { bot, digest, experts, format, integrations, methods, sources, tools } as unknown as Bundle;
  const text: BundleText = [indentedMembers({ bot, digest }, '{'), indentedMembers({ experts }, ','), indentedMembers({ format, integrations }, ',')];
  if (ids.length === 0) text.push(',\n  "methods": {}');
  else {
    text.push(',\n  "methods": {');
    // A `methods` entry sits two levels deep: its text was indented for that (`sharedJson`).
    ids.forEach((id, i) => text.push(`${i === 0 ? '' : ','}\n    ${JSON.stringify(id)}: `, methodJson.get(id)!.indented));
    text.push('\n  }');
  }
  text.push(indentedMembers({ sources, tools }, ','), '\n}\n');
  texts.set(bundle, text);
  return bundle;
}

/**
 * The file text of a bundle sealed by `sealBundle` (what `serializeSortedBundle` gives, once
 * laid out), to be written once: the text is let go with it. Undefined for any other bundle.
 */
export function takeBundleText(bundle: Bundle): BundleText | undefined {
  const text = texts.get(bundle);
  texts.delete(bundle);
  return text;
}
