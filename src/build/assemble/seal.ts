import { canonicalJson, sha256, sortKeys } from '../../bundle/canonical.ts';
import type { Bundle } from '../../bundle/format.ts';

/**
 * Sorting, digesting and serializing bundles, with the method specs done once per build. A
 * workspace's bots share their integrations' MethodSpecs (with their schemas, the largest
 * part of a bundle after the prompts): each spec is key-sorted and turned into JSON once,
 * and every bundle that carries it splices those texts in. The bundle, its digest and its
 * bytes are exactly those of `sealSortedBundle(sortKeys(bundle))` and `serializeSortedBundle`
 * (src/bundle/format.ts); test/perf-seal.test.ts compares them.
 */

/** One shared value, sorted, as compact JSON and as two-space JSON at the depth of a `methods` entry. */
interface SharedJson {
  sorted: unknown;
  compact: string;
  indented: string;
}

const shared = new WeakMap<object, SharedJson>();
/** The file text of each sealed bundle, until the writer takes it. */
const texts = new WeakMap<Bundle, string>();

/**
 * An object member whose name is an array index (as in src/bundle/format.ts): JSON.stringify
 * then does not give the canonical form, which the digest is computed from.
 */
const INDEX_KEY = /[{,]"(?:0|[1-9][0-9]*)":/;

function sharedJson(value: object): SharedJson {
  let known = shared.get(value);
  if (!known) {
    const sorted = sortKeys(value);
    // A `methods` entry sits two levels deep in the file: four spaces before each inner line.
    known = { sorted, compact: JSON.stringify(sorted), indented: JSON.stringify(sorted, null, 2).replace(/\n/g, '\n    ') };
    shared.set(value, known);
  }
  return known;
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
 * `sealSortedBundle(sortKeys(parts))`: the bundle with sorted keys and its digest (sha256 of
 * the canonical JSON of everything else). Its file text is kept for `takeBundleText`.
 */
export function sealBundle(parts: UnsealedBundle): Bundle {
  const rest = sortKeys({ bot: parts.bot, experts: parts.experts, format: parts.format, integrations: parts.integrations, sources: parts.sources, tools: parts.tools }) as Record<string, unknown>;
  const methods: Record<string, unknown> = {};
  const methodJson = new Map<string, SharedJson>();
  for (const id of Object.keys(parts.methods).sort()) {
    const json = sharedJson(parts.methods[id]!);
    methods[id] = json.sorted;
    methodJson.set(id, json);
  }
  // Enumeration order, as JSON.stringify walks the object (array-index names first).
  const ids = Object.keys(methods);
  const sorted = { bot: rest.bot, experts: rest.experts, format: rest.format, integrations: rest.integrations, methods, sources: rest.sources, tools: rest.tools };
  const compactMethods = `{${ids.map((id) => `${JSON.stringify(id)}:${methodJson.get(id)!.compact}`).join(',')}}`;
  const compact = `${JSON.stringify({ bot: sorted.bot, experts: sorted.experts, format: sorted.format, integrations: sorted.integrations }).slice(0, -1)},"methods":${compactMethods},${JSON.stringify({ sources: sorted.sources, tools: sorted.tools }).slice(1)}`;
  const digest = sha256(INDEX_KEY.test(compact) ? canonicalJson(sorted) : compact);
  const bundle = { bot: sorted.bot, digest, experts: sorted.experts, format: sorted.format, integrations: sorted.integrations, methods, sources: sorted.sources, tools: sorted.tools } as unknown as Bundle;
  const indentedMethods = ids.length === 0 ? '{}' : `{\n${ids.map((id) => `    ${JSON.stringify(id)}: ${methodJson.get(id)!.indented}`).join(',\n')}\n  }`;
  const head = JSON.stringify({ bot: bundle.bot, digest, experts: bundle.experts, format: bundle.format, integrations: bundle.integrations }, null, 2).slice(0, -2);
  const tail = JSON.stringify({ sources: bundle.sources, tools: bundle.tools }, null, 2).slice(2);
  texts.set(bundle, `${head},\n  "methods": ${indentedMethods},\n${tail}\n`);
  return bundle;
}

/**
 * The file text of a bundle sealed by `sealBundle` (what `serializeSortedBundle` gives), once:
 * the text is let go with it. Undefined for any other bundle.
 */
export function takeBundleText(bundle: Bundle): string | undefined {
  const text = texts.get(bundle);
  texts.delete(bundle);
  return text;
}
