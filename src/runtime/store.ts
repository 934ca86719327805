import type { IntegrationResult } from '../integration/types.ts';

export interface IdempotencyRecord {
  args_sha256: string;
  result: IntegrationResult;
}

/**
 * What the runtime must remember between calls. The in-memory store serves one process;
 * durable stores implement the same interface.
 */
export interface StateStore {
  getIdempotency(tenant: string, methodId: string, key: string): Promise<IdempotencyRecord | undefined>;
  putIdempotency(tenant: string, methodId: string, key: string, record: IdempotencyRecord): Promise<void>;
  close(): Promise<void>;
}

export class MemoryStore implements StateStore {
  private readonly idempotency = new Map<string, IdempotencyRecord>();

  async getIdempotency(tenant: string, methodId: string, key: string): Promise<IdempotencyRecord | undefined> {
    return this.idempotency.get(JSON.stringify([tenant, methodId, key]));
  }

  async putIdempotency(tenant: string, methodId: string, key: string, record: IdempotencyRecord): Promise<void> {
    this.idempotency.set(JSON.stringify([tenant, methodId, key]), structuredClone(record));
  }

  async close(): Promise<void> {}
}
