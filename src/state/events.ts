import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/**
 * The internal events the store records in the same transaction as the state change they
 * report: a person approved an imported record (`review.approved`), a scheduled sync run
 * committed its pages (`sync.completed`), a verified webhook delivery was queued for review
 * (`webhook.received`), a person approved a confirmation and its write is being sent
 * (`confirmation.executed`). Automations react to them (docs/oauth-and-automations.md).
 */
export const EVENT_TYPES = ['review.approved', 'sync.completed', 'webhook.received', 'confirmation.executed'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A payload value: events carry small flat facts (ids, names, counts), never imported content. */
export type EventValue = string | number | boolean | null;

/**
 * What caused an event besides the state change itself: the confirmation whose execution it
 * reports, and the automations whose proposals led to it, oldest first. An automation never
 * reacts to an event whose `automations` names it, so a chain of automations cannot loop.
 */
export interface EventCause {
  confirmation_id: string | null;
  automations: string[];
}

/** An event as a store method records it. */
export interface EventInput {
  tenant: string;
  type: EventType;
  /** What the event is about: a review id, a confirmation id, `<provider>:<delivery id>`, `<provider>:<stream>:<slot>`. */
  subject: string;
  payload: Record<string, EventValue>;
  caused_by: EventCause | null;
}

/** A recorded event: append-only, numbered by `seq` in the order the store committed them (1, 2, ...). */
export interface StoredEvent extends EventInput {
  /** The public id (`evt_` and 32 hex digits), the key of at-most-once handling. */
  id: string;
  seq: number;
  /** When it was recorded, ms since the epoch. */
  created_at: number;
}

/** Which events to read: those after `after` (a seq), oldest first, at most `limit` (default 500). */
export interface EventFilter {
  after: number;
  type?: EventType;
  tenant?: string;
  limit?: number;
}

/** The longest string a payload field keeps (UTF-16 units); a longer one is cut, so a state change never fails for its event. */
export const EVENT_VALUE_MAX = 512;

/** A new event id. */
export function newEventId(): string {
  return `evt_${randomBytes(16).toString('hex')}`;
}

/**
 * The payload as stored (JSON text): flat facts only, each string cut to EVENT_VALUE_MAX
 * (record keys and delivery ids come from providers and may be long). A nested value is a bug
 * of the caller and throws.
 */
export function eventPayloadJson(payload: Record<string, EventValue>): string {
  const out: Record<string, EventValue> = {};
  for (const [key, value] of Object.entries(payload).slice(0, 32)) {
    if (value !== null && typeof value === 'object') throw new Error(`event payload field \`${key}\` must be a string, number, boolean or null`);
    out[key.slice(0, 64)] = typeof value === 'string' && value.length > EVENT_VALUE_MAX ? value.slice(0, EVENT_VALUE_MAX) : value;
  }
  return JSON.stringify(out);
}

/**
 * The automations on whose behalf the current async context proposes writes. The automation
 * runner sets it around the ordinary tool call that proposes a write, and the store records
 * it with the confirmation that call creates, in the same insert: the confirmation's later
 * `confirmation.executed` event then names those automations, and none of them reacts to it.
 * It can only add automations to a chain (so only withhold reactions), never grant anything.
 */
const proposing = new AsyncLocalStorage<readonly string[]>();

/** Runs `work` with `automations` as the chain recorded on every confirmation it creates. */
export function proposingFor<T>(automations: readonly string[], work: () => Promise<T>): Promise<T> {
  return proposing.run([...automations], work);
}

/** The automation chain of the current async context, or null outside an automation's proposal. */
export function proposingAutomations(): string[] | null {
  const chain = proposing.getStore();
  return chain === undefined ? null : [...chain];
}

/** The event that a confirmation's execution records. */
export function confirmationExecutedEvent(row: {
  id: string; tenant: string; bot: string; expert: string; tool: string; method_id: string; automation_chain?: string[] | null;
}, approver: string): EventInput {
  return {
    tenant: row.tenant,
    type: 'confirmation.executed',
    subject: row.id,
    payload: { confirmation_id: row.id, provider: row.method_id.split('.')[0] ?? '', method_id: row.method_id, bot: row.bot, expert: row.expert, tool: row.tool, approved_by: approver },
    caused_by: { confirmation_id: row.id || null, automations: row.automation_chain ?? [] },
  };
}

/** The event that a person's approval of an imported record records. */
export function reviewApprovedEvent(row: { id: string; tenant: string; provider: string; method_id: string; record_key: string; record_sha256: string; batch_id: string; decided_by: string | null }): EventInput {
  return {
    tenant: row.tenant,
    type: 'review.approved',
    subject: row.id,
    payload: { review_id: row.id, provider: row.provider, method_id: row.method_id, record_key: row.record_key, record_sha256: row.record_sha256, batch_id: row.batch_id, approved_by: row.decided_by },
    caused_by: null,
  };
}

/** One automation's handling of one event, claimed before anything is proposed. */
export interface AutomationClaim {
  automation: string;
  event_id: string;
  tenant: string;
  claimed_at: number;
  /** `claimed` until the proposal returns, then `proposed` (with the confirmation id) or the error code. */
  outcome: string;
  confirmation_id: string | null;
}
