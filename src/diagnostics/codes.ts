import { DIAGNOSTICS, type DiagnosticCode, type Severity } from './registry.ts';

export type { DiagnosticCode } from './registry.ts';

/**
 * Each code's default severity and one-line summary, as documentation and the CLI list them;
 * derived from the registry (src/diagnostics/registry.ts), which also words the messages.
 */
export const DIAGNOSTIC_CODES = Object.fromEntries(
  Object.entries(DIAGNOSTICS).map(([code, { severity, title }]) => [code, { severity, summary: title }]),
) as { readonly [C in DiagnosticCode]: { readonly severity: Severity; readonly summary: string } };
