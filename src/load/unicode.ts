/**
 * Invisible characters that can hide instructions from a reviewer (SECURITY.md item 9):
 * Unicode tag characters, bidirectional controls and zero-width characters.
 */
const INVISIBLE =
  // eslint-disable-next-line no-misleading-character-class
  /[\u{E0000}-\u{E007F}\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u200B-\u200D\u2060-\u2064\uFEFF\u180E\u00AD]/u;
const INVISIBLE_GLOBAL = new RegExp(INVISIBLE.source, 'gu');

export interface InvisibleCharacter {
  offset: number;
  codePoint: string;
  name: string;
}

/** The first invisible character of `text`, or undefined. Fast path for clean text. */
export function findInvisible(text: string): InvisibleCharacter | undefined {
  if (!INVISIBLE.test(text)) return undefined;
  INVISIBLE_GLOBAL.lastIndex = 0;
  const match = INVISIBLE_GLOBAL.exec(text);
  if (!match) return undefined;
  const cp = match[0].codePointAt(0)!;
  return { offset: match.index, codePoint: `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`, name: describe(cp) };
}

function describe(cp: number): string {
  if (cp >= 0xe0000 && cp <= 0xe007f) return 'a Unicode tag character';
  if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x200e || cp === 0x200f || cp === 0x061c) {
    return 'a bidirectional control character';
  }
  if (cp === 0x00ad) return 'a soft hyphen';
  return 'a zero-width character';
}
