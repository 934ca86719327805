export { Runtime, type ConfirmRequest, type RuntimeOptions, type ToolCall } from './runtime.ts';
export { BundleLoadError, readBundle, verifyBundle } from './bundle.ts';
export { chainCredentials, credentialsFromEnv, credentialsFromFile, CredentialUnavailableError, type Credential, type CredentialSource } from './credentials.ts';
