import { createHash } from 'node:crypto';
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
 * Both texts stay in pieces of a few tens of KiB (one per group of top-level members): the
 * digest is computed piece by piece and the writer encodes the pieces into one reused buffer.
 * Joined, a bundle's text is a string of hundreds of KiB, which V8 allocates outside its
 * young generation, in memory fresh from the system each time: on the machines we measured,
 * the page faults of that memory cost more than serializing the bundle.
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
/** The file text of each sealed bundle, in pieces, until the writer takes it. */
const texts = new WeakMap<Bundle, string[]>();

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
  if (Array.isArray(value)) return value.map((item) => sortKeysFindingIndexNames(item, found));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  let inOrder = true;
  for (let i = 1; i < keys.length && inOrder; i++) inOrder = keys[i - 1]! < keys[i]!;
  // Most of a bundle is built in key order already: such an object is kept as it is (when its
  // members are too, and none is undefined), not copied.
  if (inOrder) {
    let copy: Record<string, unknown> | undefined;
    keys.forEach((key, i) => {
      const child = (value as Record<string, unknown>)[key];
      if (!found.indexNames && INDEX_NAME.test(key)) found.indexNames = true;
      const sorted = child === undefined ? undefined : sortKeysFindingIndexNames(child, found);
      if (!copy && (child === undefined || sorted !== child)) {
        copy = {};
        for (const before of keys.slice(0, i)) copy[before] = (value as Record<string, unknown>)[before];
      }
      if (copy && sorted !== undefined) copy[key] = sorted;
    });
    return copy ?? value;
  }
  const out: Record<string, unknown> = {};
  for (const key of keys.sort()) {
    const child = (value as Record<string, unknown>)[key];
    if (child === undefined) continue;
    if (!found.indexNames && INDEX_NAME.test(key)) found.indexNames = true;
    out[key] = sortKeysFindingIndexNames(child, found);
  }
  return out;
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

/** `"a":1,"b":2`: the members of a non-empty object as compact JSON, without its braces. */
function compactMembers(members: Record<string, unknown>): string {
  return JSON.stringify(members).slice(1, -1);
}

/** The members of a non-empty object as two-space JSON at the top level of a bundle, without its braces and their line breaks. */
function indentedMembers(members: Record<string, unknown>): string {
  return JSON.stringify(members, null, 2).slice(2, -2);
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
    const hash = createHash('sha256');
    hash.update(`{${compactMembers({ bot })},${compactMembers({ experts })},${compactMembers({ format, integrations })},"methods":{`);
    ids.forEach((id, i) => hash.update(`${i === 0 ? '' : ','}${JSON.stringify(id)}:${methodJson.get(id)!.compact}`));
    hash.update(`},${compactMembers({ sources, tools })}}`);
    digest = hash.digest('hex');
  }
  const bundle = { bot, digest, experts, format, integrations, methods, sources, tools } as unknown as Bundle;
  const indentedMethods = ids.length === 0 ? '{}' : `{\n${ids.map((id) => `    ${JSON.stringify(id)}: ${methodJson.get(id)!.indented}`).join(',\n')}\n  }`;
  texts.set(bundle, [
    `{\n${indentedMembers({ bot, digest })},\n`,
    indentedMembers({ experts }),
    `,\n${indentedMembers({ format, integrations })},\n  "methods": ${indentedMethods},\n`,
    `${indentedMembers({ sources, tools })}\n}\n`,
  ]);
  return bundle;
}

/**
 * The file text of a bundle sealed by `sealBundle` (what `serializeSortedBundle` gives), in
 * pieces to be written one after the other, once: the text is let go with it. Undefined for
 * any other bundle.
 */
export function takeBundleText(bundle: Bundle): string[] | undefined {
  const text = texts.get(bundle);
  texts.delete(bundle);
  return text;
}
