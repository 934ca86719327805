export type * from './types.ts';
export { EVENT_TYPES, proposingFor, type AutomationClaim, type EventCause, type EventFilter, type EventInput, type EventType, type EventValue, type StoredEvent } from './events.ts';
export { openStore, DEFAULT_STATE_FILE } from './open.ts';
export { CredentialVault, vaultKeyFromEnv, VaultKeyError, WRONG_VAULT_KEY } from './vault.ts';
export { auditHash, GENESIS_HASH, HEAD_REBUILT_ACTION, verifyAuditLog, type AuditLogReader } from './audit-chain.ts';
export {
  AuditCheckpointError, checkpointKeyId, openCheckpoint, signCheckpoint, signingKeyFromEnv, verifyKeyFromEnv,
  CHECKPOINT_FORMAT, type AuditCheckpoint,
} from './audit-checkpoint.ts';
export { KeyFormatError, parseKey32, weakKeyReason } from './keys.ts';
export { MemoryStore } from './memory.ts';
export { decideReview } from './reviews.ts';
