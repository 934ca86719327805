import type { IntegrationResult } from '../integration/types.ts';
import type { AuditInput, StateStore } from '../state/types.ts';
import { errorResult } from './results.ts';

/**
 * The audit wrapper of every entry point: writes `entry` to the hash-chained log, then returns
 * `result`. A result whose audit entry cannot be written is never returned as a success: it
 * becomes INTERNAL_ERROR ("treat its outcome as unknown"), keeping the result's meta.
 */
export async function audited(store: StateStore, result: IntegrationResult, entry: AuditInput): Promise<IntegrationResult> {
  try {
    await store.appendAudit(entry);
    return result;
  } catch {
    return unaudited(result);
  }
}

/** What a result becomes when its audit entry could not be written. */
export function unaudited(result: IntegrationResult): IntegrationResult {
  return errorResult('INTERNAL_ERROR', 'the call could not be audited; treat its outcome as unknown', result.meta);
}

/** The outcome an audit entry records for a result: `ok` or its error code. */
export function outcomeOf(result: IntegrationResult): string {
  return result.ok ? 'ok' : result.error.code;
}
