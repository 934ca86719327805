import { createHash } from 'node:crypto';
import { canonicalJson } from '../bundle/canonical.ts';
import type { IntegrationResult } from '../integration/types.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Confirmation, StateStore } from '../state/types.ts';

/** A confirmation as the console shows it: never its token or the token's hash. */
export interface ConfirmationView {
  id: string;
  tenant: string;
  status: 'pending' | 'executed' | 'rejected' | 'expired';
  bot: string;
  expert: string;
  tool: string;
  method_id: string;
  approver: string;
  /** Who proposed the write (`expert:<name>`, from the audit entry that created it). */
  proposed_by: string;
  created_at: string;
  expires_at: string;
  bundle_path: string | null;
  bundle_digest: string;
  preview_sha256: string;
  /** The params, cursor and idempotency key of the call, as stored. */
  call: Record<string, unknown>;
  /** The person who approved or rejected it, and why, when the log says. */
  decided_by: string | null;
  reason: string | null;
}

/**
 * Loads a runtime for a bundle file over the given store; the console closes it after one
 * decision. The command line gives the workspace's credentials and provider settings.
 */
export type RuntimeFactory = (bundlePath: string, store: StateStore, tenant: string) => Promise<Runtime>;

/**
 * The confirmations of one tenant, pending first, then newest first. The store has no list of
 * confirmations, so they are found through the audit log (every confirmation is created with an
 * audited `confirmation.created` entry naming its public id) and read by id.
 */
export async function listConfirmations(store: StateStore, tenant: string, now = Date.now()): Promise<ConfirmationView[]> {
  const created = await store.listAudit({ tenant, action: 'confirmation.created' });
  const decisions = await decisionsOf(store, tenant);
  const seen = new Set<string>();
  const views: ConfirmationView[] = [];
  for (const entry of created) {
    const id = entry.detail['confirmation_id'];
    if (typeof id !== 'string' || seen.has(id)) continue;
    seen.add(id);
    const stored = await store.getConfirmationById(id);
    if (!stored || stored.tenant !== tenant) continue;
    views.push(view(stored, entry.actor, decisions.get(id), now));
  }
  const rank = (v: ConfirmationView) => (v.status === 'pending' ? 0 : 1);
  return views.sort((a, b) => rank(a) - rank(b) || b.created_at.localeCompare(a.created_at) || a.id.localeCompare(b.id));
}

/** One confirmation of the tenant by its public id; undefined for another tenant's, as for an unknown one. */
export async function getConfirmation(store: StateStore, tenant: string, id: string, now = Date.now()): Promise<ConfirmationView | undefined> {
  if (!/^conf_[0-9a-f]{32}$/.test(id)) return undefined;
  const stored = await store.getConfirmationById(id);
  if (!stored || stored.tenant !== tenant) return undefined;
  const created = (await store.listAudit({ tenant, action: 'confirmation.created' })).find((e) => e.detail['confirmation_id'] === id);
  return view(stored, created?.actor ?? 'unknown', (await decisionsOf(store, tenant)).get(id), now);
}

/** What a person decides on a confirmation, and what came of it. */
export interface ConfirmationDecision {
  tenant: string;
  id: string;
  /** The signed-in person: the approver the runtime checks and records in the audit log. */
  person: string;
  decision: 'approve' | 'reject';
  reason?: string;
}

export type DecisionOutcome =
  | { ok: true; result: IntegrationResult | null }
  | { ok: false; status: 404 | 409; message: string; result?: IntegrationResult };

/** The runtime method that confirms by public id, when the runtime in use has it. */
interface ConfirmsById {
  confirmById(request: { id: string; tenant: string; approver: string; trace_id?: string }): Promise<IntegrationResult>;
  rejectById?(request: { id: string; tenant: string; approver: string; reason?: string }): Promise<IntegrationResult>;
}

/**
 * The one place the console approves or rejects a confirmation. Approving runs the write
 * through the runtime with the bundle the confirmation recorded, so every check of the token
 * path applies (same tenant and approver, unexpired, unused, same bundle digest, the request
 * previews identically) and the runtime audits it with the signed-in person as the actor.
 * Rejecting uses the confirmation up, so it can never be sent, and audits the reason.
 */
export async function decideConfirmation(store: StateStore, runtimeFor: RuntimeFactory, request: ConfirmationDecision): Promise<DecisionOutcome> {
  const stored = await store.getConfirmationById(request.id);
  if (!stored || stored.tenant !== request.tenant) return { ok: false, status: 404, message: 'no such confirmation in your tenant' };
  if (request.decision === 'reject') return reject(store, stored, request);
  return approve(store, runtimeFor, stored, request);
}

async function approve(store: StateStore, runtimeFor: RuntimeFactory, stored: Confirmation, request: ConfirmationDecision): Promise<DecisionOutcome> {
  if (!stored.bundle_path) return { ok: false, status: 409, message: 'the confirmation does not record the bundle file that proposed it; approve it with the token' };
  let runtime: Runtime;
  try {
    runtime = await runtimeFor(stored.bundle_path, byIdStore(store, stored), request.tenant);
  } catch (error) {
    // A bundle file removed or rebuilt with changed modules: nothing can be sent with it.
    return { ok: false, status: 409, message: `the bundle that proposed it cannot be loaded (${error instanceof Error ? error.message.slice(0, 200) : 'error'}); propose the write again` };
  }
  try {
    const byId = runtime as unknown as Partial<ConfirmsById>;
    const result = typeof byId.confirmById === 'function'
      ? await byId.confirmById({ id: stored.id, tenant: request.tenant, approver: request.person })
      : await runtime.confirm({ token: consoleToken(stored.id), tenant: request.tenant, approver: request.person });
    return result.ok ? { ok: true, result } : { ok: false, status: 409, message: result.error.message, result };
  } finally {
    await runtime.close();
  }
}

async function reject(store: StateStore, stored: Confirmation, request: ConfirmationDecision): Promise<DecisionOutcome> {
  const reason = (request.reason ?? '').trim().slice(0, 500);
  const use = await store.useConfirmation(stored.token_sha256, request.tenant, request.person, Date.now());
  const outcome = use.ok ? 'ok' : use.reason === 'approver' || use.reason === 'tenant' ? 'AUTH_FORBIDDEN' : 'CONFIRMATION_REQUIRED';
  await store.appendAudit({
    tenant: request.tenant,
    action: 'confirmation.rejected',
    actor: `user:${request.person}`,
    integration: stored.method_id.split('.')[0] ?? null,
    method_id: stored.method_id,
    outcome,
    trace_id: null,
    detail: { confirmation_id: stored.id, bot: stored.bot || null, bundle_digest: stored.bundle_digest || null, rejected_by_person: use.ok, reason },
  });
  if (use.ok) return { ok: true, result: null };
  const messages = { unknown: 'no such confirmation', used: 'the confirmation was already used', expired: 'the confirmation expired', tenant: 'no such confirmation in your tenant', approver: `only ${stored.approver} may decide on this request` };
  return { ok: false, status: 409, message: messages[use.reason] };
}

/**
 * The console holds a confirmation's public id, not its secret token. Until the runtime confirms
 * by id, the console hands it a stand-in token and a view of the store in which that stand-in
 * names this one confirmation: the runtime then runs its whole token path unchanged. The view
 * leaves the shared store open when the runtime closes.
 */
function byIdStore(store: StateStore, stored: Confirmation): StateStore {
  const standIn = sha256(consoleToken(stored.id));
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'close') return async () => {};
      if (property === 'getConfirmation') return (sha: string) => target.getConfirmation(sha === standIn ? stored.token_sha256 : sha);
      if (property === 'useConfirmation') {
        return (sha: string, tenant: string, approver: string, now: number) => target.useConfirmation(sha === standIn ? stored.token_sha256 : sha, tenant, approver, now);
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function consoleToken(id: string): string {
  return `botc_console_${id}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

interface Decision {
  by: string;
  reason: string | null;
  rejected: boolean;
}

/** Who used or rejected each confirmation of a tenant, from the audit log. */
async function decisionsOf(store: StateStore, tenant: string): Promise<Map<string, Decision>> {
  const out = new Map<string, Decision>();
  for (const entry of await store.listAudit({ tenant, action: 'confirmation.used' })) {
    const id = entry.detail['confirmation_id'];
    if (typeof id === 'string') out.set(id, { by: entry.actor.replace(/^user:/, ''), reason: null, rejected: false });
  }
  for (const entry of await store.listAudit({ tenant, action: 'confirmation.rejected' })) {
    const id = entry.detail['confirmation_id'];
    if (typeof id === 'string' && entry.detail['rejected_by_person'] === true) {
      out.set(id, { by: entry.actor.replace(/^user:/, ''), reason: typeof entry.detail['reason'] === 'string' ? entry.detail['reason'] : null, rejected: true });
    }
  }
  return out;
}

function view(stored: Confirmation & { used_at: number | null }, proposedBy: string, decision: Decision | undefined, now: number): ConfirmationView {
  const status = decision?.rejected ? 'rejected' : stored.used_at !== null ? 'executed' : stored.expires_at <= now ? 'expired' : 'pending';
  let call: Record<string, unknown> = {};
  try {
    call = JSON.parse(stored.call_json) as Record<string, unknown>;
  } catch {
    call = {};
  }
  return {
    id: stored.id,
    tenant: stored.tenant,
    status,
    bot: stored.bot,
    expert: stored.expert,
    tool: stored.tool,
    method_id: stored.method_id,
    approver: stored.approver,
    proposed_by: proposedBy,
    created_at: new Date(stored.created_at).toISOString(),
    expires_at: new Date(stored.expires_at).toISOString(),
    bundle_path: stored.bundle_path,
    bundle_digest: stored.bundle_digest,
    preview_sha256: stored.preview_sha256,
    call,
    decided_by: decision?.by ?? null,
    reason: decision?.reason ?? null,
  };
}

/** The canonical JSON sha256 of a preview, to tell whether a fresh preview is the one proposed. */
export function previewSha(data: unknown): string {
  return sha256(canonicalJson(data));
}
