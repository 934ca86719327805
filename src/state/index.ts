/**
 * The state stores' public face, re-exported by `botc/runtime`: opening a store, the store's
 * interface, what its audit and review queries return, and the credential vault. The hash chain,
 * the in-memory store and the row types stay internal (import them by path inside botc).
 */
export type { AuditEntry, AuditFilter, ReviewItem, StateStore } from './types.ts';
export { openStore, DEFAULT_STATE_FILE } from './open.ts';
export { CredentialVault, vaultKeyFromEnv, VaultKeyError } from './vault.ts';
