/**
 * A sufficient condition, checked in microseconds, for a pattern to get the ReDoS analysis'
 * (recheck's) verdict "safe or of degree at most 2" — the verdict under which the build
 * accepts a pattern that runs on the linear-time engine. The analysis costs tens to hundreds
 * of milliseconds per pattern (and over a second to load and warm up), most of a cold
 * build's schema checks on schemas with a few identifier or timestamp patterns
 * (`^[0-9]{10}\.[0-9]{6}$`, `^v?[0-9]+\.[0-9]+\.[0-9]+$`).
 *
 * The condition covers patterns that are a plain sequence of single-character atoms (a
 * literal, an escape such as `\.` or `\d`, `.`, a class `[...]`), each with an optional greedy
 * quantifier, plus `^`/`$`: no group, alternation, lookaround, backreference or lazy
 * quantifier. Its automaton has one state per atom and a loop only on a quantified atom
 * (`*`, `+`, `{n,m}` with m > 1, counted repeats counting as unbounded, as the analysis
 * treats them), each loop a single self-loop. So:
 *
 * - it is never exponential: that needs two different paths from a state back to itself on
 *   the same input, and here the only way back to a state is its own self-loop;
 * - its polynomial degree is one more than the most "links" along a path through its loops,
 *   a link being two loops that can both read the same input while one leads to the other
 *   (the analysis' "IDA"), the search over start positions counting as a loop on every
 *   character before the pattern: `.\w+-*-+\d$` is of degree 3 (one link between the search
 *   and `\w+`, one between the two loops on `-`). Two loops can be linked only when their
 *   character sets overlap and every atom that must be crossed between them (minimum count
 *   ≥ 1) accepts a character of that overlap; `^` and `$` are ignored. Both approximations
 *   can only add links.
 *
 * A pattern with at most one link on every path is therefore of degree at most 2 (or safe).
 * Anything else, or any construct this reader does not know, is left to the analysis (false).
 * test/perf-patterns.test.ts compares with the analysis.
 */
export function sequenceOfDegreeAtMost2(pattern: string): boolean {
  const atoms = readSequence(pattern);
  if (!atoms) return false;
  // The search over start positions, as a loop on every character before the pattern.
  const items: Atom[] = [{ set: [[0, MAX_CODE_POINT]], min: 0, loop: true }, ...atoms];
  const loops = items.flatMap((atom, index) => (atom.loop ? [index] : []));
  // The most links on a path through the loops that ends at each loop, in order.
  const links = new Map<number, number>();
  for (const j of loops) {
    let best = 0;
    for (const i of loops) {
      if (i >= j) break;
      best = Math.max(best, links.get(i)! + (linked(items, i, j) ? 1 : 0));
    }
    if (best > 1) return false;
    links.set(j, best);
  }
  return true;
}

const MAX_CODE_POINT = 0x10ffff;
/** A set of code points as sorted, disjoint, inclusive ranges. */
type CharSet = [number, number][];
interface Atom {
  set: CharSet;
  /** Minimum repeat count: 0 when the atom may be skipped. */
  min: number;
  /** Whether the atom repeats (a self-loop in the automaton). */
  loop: boolean;
}

/** Whether loops `i` and `j` may be ambiguous with each other on one input both read (see above). */
function linked(items: Atom[], i: number, j: number): boolean {
  const overlap = intersect(items[i]!.set, items[j]!.set);
  if (overlap.length === 0) return false;
  for (let k = i + 1; k < j; k++) {
    const atom = items[k]!;
    if (atom.min >= 1 && intersect(atom.set, overlap).length === 0) return false;
  }
  return true;
}

function intersect(a: CharSet, b: CharSet): CharSet {
  const out: CharSet = [];
  for (const [lo1, hi1] of a) {
    for (const [lo2, hi2] of b) {
      const lo = Math.max(lo1, lo2);
      const hi = Math.min(hi1, hi2);
      if (lo <= hi) out.push([lo, hi]);
    }
  }
  return out;
}

function normalize(ranges: CharSet): CharSet {
  const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
  const out: CharSet = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function complement(set: CharSet): CharSet {
  const out: CharSet = [];
  let next = 0;
  for (const [lo, hi] of normalize(set)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

const DIGIT: CharSet = [[0x30, 0x39]];
const WORD: CharSet = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
/** ECMAScript's WhiteSpace and LineTerminator (`\s`). */
const SPACE: CharSet = normalize([[0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff]]);
/** `.` without the `s` flag: anything but a line terminator. */
const DOT: CharSet = complement([[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]]);
const CLASS_ESCAPES: Record<string, CharSet> = { d: DIGIT, D: complement(DIGIT), w: WORD, W: complement(WORD), s: SPACE, S: complement(SPACE) };
/** Escapes of a single character that mean that character (identity escapes of syntax characters, and `-`, `/`). */
const IDENTITY = new Set([...'^$\\.*+?()[]{}|/-']);
const CONTROL: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, f: 0x0c, v: 0x0b };

/**
 * The pattern as a sequence of atoms, or undefined when it holds anything else (a group,
 * alternation, an assertion other than `^`/`$`, a backreference, a lazy quantifier, an escape
 * this reader does not know).
 */
function readSequence(pattern: string): Atom[] | undefined {
  const atoms: Atom[] = [];
  let i = 0;
  const at = (k: number) => pattern[k] ?? '';
  while (i < pattern.length) {
    const c = pattern.codePointAt(i)!;
    const ch = String.fromCodePoint(c);
    let set: CharSet | undefined;
    if (ch === '^' || ch === '$') {
      i++;
      continue;
    } else if (ch === '.') {
      set = DOT;
      i++;
    } else if (ch === '\\') {
      const escape = readEscape(pattern, i + 1);
      if (!escape) return undefined;
      set = escape.set;
      i = escape.end;
    } else if (ch === '[') {
      const cls = readClass(pattern, i + 1);
      if (!cls) return undefined;
      set = cls.set;
      i = cls.end;
    } else if ('()|*+?{}]'.includes(ch)) {
      return undefined;
    } else {
      set = [[c, c]];
      i += ch.length;
    }
    let min = 1;
    let max = 1;
    const q = at(i);
    if (q === '*' || q === '+' || q === '?') {
      min = q === '+' ? 1 : 0;
      max = q === '?' ? 1 : Infinity;
      i++;
    } else if (q === '{') {
      const counted = /^\{(\d+)(?:(,)(\d*))?\}/.exec(pattern.slice(i));
      if (!counted) return undefined;
      min = Number(counted[1]);
      max = counted[2] === undefined ? min : counted[3] === '' ? Infinity : Number(counted[3]);
      if (max < min) return undefined;
      i += counted[0].length;
    }
    // A lazy or a second quantifier.
    if ('*+?{'.includes(at(i)) && at(i) !== '') return undefined;
    atoms.push({ set, min, loop: max > 1 });
  }
  return atoms;
}

/** An escape after `\` at `start`: its character set and where it ends. */
function readEscape(pattern: string, start: number): { set: CharSet; end: number } | undefined {
  const e = pattern[start];
  if (e === undefined) return undefined;
  if (CLASS_ESCAPES[e]) return { set: CLASS_ESCAPES[e], end: start + 1 };
  if (CONTROL[e] !== undefined) return { set: [[CONTROL[e], CONTROL[e]]], end: start + 1 };
  if (IDENTITY.has(e)) {
    const code = e.charCodeAt(0);
    return { set: [[code, code]], end: start + 1 };
  }
  return undefined;
}

/** A class after `[` at `start`: its character set and where it ends (after `]`). */
function readClass(pattern: string, start: number): { set: CharSet; end: number } | undefined {
  let i = start;
  const negated = pattern[i] === '^';
  if (negated) i++;
  // `[]` and `[^]` mean something else; leave them to the analysis.
  if (pattern[i] === ']') return undefined;
  const ranges: CharSet = [];
  /** One class member at `i`: a single code point, or a set from a class escape. */
  const member = (): { code?: number; set?: CharSet } | undefined => {
    const ch = pattern[i];
    if (ch === undefined || ch === '[') return undefined;
    if (ch === '\\') {
      const e = pattern[i + 1];
      if (e === 'b' || e === 'B' || e === undefined) return undefined;
      const escape = readEscape(pattern, i + 1);
      if (!escape) return undefined;
      i = escape.end;
      const [first] = escape.set;
      return escape.set.length === 1 && first![0] === first![1] ? { code: first![0] } : { set: escape.set };
    }
    const code = pattern.codePointAt(i)!;
    i += String.fromCodePoint(code).length;
    return { code };
  };
  while (pattern[i] !== ']') {
    if (i >= pattern.length) return undefined;
    const from = member();
    if (!from) return undefined;
    if (pattern[i] === '-' && pattern[i + 1] !== ']' && pattern[i + 1] !== undefined) {
      i++;
      const to = member();
      if (!to || from.code === undefined || to.code === undefined || to.code < from.code) return undefined;
      ranges.push([from.code, to.code]);
      continue;
    }
    if (from.set) ranges.push(...from.set);
    else ranges.push([from.code!, from.code!]);
  }
  const set = normalize(ranges);
  return { set: negated ? complement(set) : set, end: i + 1 };
}
