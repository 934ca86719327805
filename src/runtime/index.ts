export { Runtime, type ConfirmByIdRequest, type ConfirmRequest, type RuntimeOptions, type ToolCall } from './runtime.ts';
export { confirmationView, rejectConfirmation, type ConfirmationView, type RejectRequest } from './confirmations.ts';
export { BundleLoadError, readBundle, verifyBundle } from './bundle.ts';
export { chainCredentials, credentialsFromEnv, credentialsFromFile, CredentialUnavailableError, type Credential, type CredentialSource } from '../integration/credentials.ts';
export { CursorKeyError, CursorSealer, cursorKeyFromEnv, deriveCursorKey, type CursorBinding } from './cursors.ts';
export { ENVELOPE_LIMITS } from './envelope-bounds.ts';
export { signBundleDigest, verifyBundleSignature } from './signature.ts';
