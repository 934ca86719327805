import type { Position } from '../../diagnostics/diagnostic.ts';
import type { LineIndex } from '../../load/text.ts';

/**
 * Schema problems located at the keyword in the module source, reported once per place.
 * A sub-schema shared by several methods (`const NAME = {type: 'string', maxLenght: 40}`) is
 * one mistake: reporting it at every method id that uses it, each with the same message, would
 * blame the methods and hide where the typo is written.
 *
 * What one run of the method checks reported so far, by module: a run that is repeated
 * (src/build/compile.ts redoes the resolve stage when a guess about a schema was wrong) starts
 * from a new one and reports the same places again.
 */
export type ReportedPlaces = WeakMap<object, Set<string>>;

export type SchemaProblemPlace = { at: Position; first: boolean } | undefined;

/**
 * Where the keyword that `problem` names is written in `source`, when it is written exactly
 * once as a property key (so the place is certain), and whether this is the first report of
 * that problem there for this module. Undefined when the keyword is not named, or not unique.
 */
export function placeSchemaProblem(module: { source: string; lines: LineIndex }, problem: string, reported: ReportedPlaces): SchemaProblemPlace {
  const keyword = keywordOf(problem);
  if (keyword === undefined) return undefined;
  const escaped = keyword.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const key = new RegExp(`(^|[\\s{,])(["'\`]?)(${escaped})\\2\\s*:`, 'g');
  const offsets = [...module.source.matchAll(key)].map((m) => m.index + m[1]!.length);
  if (offsets.length !== 1) return undefined;
  const offset = offsets[0]!;
  const seen = reported.get(module) ?? new Set<string>();
  reported.set(module, seen);
  const id = `${offset}\u0000${problem.replace(/^\S*: /, '')}`;
  const first = !seen.has(id);
  seen.add(id);
  return { at: module.lines.positionAt(offset), first };
}

/** The keyword a schema problem is about: an unknown keyword's name, or the last segment of its JSON pointer. */
function keywordOf(problem: string): string | undefined {
  const unknown = /unknown keyword:? ["'`]?([$\w-]+)/.exec(problem);
  if (unknown) return unknown[1];
  const pointer = /^(?:\w+: )?(\/[^\s:]*)/.exec(problem)?.[1];
  const last = pointer?.split('/').at(-1);
  return last && /^[$\w-]+$/.test(last) ? last : undefined;
}
