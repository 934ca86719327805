import { expect } from 'vitest';
import type { IntegrationResult } from '../../src/integration/types.ts';
import type { Runtime, ToolCall } from '../../src/runtime/runtime.ts';

/** What a CONFIRMATION_REQUIRED result carries in `meta.confirmation`. */
export interface PendingConfirmation {
  token: string;
  /** The public id (`conf_…`). */
  id: string;
  approver: string;
  expires_at: string;
  preview: unknown;
  preview_sha256: string;
}

/** The confirmation a result asks for; fails the test unless it is CONFIRMATION_REQUIRED. */
export function confirmationOf(result: IntegrationResult): PendingConfirmation {
  expect(result.ok, JSON.stringify(result).slice(0, 500)).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error.code, result.error.message).toBe('CONFIRMATION_REQUIRED');
  expect('data' in result).toBe(false);
  const confirmation = result.meta['confirmation'] as PendingConfirmation;
  expect(typeof confirmation?.token).toBe('string');
  expect(confirmation.token.length).toBeGreaterThanOrEqual(32);
  return confirmation;
}

/**
 * Proposes an outbound write as the expert would (`callTool`), expects CONFIRMATION_REQUIRED
 * bound to `approver`, and returns the token with the preview result.
 */
export async function proposeWrite(runtime: Runtime, call: ToolCall, approver: string): Promise<{ proposal: IntegrationResult; confirmation: PendingConfirmation }> {
  const proposal = await runtime.callTool({ ...call, approver: call.approver ?? approver });
  const confirmation = confirmationOf(proposal);
  expect(confirmation.approver).toBe(call.approver ?? approver);
  return { proposal, confirmation };
}

/**
 * "The write happens": proposes the call, expects CONFIRMATION_REQUIRED, then confirms it as
 * `approver` (for the call's tenant) and returns what the confirmed send answered.
 */
export async function callConfirmed(runtime: Runtime, call: ToolCall, approver = 'alice'): Promise<IntegrationResult> {
  const { confirmation } = await proposeWrite(runtime, call, approver);
  return runtime.confirm({ token: confirmation.token, approver, ...(call.tenant !== undefined ? { tenant: call.tenant } : {}) });
}
