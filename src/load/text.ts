import type { Position } from '../diagnostics/diagnostic.ts';

/** Maps character offsets of a text to 1-based line and column. */
export class LineIndex {
  private starts: number[] | undefined;

  constructor(
    private readonly text: string,
    /** Offset added to line numbers when the text is a slice of a file. */
    private readonly lineOffset = 0,
  ) {}

  positionAt(offset: number): Position {
    const starts = (this.starts ??= lineStarts(this.text));
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1 + this.lineOffset, column: offset - starts[low]! + 1 };
  }
}

/** The 1-based line of `offset`, counting only the text before it (no index of the whole text). */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** The first 1-based position where `needle` occurs in `text`, if it does. */
export function findPosition(text: string, needle: string): Position | undefined {
  const offset = text.indexOf(needle);
  return offset < 0 ? undefined : new LineIndex(text).positionAt(offset);
}
