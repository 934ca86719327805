/**
 * Characters that a reader does not see but a model reads, so they can hide instructions from
 * the people who review a workspace (docs/security.md, "Building untrusted workspaces"):
 *
 * - Unicode tag characters (U+E0000–U+E007F), except inside an emoji flag tag sequence:
 *   U+1F3F4, then 2 to 6 tag digits or lowercase tag letters, then U+E007F (🏴 England);
 * - bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C);
 * - zero-width and invisible format characters (U+200B–U+200D, U+2060–U+206F, U+FEFF,
 *   U+180E, U+00AD, U+034F, U+17B4, U+17B5, U+FFF9–U+FFFB, U+1D173–U+1D17A) and the Hangul
 *   fillers (U+115F, U+1160, U+3164, U+FFA0). U+200D (zero-width joiner) is allowed only
 *   between two emoji, as in 👩‍💻;
 * - variation selectors (U+FE00–U+FE0F, U+E0100–U+E01EF): ONE selector directly after a
 *   visible character is how an emoji or an ideograph picks its form (❤️ is U+2764 U+FE0F) and
 *   is allowed; a selector after another selector (a run, which can encode a hidden sentence
 *   one byte per selector), after whitespace, or at the start is refused;
 * - control characters: C0 except tab, line feed and carriage return, DEL, and C1; among them
 *   ESC, which starts the ANSI escape sequences that repaint a terminal.
 */
const CANDIDATE =
  // eslint-disable-next-line no-control-regex, no-misleading-character-class
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF9-\uFFFB\u{1D173}-\u{1D17A}\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/u;
const CANDIDATE_GLOBAL = new RegExp(CANDIDATE.source, 'gu');
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;

export interface InvisibleCharacter {
  /** UTF-16 offset in the text. */
  offset: number;
  /** `U+XXXX`. */
  codePoint: string;
  /** What it is, for a message: "a bidirectional control character". */
  name: string;
}

/** The first invisible character of `text` under the rules above, or undefined. Fast path for clean text. */
export function findInvisible(text: string): InvisibleCharacter | undefined {
  if (!CANDIDATE.test(text)) return undefined;
  CANDIDATE_GLOBAL.lastIndex = 0;
  for (let match = CANDIDATE_GLOBAL.exec(text); match; match = CANDIDATE_GLOBAL.exec(text)) {
    const cp = match[0].codePointAt(0)!;
    const offset = match.index;
    if (isVariationSelector(cp)) {
      const previous = codePointBefore(text, offset);
      if (previous !== undefined && !CANDIDATE.test(String.fromCodePoint(previous)) && !/\s/u.test(String.fromCodePoint(previous))) continue;
      const run = previous !== undefined && isVariationSelector(previous);
      return at(offset, cp, run ? 'a run of variation selectors (they can carry hidden text)' : 'a variation selector with no character to modify');
    }
    if (cp === 0x200d && isEmojiJoin(text, offset)) continue;
    if (cp >= 0xe0000 && cp <= 0xe007f) {
      const end = flagSequenceEnd(text, offset);
      if (end !== undefined) {
        CANDIDATE_GLOBAL.lastIndex = end;
        continue;
      }
    }
    return at(offset, cp, describe(cp));
  }
  return undefined;
}

function at(offset: number, cp: number, name: string): InvisibleCharacter {
  return { offset, codePoint: `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`, name };
}

function isVariationSelector(cp: number): boolean {
  return (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef);
}

function codePointBefore(text: string, offset: number): number | undefined {
  if (offset === 0) return undefined;
  const low = text.charCodeAt(offset - 1);
  if (low >= 0xdc00 && low <= 0xdfff && offset >= 2) {
    const high = text.charCodeAt(offset - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.codePointAt(offset - 2);
  }
  return low;
}

/** A zero-width joiner between two emoji (an emoji, optionally with VS16 or a skin tone, before it). */
function isEmojiJoin(text: string, offset: number): boolean {
  let before = offset;
  let previous = codePointBefore(text, before);
  while (previous !== undefined && (previous === 0xfe0f || (previous >= 0x1f3fb && previous <= 0x1f3ff))) {
    before -= previous > 0xffff ? 2 : 1;
    previous = codePointBefore(text, before);
  }
  const next = text.codePointAt(offset + 1);
  return previous !== undefined && next !== undefined && PICTOGRAPHIC.test(String.fromCodePoint(previous)) && PICTOGRAPHIC.test(String.fromCodePoint(next));
}

/** Where an emoji flag tag sequence starting at `offset` ends, or undefined when it is not one. */
function flagSequenceEnd(text: string, offset: number): number | undefined {
  if (codePointBefore(text, offset) !== 0x1f3f4) return undefined;
  let i = offset;
  let letters = 0;
  for (;;) {
    const cp = text.codePointAt(i);
    if (cp === 0xe007f) return letters >= 2 && letters <= 6 ? i + 2 : undefined;
    if (cp === undefined || !((cp >= 0xe0030 && cp <= 0xe0039) || (cp >= 0xe0061 && cp <= 0xe007a))) return undefined;
    letters++;
    i += 2;
  }
}

function describe(cp: number): string {
  if (cp >= 0xe0000 && cp <= 0xe007f) return 'a Unicode tag character';
  if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x200e || cp === 0x200f || cp === 0x061c) {
    return 'a bidirectional control character';
  }
  if (cp === 0x1b) return 'an escape character (it starts ANSI terminal escape sequences)';
  if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f)) return 'a control character';
  if (cp === 0x00ad) return 'a soft hyphen';
  if (cp === 0x034f) return 'a combining grapheme joiner';
  if (cp === 0x115f || cp === 0x1160 || cp === 0x3164 || cp === 0xffa0) return 'a blank Hangul filler letter';
  if (cp >= 0x206a && cp <= 0x206f) return 'a deprecated invisible format character';
  if (cp === 0x17b4 || cp === 0x17b5) return 'an invisible Khmer vowel';
  if (cp >= 0xfff9 && cp <= 0xfffb) return 'an interlinear annotation character';
  if (cp >= 0x1d173 && cp <= 0x1d17a) return 'an invisible musical format character';
  return 'a zero-width character';
}

/**
 * Terminal-safe text: control characters (C0 but tab and line feed, DEL, C1), bidirectional
 * controls and tag characters become a visible `<U+XXXX>`, so nothing a workspace file holds
 * can move the cursor, recolour or clear a terminal, or reorder what a reader sees.
 */
export function escapeForTerminal(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069\u{E0000}-\u{E007F}]/gu, (c) =>
    `<U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}>`,
  );
}
