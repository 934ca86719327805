import { DIAGNOSTICS, type DiagnosticCode, type DiagnosticParams, type Severity } from './registry.ts';

export type { Severity } from './registry.ts';

/**
 * A build diagnostic (README, Diagnostics). `file` is workspace-relative with `/`; line/column
 * are 1-based. `related` is a second place the diagnostic is about (the first declaration of a
 * duplicate, say): locations live in these fields, never inside `message`.
 */
export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  file: string;
  line?: number;
  column?: number;
  hint?: string;
  related?: RelatedLocation;
}

/** Another place a diagnostic points at; `file` as in Diagnostic, line/column 1-based. */
export interface RelatedLocation {
  file: string;
  line?: number;
  column?: number;
}

/** Where a diagnostic is: its file, optionally its position, and optionally a second place. */
export interface Where {
  file: string;
  at?: Position | undefined;
  related?: { file: string; at?: Position | undefined } | undefined;
}

export interface Position {
  line: number;
  column: number;
}

interface DiagnosticInput {
  file: string;
  message: string;
  at?: Position | undefined;
  hint?: string | undefined;
}

/** Collects a stage's diagnostics; stages push, never throw, for expected problems. */
export class Diagnostics {
  readonly items: Diagnostic[] = [];

  /**
   * Reports `code` at `where`, worded by the registry (src/diagnostics/registry.ts) from
   * `params`; the severity is the code's own.
   */
  add<C extends DiagnosticCode>(code: C, where: Where, params: DiagnosticParams<C>): void {
    const definition = DIAGNOSTICS[code] as { message: (p: unknown) => string; hint: (p: unknown) => string | undefined };
    this.report(code, { file: where.file, at: where.at, message: definition.message(params), hint: definition.hint(params) });
    if (where.related) {
      const related: RelatedLocation = { file: where.related.file };
      if (where.related.at) {
        related.line = where.related.at.line;
        related.column = where.related.at.column;
      }
      this.items.at(-1)!.related = related;
    }
  }

  /** Records one worded diagnostic; the text comes from `add`, which words it from the registry. */
  private report(code: DiagnosticCode, input: DiagnosticInput): void {
    const diagnostic: Diagnostic = {
      code,
      severity: DIAGNOSTICS[code].severity,
      message: input.message,
      file: input.file,
    };
    if (input.at) {
      diagnostic.line = input.at.line;
      diagnostic.column = input.at.column;
    }
    if (input.hint) diagnostic.hint = input.hint;
    this.items.push(diagnostic);
  }

  get errorCount(): number {
    return this.items.filter((d) => d.severity === 'error').length;
  }

  hasErrorsSince(mark: number): boolean {
    return this.items.slice(mark).some((d) => d.severity === 'error');
  }

  get mark(): number {
    return this.items.length;
  }
}

/** Stable order for output: by file, position, then code and message. */
export function sortDiagnostics(items: readonly Diagnostic[]): Diagnostic[] {
  return [...items].sort(
    (a, b) =>
      compare(a.file, b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      compare(a.code, b.code) ||
      compare(a.message, b.message),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
