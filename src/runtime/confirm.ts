import { randomUUID } from 'node:crypto';
import { canonicalJson, sha256 } from '../bundle/canonical.ts';
import type { ErrorCode, IntegrationResult } from '../integration/types.ts';
import type { AuditInput, StoredConfirmation } from '../state/types.ts';
import { audited, outcomeOf } from './audit.ts';
import { approverFor, bindingDetail, bindingProblem, CONFIRMATION_ID, decidedProblem } from './confirmations.ts';
import { elapsed, type CallRecord, type Invocation } from './executor.ts';
import { keyedCall } from './idempotency.ts';
import type { CallArgs } from './params.ts';
import type { RuntimeParts } from './parts.ts';
import { emptyMeta, errorResult } from './results.ts';
import { dispatchStep, runSteps, type CallContext, type Step } from './steps.ts';

/** Who confirms, for which tenant, and (optionally) the params the host means to send. */
export interface ConfirmInput {
  tenant?: string;
  approver: string;
  params?: Record<string, unknown>;
  trace_id?: string;
}

/** The rules of the running bundle that a stored write must still pass, checked by the dispatch steps themselves. */
export function confirmSteps(stored: StoredConfirmation, request: ConfirmInput): readonly Step[] {
  return [
    {
      name: 'method_known',
      run: (parts, ctx) => {
        ctx.plan = parts.plans.get(stored.method_id);
        return ctx.plan ? undefined : { code: 'UNKNOWN_METHOD', message: `this bundle has no method ${stored.method_id}` };
      },
    },
    // The rules of the bundle that runs now apply, not those of the one that made the token.
    dispatchStep('expert_may_use_tool'),
    dispatchStep('method_in_tool'),
    dispatchStep('integration_enabled'),
    dispatchStep('governance_allows'),
    {
      // Only outbound writes are confirmed; anything else (an import, whose records must go to
      // review) never runs through a confirmation.
      name: 'is_outbound_write',
      run: (_parts, ctx) => (ctx.plan!.governance.ok && ctx.plan!.governance.kind === 'outbound_write' ? undefined : { code: 'CONFLICT', message: `${stored.method_id} is not an outbound write in this bundle; there is nothing to confirm` }),
    },
    { name: 'same_bot_and_bundle', run: (parts) => bindingProblem(stored, parts.bundle) },
    {
      // The confirmed request is the stored one: params the host passes must be exactly those, even
      // where they differ in something the provider's preview does not show.
      name: 'same_params',
      run: (_parts, ctx) => (request.params !== undefined && !sameJson(request.params, ctx.args!.params) ? { code: 'CONFLICT', message: 'the params differ from the request that was previewed; preview them again' } : undefined),
    },
    dispatchStep('credential_in_scope'),
  ];
}

/**
 * Executes a stored outbound write once a person approves it (by token or public id): the
 * confirmation must belong to the tenant and the approver, be undecided, unexpired, bound to
 * this bot and bundle, and pass the running bundle's dispatch steps; the request must still
 * preview to exactly what was shown. Then `call.attempted` is audited, the write is sent once
 * (at most once per idempotency key), and its `call` entry audited. Every refusal is audited as
 * `confirmation.rejected`.
 */
export async function confirmStored(parts: RuntimeParts, request: ConfirmInput, find: { token: string } | { id: string }, started: number): Promise<IntegrationResult> {
  const tenant = request.tenant ?? 'default';
  const traceId = request.trace_id ?? randomUUID();
  const actor = `user:${request.approver}`;
  // Which confirmation, bot and bundle a decision is about; named only to the tenant it belongs to.
  let binding: Record<string, unknown> = 'id' in find ? { confirmation_id: find.id } : {};
  const refuse = (code: ErrorCode, message: string, methodId: string | null = null, confirmation?: Record<string, unknown>) => {
    const meta = emptyMeta('botc', 'confirmation', elapsed(started));
    if (confirmation) meta['confirmation'] = confirmation;
    return audited(parts.store, errorResult(code, message, meta), {
      tenant, action: 'confirmation.rejected', actor, integration: methodId?.split('.')[0] ?? null, method_id: methodId, outcome: code, trace_id: traceId, detail: { message, ...binding },
    });
  };
  // The person confirming is one named person, never a pattern such as `*`.
  const person = approverFor(request.approver, false);
  if ('problem' in person) return refuse('VALIDATION_FAILED', person.problem.replace('`approver`', 'the confirming approver'));
  let stored: StoredConfirmation | undefined;
  if ('token' in find) {
    stored = await parts.store.getConfirmation(sha256(find.token));
    if (!stored) return refuse('CONFIRMATION_REQUIRED', 'no confirmation has this token');
  } else {
    stored = CONFIRMATION_ID.test(find.id) ? await parts.store.getConfirmationById(find.id) : undefined;
    if (!stored) return refuse('NOT_FOUND', `no confirmation has id ${find.id} (ids look like conf_ and 32 hex digits; \`botc confirm list\` shows them)`);
  }
  const tokenSha = stored.token_sha256;
  if (stored.tenant !== tenant) return refuse('AUTH_FORBIDDEN', 'the confirmation belongs to another tenant', stored.method_id);
  binding = { ...bindingDetail(stored), running_bot: parts.bundle.bot.id, running_bundle_digest: parts.bundle.digest };
  // Used or rejected: a distinct outcome (CONFLICT), decided before anything is previewed again.
  const decided = decidedProblem(stored);
  if (decided) return refuse(decided.code, decided.message, stored.method_id, decided.confirmation);
  const saved = JSON.parse(stored.call_json) as CallArgs;
  const args: CallArgs = { ...saved, method_id: stored.method_id, params: saved.params };
  const named = bindingDetail(stored);
  const record: CallRecord = { method_id: stored.method_id, provider: null, detail: { expert: stored.expert, tool: stored.tool, op: 'call', confirmed_by: request.approver, ...named } };
  const ctx: CallContext = {
    stage: 'confirm', call: { expert: stored.expert, tool: stored.tool, op: 'call' }, tenant, traceId, started, record, tool: undefined, args, plan: undefined, credential: undefined,
  };
  const refused = await runSteps(parts, ctx, confirmSteps(stored, request));
  if (refused !== undefined) return 'ok' in refused ? refused : refuse(refused.code, refused.message, stored.method_id);
  const plan = ctx.plan!;
  const invocation: Invocation = { plan, args, tenant, traceId, credential: ctx.credential, started, record: undefined };
  const preview = await parts.executor.invoke({ ...invocation, args: { ...args, dry_run: true } });
  if (!preview.ok || sha256(canonicalJson(preview.data)) !== stored.preview_sha256) {
    return refuse('CONFLICT', 'the request no longer matches the preview that was confirmed; preview it again', stored.method_id);
  }
  const use = await parts.store.useConfirmation(tokenSha, tenant, request.approver, parts.now());
  if (!use.ok) {
    if (use.reason === 'used') {
      // Another process decided it between the read above and now.
      const again = await parts.store.getConfirmation(tokenSha);
      const raced = again ? decidedProblem(again) : undefined;
      if (raced) return refuse(raced.code, raced.message, stored.method_id, raced.confirmation);
    }
    const reasons = { unknown: 'no confirmation has this token', used: 'the confirmation was already used', expired: 'the confirmation expired', tenant: 'the confirmation belongs to another tenant', approver: `only ${stored.approver} may approve this request` };
    return refuse(use.reason === 'approver' || use.reason === 'tenant' ? 'AUTH_FORBIDDEN' : use.reason === 'used' ? 'CONFLICT' : 'CONFIRMATION_REQUIRED', reasons[use.reason], stored.method_id);
  }
  await parts.store.appendAudit({ tenant, action: 'confirmation.used', actor, integration: plan.spec.provider, method_id: plan.spec.method_id, outcome: 'ok', trace_id: traceId, detail: { preview_sha256: stored.preview_sha256, expert: stored.expert, tool: stored.tool, ...named } });
  const sendArgs: CallArgs = { ...args, dry_run: false };
  // The intent is recorded before the write leaves and the outcome after (the `call` entry of the
  // same trace id): a crash in between leaves "attempted, outcome unknown" in the log, never nothing.
  const attempted: AuditInput = {
    tenant, action: 'call.attempted', actor, integration: plan.spec.provider, method_id: plan.spec.method_id, outcome: 'pending', trace_id: traceId,
    detail: { expert: stored.expert, tool: stored.tool, ...named, ...(sendArgs.idempotency_key !== undefined ? { idempotency_key: sendArgs.idempotency_key } : {}) },
  };
  const send = async (): Promise<IntegrationResult> => {
    try {
      await parts.store.appendAudit(attempted);
    } catch {
      return errorResult('INTERNAL_ERROR', 'the attempt could not be recorded in the audit log, so nothing was sent', emptyMeta('botc', 'confirmation', elapsed(started)), { retriable: true });
    }
    return parts.executor.invoke({ ...invocation, args: sendArgs, record });
  };
  // A write with an idempotency key is sent at most once per key: its result is stored, and a
  // later call or confirmation with the same key replays it instead of sending again.
  const key = sendArgs.idempotency_key;
  const result = key === undefined ? await send() : await parts.gate.run(keyedCall(tenant, { ...sendArgs, idempotency_key: key }, started), send);
  return audited(parts.store, result, { tenant, action: 'call', actor, integration: plan.spec.provider, method_id: plan.spec.method_id, outcome: outcomeOf(result), trace_id: traceId, detail: record.detail });
}

function sameJson(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}
