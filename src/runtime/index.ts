/**
 * `botc/runtime`: loads a bundle and dispatches tool calls under governance (docs/api.md lists
 * every export). Named exports only: internals such as the audit hash, the in-memory store and
 * the stores' row types are not part of the API.
 */
export { Runtime, type ConfirmByIdRequest, type ConfirmRequest, type RuntimeOptions, type ToolCall } from './runtime.ts';
export type { RejectRequest } from './confirmations.ts';
export { BundleLoadError } from './bundle.ts';
export { readBundle, verifyBundle } from './bundle-schema.ts';
export { bundleSchema, BUNDLE_FORMAT, type Bundle } from '../bundle/format.ts';
export { methodSpecSchema } from '../integration/method-spec.ts';
export { ConfigError } from '../config.ts';
export {
  chainCredentials, credentialsFromEnv, CredentialUnavailableError, type Credential, type CredentialSource,
} from '../integration/credentials.ts';
export { credentialsFromFile } from '../integration/credentials-file.ts';
export type { ErrorCode, IntegrationResult } from '../integration/types.ts';
export { CursorKeyError, cursorKeyFromEnv, CursorSealer, type CursorBinding } from './cursors.ts';
export { ENVELOPE_LIMITS } from './envelope-bounds.ts';
export { TOOL_OPS, type ToolOp } from '../tools/envelope.ts';
export { signBundleDigest, verifyBundleSignature } from './signature.ts';
export {
  CredentialVault, DEFAULT_STATE_FILE, openStore, vaultKeyFromEnv, VaultKeyError,
  type AuditEntry, type AuditFilter, type ReviewItem, type StateStore,
} from '../state/index.ts';
