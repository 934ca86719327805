import { DIAGNOSTIC_CODES, type DiagnosticCode } from './codes.ts';

export type Severity = 'error' | 'warning';

/** A build diagnostic (README, Diagnostics). `file` is workspace-relative with `/`; line/column are 1-based. */
export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  file: string;
  line?: number;
  column?: number;
  hint?: string;
}

export interface Position {
  line: number;
  column: number;
}

export interface DiagnosticInput {
  file: string;
  message: string;
  at?: Position | undefined;
  hint?: string | undefined;
}

/** Collects a stage's diagnostics; stages push, never throw, for expected problems. */
export class Diagnostics {
  readonly items: Diagnostic[] = [];

  report(code: DiagnosticCode, input: DiagnosticInput): void {
    const diagnostic: Diagnostic = {
      code,
      severity: DIAGNOSTIC_CODES[code].severity,
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
