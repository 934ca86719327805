export { Runtime, type RuntimeOptions, type ToolCall } from './runtime.ts';
export { BundleLoadError, readBundle, verifyBundle } from './bundle.ts';
export { MemoryStore, type IdempotencyRecord, type StateStore } from './store.ts';
export { chainCredentials, credentialsFromEnv, credentialsFromFile, type Credential, type CredentialSource } from './credentials.ts';
