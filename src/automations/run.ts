import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle } from '../bundle/format.ts';
import type { IntegrationResult } from '../integration/types.ts';
import type { ToolCall } from '../runtime/runtime.ts';
import { Validators } from '../runtime/validators.ts';
import { proposingFor, type StoredEvent } from '../state/events.ts';
import type { StateStore } from '../state/types.ts';
import { AUTOMATIONS_DIR, automationSchema, proposalProblem, type Automation } from './proposal.ts';

/** An automation file as `botc automations run` reads it: its name (the file name without `.json`) and content, or why it cannot run. */
export type LoadedAutomation = { name: string; automation: Automation } | { name: string; problem: string };

/**
 * Reads `automations/*.json` of the workspace at `root`, sorted by name. A file that does not
 * parse or match the automation format is returned with its problem, never run: `botc check`
 * reports it at its place.
 */
export function loadAutomations(root: string): LoadedAutomation[] {
  let names: string[];
  try {
    names = readdirSync(path.join(root, AUTOMATIONS_DIR)).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  return names.map((file) => {
    const name = file.slice(0, -'.json'.length);
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(path.join(root, AUTOMATIONS_DIR, file), 'utf8'));
    } catch {
      return { name, problem: `${AUTOMATIONS_DIR}/${file} is not valid JSON (botc check shows where)` };
    }
    const parsed = automationSchema.safeParse(value);
    if (!parsed.success) return { name, problem: `${AUTOMATIONS_DIR}/${file} is not a valid automation (botc check shows where)` };
    return { name, automation: parsed.data };
  });
}

/** What proposes a write: the runtime of the automation's bot (`Runtime` satisfies it). */
export interface Proposer {
  readonly bundle: Bundle;
  callTool(call: ToolCall): Promise<IntegrationResult>;
}

/** One line of `botc automations run`'s report: what one automation did with one event, or why it did not run. */
export interface AutomationReport {
  automation: string;
  /**
   * `proposed` (a pending confirmation was created: `confirmation_id`), `failed` (the proposal
   * call failed: `code`, `message`; the event is not tried again), `already_handled` (another
   * run claimed this event first), `caused_by_itself` (the event stems from this automation's
   * own proposal: ignored so that automations cannot loop), `invalid` (the automation cannot
   * run: `message`; its events wait, unclaimed).
   */
  outcome: 'proposed' | 'failed' | 'already_handled' | 'caused_by_itself' | 'invalid';
  event_id?: string;
  event_type?: string;
  tenant?: string;
  confirmation_id?: string;
  code?: string;
  message?: string;
}

export interface AutomationRunOptions {
  store: StateStore;
  automations: readonly LoadedAutomation[];
  /** The runtime of each bot that automations propose through, by bot id. */
  proposers: ReadonlyMap<string, Proposer>;
  /** Only events of this tenant. */
  tenant?: string;
  /** Read every event again from the start instead of after each automation's checkpoint; handled events stay handled. */
  replay?: boolean;
  /** Events read per query. Default 200. */
  pageSize?: number;
  now?: () => number;
}

/**
 * One pass of every automation over the events after its checkpoint. For each matching event
 * (its type is the automation's `on`, its payload has every `filter` field equal):
 *
 * 1. an event whose cause names this automation is ignored (`caused_by_itself`): a chain of
 *    automations cannot loop;
 * 2. the (automation, event id) pair is claimed in the store, insert-if-absent: across any
 *    number of processes exactly one claims it, and a claimed pair is never proposed again, so
 *    replaying events is safe (a crash after the claim loses that one proposal, never doubles it);
 * 3. the write is proposed through the bot's runtime as an ordinary tool call without `dry_run`,
 *    which previews the request with `dry_run` and stores a pending confirmation for the
 *    automation's `approver`. Nothing here confirms: only a person does (`botc confirm approve`).
 *
 * The proposal is checked against the bundle again first: a method that is not an outbound
 * write (changed since the build) is refused and nothing is called. Every proposal is audited
 * (`automation.proposed` / `automation.failed`, actor `automation:<name>`). Never throws for a
 * failed proposal; store failures propagate.
 */
export async function runAutomations(options: AutomationRunOptions): Promise<AutomationReport[]> {
  const now = options.now ?? Date.now;
  const validators = new Validators();
  const reports: AutomationReport[] = [];
  for (const loaded of options.automations) {
    if ('problem' in loaded) {
      reports.push({ automation: loaded.name, outcome: 'invalid', message: loaded.problem });
      continue;
    }
    const { name, automation } = loaded;
    const proposer = options.proposers.get(automation.propose.bot);
    const problem = proposer
      ? proposalProblem(automation.propose, proposer.bundle, validators)?.message
      : `no built bundle of bot \`${automation.propose.bot}\` (run botc build)`;
    if (problem !== undefined || !proposer) {
      reports.push({ automation: name, outcome: 'invalid', message: problem ?? 'no runtime' });
      continue;
    }
    // A run limited to one tenant keeps a checkpoint of its own, so a run over every tenant
    // still reads the other tenants' events.
    const checkpoint = options.tenant === undefined ? name : `${name}@tenant:${options.tenant}`;
    let after = options.replay ? 0 : await options.store.getAutomationCheckpoint(checkpoint);
    for (;;) {
      const events = await options.store.listEvents({ after, type: automation.on, limit: options.pageSize ?? 200, ...(options.tenant !== undefined ? { tenant: options.tenant } : {}) });
      if (events.length === 0) break;
      for (const event of events) {
        const report = await handle(options.store, name, automation, proposer, event, now);
        if (report) reports.push(report);
        after = event.seq;
      }
      await options.store.advanceAutomationCheckpoint(checkpoint, after);
    }
  }
  return reports;
}

/** True when every filter field equals the payload's field of the same name. */
export function matchesFilter(filter: Automation['filter'], payload: StoredEvent['payload']): boolean {
  return Object.entries(filter).every(([key, value]) => Object.hasOwn(payload, key) && payload[key] === value);
}

async function handle(store: StateStore, name: string, automation: Automation, proposer: Proposer, event: StoredEvent, now: () => number): Promise<AutomationReport | undefined> {
  if (!matchesFilter(automation.filter, event.payload)) return undefined;
  const base = { automation: name, event_id: event.id, event_type: event.type, tenant: event.tenant };
  const chain = event.caused_by?.automations ?? [];
  if (chain.includes(name)) return { ...base, outcome: 'caused_by_itself' };
  if (!(await store.claimAutomationEvent(name, event.id, event.tenant, now()))) return { ...base, outcome: 'already_handled' };
  const { propose } = automation;
  const traceId = randomUUID();
  const call: ToolCall = {
    expert: propose.expert,
    tool: propose.tool,
    op: 'call',
    // No dry_run, no idempotency key: the runtime's ordinary path for an outbound write, which
    // previews it and stores a confirmation instead of sending it.
    args: { method_id: propose.method_id, params: structuredClone(propose.params) },
    tenant: event.tenant,
    trace_id: traceId,
    ...(automation.approver !== undefined ? { approver: automation.approver } : {}),
  };
  // The confirmation the call creates records this chain, so its execution does not trigger it again.
  const result = await proposingFor([...chain, name], () => proposer.callTool(call));
  const confirmation = !result.ok && result.error.code === 'CONFIRMATION_REQUIRED' ? (result.meta['confirmation'] as { id?: unknown } | undefined) : undefined;
  const confirmationId = typeof confirmation?.id === 'string' ? confirmation.id : null;
  const report: AutomationReport = confirmationId !== null
    ? { ...base, outcome: 'proposed', confirmation_id: confirmationId }
    : { ...base, outcome: 'failed', code: result.ok ? 'INTERNAL_ERROR' : result.error.code, message: result.ok ? 'the call ran instead of proposing a write; nothing was recorded as proposed' : result.error.message };
  await store.settleAutomationEvent(name, event.id, report.outcome === 'proposed' ? 'proposed' : report.code!, confirmationId);
  await store.appendAudit({
    tenant: event.tenant,
    action: report.outcome === 'proposed' ? 'automation.proposed' : 'automation.failed',
    actor: `automation:${name}`,
    integration: propose.method_id.split('.')[0] ?? null,
    method_id: propose.method_id,
    outcome: report.outcome === 'proposed' ? 'pending' : report.code!,
    trace_id: traceId,
    detail: { automation: name, event_id: event.id, event_type: event.type, event_subject: event.subject, confirmation_id: confirmationId, caused_by: event.caused_by },
  });
  return report;
}
