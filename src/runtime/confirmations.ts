// Over 300 lines: the whole life of a confirmation (propose, decide, reject, show) reads in one place.
import { randomBytes, randomUUID } from 'node:crypto';
import { canonicalJson, sha256 } from '../bundle/canonical.ts';
import type { Bundle } from '../bundle/format.ts';
import type { ErrorCode, IntegrationResult, ResultMeta } from '../integration/types.ts';
import { ANY_APPROVER, confirmationStatus, type Confirmation, type ConfirmationStatus, type StateStore, type StoredConfirmation } from '../state/types.ts';
import { boundDecision } from './envelope-bounds.ts';
import { elapsed, type Invocation } from './executor.ts';
import type { CallArgs } from './params.ts';
import { DEFAULT_CONFIRMATION_TTL_MS, type RuntimeParts } from './parts.ts';
import { emptyMeta, errorResult, okResult } from './results.ts';

/**
 * A new confirmation's secret token and its public id. The token authorizes a host to confirm
 * (only its sha256 is stored); the id (`conf_` and 32 hex digits) names the confirmation to
 * people and tools with access to the store, and authorizes nothing by itself.
 */
export function newConfirmationNames(): { token: string; id: string } {
  // A prefix names what the token is, and keeps it from starting with `-` on a command line.
  return { token: `botc_confirm_${randomBytes(32).toString('base64url')}`, id: `conf_${randomBytes(16).toString('hex')}` };
}

/** The longest approver name a call may carry. */
const APPROVER_MAX = 200;

/**
 * Who must approve a write that `approver` (the call's `approver`, maybe absent) proposes, or why
 * the call cannot name it. A call names one person; "any person of the tenant" is only ever the
 * deployment's setting (`anyApprover`), never something a call can ask for: `*`, a name holding
 * `*`, blank or control characters is refused, and without a named approver the write needs the
 * deployment setting.
 */
export function approverFor(approver: unknown, anyApprover: boolean): { approver: string } | { problem: string } {
  if (approver === undefined) {
    if (anyApprover) return { approver: ANY_APPROVER };
    return { problem: 'an outbound write needs the person who must approve it: name them in the call\'s `approver` (this deployment does not let any person approve)' };
  }
  if (typeof approver !== 'string' || approver.length === 0 || approver.length > APPROVER_MAX) {
    return { problem: `\`approver\` must name one person in 1 to ${APPROVER_MAX} characters` };
  }
  if (approver.includes(ANY_APPROVER)) {
    return { problem: '`approver` names one person; "any person may approve" is a deployment setting (RuntimeOptions.any_approver), not a call argument' };
  }
  if (approver.trim() !== approver || /[\u0000-\u001f\u007f-\u009f]/.test(approver)) {
    return { problem: '`approver` must not have surrounding blanks or control characters' };
  }
  return { approver };
}

/**
 * Why a confirmation may not run with this bundle, or undefined: a confirmation runs only
 * through the bot and the exact bundle (digest) that proposed it, so a token cannot be carried
 * to another bot whose experts and tools happen to have the same names, nor to a rebuilt bundle
 * whose rules may differ from the ones the person saw.
 */
export function bindingProblem(stored: Confirmation, bundle: Bundle): { code: ErrorCode; message: string } | undefined {
  if (stored.bot === '' || stored.bundle_digest === '') {
    return { code: 'CONFLICT', message: 'the confirmation records no bundle (it predates bundle binding); propose the write again' };
  }
  if (stored.bot !== bundle.bot.id) {
    return { code: 'AUTH_FORBIDDEN', message: `the confirmation was proposed through bot \`${stored.bot}\`; only that bot's bundle may confirm it` };
  }
  if (stored.bundle_digest !== bundle.digest) {
    const where = stored.bundle_path ? ` (${stored.bundle_path})` : '';
    return {
      code: 'CONFLICT',
      message: `the confirmation was proposed with bundle ${stored.bundle_digest.slice(0, 12)}${where}, not this one (${bundle.digest.slice(0, 12)}); confirm it with that bundle or propose the write again`,
    };
  }
  return undefined;
}

/** What the audit entries of a confirmation name: which confirmation, through which bot and bundle. */
export function bindingDetail(stored: Pick<Confirmation, 'id' | 'bot' | 'bundle_digest'>): Record<string, unknown> {
  return { confirmation_id: stored.id || null, bot: stored.bot || null, bundle_digest: stored.bundle_digest || null };
}

/** A public confirmation id: `conf_` and 32 lowercase hex digits. */
export const CONFIRMATION_ID = /^conf_[0-9a-f]{32}$/;

/**
 * What a person is shown of a confirmation (`botc confirm list`, decisions by id): never the
 * token nor its hash. Times are ISO 8601 in UTC; `preview` is null for confirmations stored
 * before previews were kept.
 */
export interface ConfirmationView {
  id: string;
  status: ConfirmationStatus;
  tenant: string;
  bot: string;
  expert: string;
  tool: string;
  method: string;
  approver: string;
  expires_at: string;
  created_at: string;
  preview: unknown;
  preview_sha256: string;
  bundle_digest: string;
  bundle_path: string | null;
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
}

/** A stored confirmation as a person may see it at time `now` (ms since the epoch). */
export function confirmationView(row: StoredConfirmation, now: number): ConfirmationView {
  return {
    id: row.id,
    status: confirmationStatus(row, now),
    tenant: row.tenant,
    bot: row.bot,
    expert: row.expert,
    tool: row.tool,
    method: row.method_id,
    approver: row.approver,
    expires_at: new Date(row.expires_at).toISOString(),
    created_at: new Date(row.created_at).toISOString(),
    preview: row.preview_json ? (JSON.parse(row.preview_json) as unknown) : null,
    preview_sha256: row.preview_sha256,
    bundle_digest: row.bundle_digest,
    bundle_path: row.bundle_path,
    decided_by: row.decided_by,
    decided_at: row.used_at === null ? null : new Date(row.used_at).toISOString(),
    reason: row.reason,
  };
}

/**
 * Why a confirmation that was already decided cannot be decided again: CONFLICT (a state
 * conflict, not a request for confirmation: asking the person again would not help), with
 * `meta.confirmation = {id, status, decided_by, decided_at}` so a host can tell "already sent"
 * and "refused by a person" apart. Undefined while it is undecided.
 */
export function decidedProblem(row: StoredConfirmation): { code: ErrorCode; message: string; confirmation: Record<string, unknown> } | undefined {
  if (row.used_at === null && row.status === 'pending') return undefined;
  const by = row.decided_by ? ` by ${row.decided_by}` : '';
  const at = row.used_at === null ? '' : ` at ${new Date(row.used_at).toISOString()}`;
  const name = row.id ? `confirmation ${row.id}` : 'the confirmation';
  const message = row.status === 'rejected'
    ? `${name} was rejected${by}${at}${row.reason ? ` (${row.reason})` : ''}; nothing was sent, and it cannot be used: propose the write again`
    : `${name} was already used: approved${by}${at} and sent (its outcome is in the audit log); a confirmation runs once`;
  return {
    code: 'CONFLICT',
    message,
    confirmation: { id: row.id || null, status: row.status, decided_by: row.decided_by, decided_at: row.used_at === null ? null : new Date(row.used_at).toISOString() },
  };
}

/** Who refused decision is recorded against, and about which confirmation. */
interface DecisionRecord {
  tenant: string;
  actor: string;
  trace_id: string;
  method_id: string | null;
  decision: 'approve' | 'reject';
  detail: Record<string, unknown>;
}

/** A refused decision: audited (`confirmation.rejected`, the code as outcome), then returned as an error result. */
async function refusedDecision(store: StateStore, record: DecisionRecord, code: ErrorCode, message: string, confirmation?: Record<string, unknown>): Promise<IntegrationResult> {
  const meta = emptyMeta('botc', 'confirmation');
  if (confirmation) meta['confirmation'] = confirmation;
  await store.appendAudit({
    tenant: record.tenant, action: 'confirmation.rejected', actor: record.actor, integration: record.method_id?.split('.')[0] ?? null, method_id: record.method_id,
    outcome: code, trace_id: record.trace_id, detail: { message, decision: record.decision, ...record.detail },
  });
  return errorResult(code, message, meta);
}

/**
 * Before `botc confirm approve <id>` loads a runtime: the bundle file the confirmation recorded,
 * or the audited refusal when there is none to load — an unknown id (NOT_FOUND), another
 * tenant's (AUTH_FORBIDDEN), one already decided (CONFLICT), one proposed without a bundle file
 * or whose bundle file is gone or no longer has the recorded digest (CONFLICT: a rebuilt bundle
 * may follow other rules than the ones the person saw). The runtime loaded from that file then
 * checks everything again (`Runtime.confirmById`).
 */
export async function bundleToApprove(
  store: StateStore,
  input: { id: string; tenant?: string; approver: string; trace_id?: string },
  readDigest: (bundlePath: string) => string,
): Promise<{ bundle_path: string } | { refused: IntegrationResult }> {
  const { request, problem } = boundDecision(input);
  const record: DecisionRecord = { tenant: request.tenant ?? 'default', actor: `user:${request.approver}`, trace_id: request.trace_id ?? randomUUID(), method_id: null, decision: 'approve', detail: { confirmation_id: request.id || null } };
  const refuse = async (code: ErrorCode, message: string, confirmation?: Record<string, unknown>) => ({ refused: await refusedDecision(store, record, code, message, confirmation) });
  if (problem) return refuse('VALIDATION_FAILED', problem);
  const stored = CONFIRMATION_ID.test(request.id) ? await store.getConfirmationById(request.id) : undefined;
  if (!stored) return refuse('NOT_FOUND', `no confirmation has id ${request.id} (ids look like conf_ and 32 hex digits; \`botc confirm list\` shows them)`);
  if (stored.tenant !== record.tenant) return refuse('AUTH_FORBIDDEN', 'the confirmation belongs to another tenant');
  record.method_id = stored.method_id;
  record.detail = bindingDetail(stored);
  const decided = decidedProblem(stored);
  if (decided) return refuse(decided.code, decided.message, decided.confirmation);
  if (stored.bundle_path === null || stored.bundle_digest === '') {
    return refuse('CONFLICT', 'the confirmation records no bundle file to run it with (it was proposed by a runtime given a bundle object, or before bundles were recorded); confirm it with its token on the host that proposed it, or propose the write again');
  }
  let digest: string;
  try {
    digest = readDigest(stored.bundle_path);
  } catch {
    return refuse('CONFLICT', `the bundle that proposed the confirmation (${stored.bundle_path}) cannot be read any more; propose the write again`);
  }
  if (digest !== stored.bundle_digest) {
    return refuse('CONFLICT', `the bundle ${stored.bundle_path} changed since it proposed the confirmation (digest ${stored.bundle_digest.slice(0, 12)} then, ${digest.slice(0, 12)} now); its rules may differ from the ones the person saw: propose the write again`);
  }
  return { bundle_path: stored.bundle_path };
}

/** A person's rejection of a pending confirmation, by its public id. */
export interface RejectRequest {
  /** The confirmation's public id (`conf_…`). */
  id: string;
  /** The tenant the confirmation belongs to. Default `default`. */
  tenant?: string;
  /** The person rejecting it: the confirmation's approver (or anyone, when it names `*`). */
  approver: string;
  /** Why, recorded with the decision and in the audit log (at most 1024 characters). */
  reason?: string;
  trace_id?: string;
}

/**
 * Rejects a pending confirmation by id: afterwards it can never be used, by token or id. The
 * same person who may approve it may reject it; an unknown id is NOT_FOUND, another tenant's
 * AUTH_FORBIDDEN (as is a person other than its approver), one already decided or expired
 * CONFLICT (see `decidedProblem`). Every outcome is audited (`confirmation.declined` when it took effect,
 * `confirmation.rejected` for a refused attempt). Needs no bundle: nothing is sent.
 */
export async function rejectConfirmation(store: StateStore, input: RejectRequest, now: number): Promise<IntegrationResult> {
  const { request, problem } = boundDecision(input);
  const tenant = request.tenant ?? 'default';
  const traceId = request.trace_id ?? randomUUID();
  const actor = `user:${request.approver}`;
  let named: Record<string, unknown> = { confirmation_id: request.id || null };
  let methodId: string | null = null;
  const refuse = (code: ErrorCode, message: string, confirmation?: Record<string, unknown>) =>
    refusedDecision(store, { tenant, actor, trace_id: traceId, method_id: methodId, decision: 'reject', detail: named }, code, message, confirmation);
  if (problem) return refuse('VALIDATION_FAILED', problem);
  const person = approverFor(request.approver, false);
  if ('problem' in person) return refuse('VALIDATION_FAILED', person.problem.replace('`approver`', 'the rejecting approver'));
  const stored = CONFIRMATION_ID.test(request.id) ? await store.getConfirmationById(request.id) : undefined;
  if (!stored) return refuse('NOT_FOUND', `no confirmation has id ${request.id} (ids look like conf_ and 32 hex digits; \`botc confirm list\` shows them)`);
  if (stored.tenant !== tenant) return refuse('AUTH_FORBIDDEN', 'the confirmation belongs to another tenant');
  named = bindingDetail(stored);
  methodId = stored.method_id;
  const decided = decidedProblem(stored);
  if (decided) return refuse(decided.code, decided.message, decided.confirmation);
  const result = await store.rejectConfirmation(stored.token_sha256, tenant, request.approver, request.reason ?? null, now);
  if (!result.ok) {
    if (result.reason === 'used') {
      const again = await store.getConfirmationById(stored.id);
      const raced = again ? decidedProblem(again) : undefined;
      if (raced) return refuse(raced.code, raced.message, raced.confirmation);
    }
    const reasons = { unknown: 'no confirmation has this id', used: 'the confirmation was already decided', expired: 'the confirmation expired; there is nothing to reject', tenant: 'the confirmation belongs to another tenant', approver: `only ${stored.approver} may decide on this request` };
        const codes = { unknown: 'NOT_FOUND', used: 'CONFLICT', expired: 'CONFLICT', tenant: 'AUTH_FORBIDDEN', approver: 'AUTH_FORBIDDEN' } as const;
    return refuse(codes[result.reason], reasons[result.reason]);
  }
  await store.appendAudit({
    tenant, action: 'confirmation.declined', actor, integration: stored.method_id.split('.')[0] ?? null, method_id: stored.method_id, outcome: 'ok', trace_id: traceId,
    detail: { ...named, expert: stored.expert, tool: stored.tool, reason: request.reason ?? null },
  });
  const after = (await store.getConfirmationById(stored.id)) ?? stored;
  return okResult(confirmationView(after, now), emptyMeta('botc', 'confirmation'));
}

/**
 * An outbound write proposed by a tool call: previewed with `dry_run`, stored as a pending
 * confirmation bound to the approver, the bot and the bundle digest, audited
 * (`confirmation.created`), and answered with CONFIRMATION_REQUIRED whose
 * `meta.confirmation` holds the token, the public id and the preview a person must see.
 * Nothing is sent.
 */
export async function proposeWrite(parts: RuntimeParts, invocation: Invocation, call: { expert: string; tool: string; approver?: string }): Promise<IntegrationResult> {
  const { plan, args, tenant, traceId, started } = invocation;
  const who = approverFor(call.approver, parts.options.any_approver === true);
  if ('problem' in who) return errorResult('VALIDATION_FAILED', who.problem, emptyMeta('botc', `tool:${call.tool}`, elapsed(started)));
  const approver = who.approver;
  const preview = await parts.executor.invoke({ ...invocation, args: { ...args, dry_run: true } });
  if (!preview.ok) return preview;
  const { token, id } = newConfirmationNames();
  const previewJson = canonicalJson(preview.data);
  const previewSha = sha256(previewJson);
  const expiresAt = parts.now() + (parts.options.confirmation_ttl_ms ?? DEFAULT_CONFIRMATION_TTL_MS);
  const binding = { id, bot: parts.bundle.bot.id, bundle_digest: parts.bundle.digest };
  await parts.store.createConfirmation({
    token_sha256: sha256(token),
    ...binding,
    bundle_path: parts.bundlePath,
    tenant,
    approver,
    expires_at: expiresAt,
    preview_sha256: previewSha,
    expert: call.expert,
    tool: call.tool,
    method_id: plan.spec.method_id,
    call_json: canonicalJson(storedCall(args)),
    preview_json: previewJson,
    created_at: parts.now(),
  });
  await parts.store.appendAudit({
    tenant,
    action: 'confirmation.created',
    actor: `expert:${call.expert}`,
    integration: plan.spec.provider,
    method_id: plan.spec.method_id,
    outcome: 'pending',
    trace_id: traceId,
    detail: { preview_sha256: previewSha, approver, expires_at: new Date(expiresAt).toISOString(), ...bindingDetail(binding), bundle_path: parts.bundlePath },
  });
  const meta: ResultMeta = { ...preview.meta, latency_ms: elapsed(started) };
  meta['confirmation'] = {
    id, token, approver, expires_at: new Date(expiresAt).toISOString(), preview: preview.data, preview_sha256: previewSha, bot: binding.bot, bundle_digest: binding.bundle_digest,
  };
  return errorResult(
    'CONFIRMATION_REQUIRED',
    `${plan.spec.method_id} writes to ${plan.spec.provider}: show the preview to ${approver === ANY_APPROVER ? 'a person' : approver} and confirm it before it is sent`,
    meta,
  );
}

/** What a confirmation remembers of a call: everything needed to send it later, unchanged. */
function storedCall(args: CallArgs): Omit<CallArgs, 'method_id' | 'dry_run'> {
  const out: Omit<CallArgs, 'method_id' | 'dry_run'> = { params: args.params };
  if (args.cursor !== undefined) out.cursor = args.cursor;
  if (args.idempotency_key !== undefined) out.idempotency_key = args.idempotency_key;
  return out;
}
