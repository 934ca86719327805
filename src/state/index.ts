export type * from './types.ts';
export { openStore, DEFAULT_STATE_FILE } from './open.ts';
export { CredentialVault, vaultKeyFromEnv, VaultKeyError } from './vault.ts';
export { auditHash, GENESIS_HASH, verifyAuditLog } from './audit-chain.ts';
export { MemoryStore } from './memory.ts';
export { decideReview } from './reviews.ts';
