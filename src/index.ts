/**
 * `botc`: the compiler. Builds a workspace into one bundle per bot (docs/api.md lists every
 * export). Running bundles is `botc/runtime`, writing integrations `botc/integration`, serving
 * experts to agent frameworks `botc/adapters`. Named exports only: what is not listed here is
 * internal and may change without notice.
 */
export { build, check, BuildUsageError } from './build/build.ts';
export type { BuildFailure, BuildOptions, BuildResult, BuildSuccess, BundleSummary } from './build/build.ts';
export type { Diagnostic, Severity } from './diagnostics/diagnostic.ts';
export { DIAGNOSTIC_CODES, type DiagnosticCode } from './diagnostics/codes.ts';
export { BUNDLE_FORMAT, bundleDigest, serializeBundle } from './bundle/format.ts';
export type { Bundle, BundleBlock, BundleExpert, BundleIntegration, BundleTool } from './bundle/format.ts';
