export { build, check, BuildUsageError } from './build/build.ts';
export type { BuildOptions, BuildResult, BundleSummary } from './build/build.ts';
export type { Diagnostic, Severity } from './diagnostics/diagnostic.ts';
export { DIAGNOSTIC_CODES, type DiagnosticCode } from './diagnostics/codes.ts';
export { BUNDLE_FORMAT, bundleDigest, serializeBundle } from './bundle/format.ts';
export type { Bundle, BundleBlock, BundleExpert, BundleIntegration, BundleTool } from './bundle/format.ts';
export { envelopeSchema, TOOL_OPS, type ToolOp } from './tools/envelope.ts';
export * from './integration/index.ts';
