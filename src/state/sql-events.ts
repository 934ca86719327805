import {
  EVENT_VALUE_MAX, eventPayloadJson, newEventId, proposingAutomations, type AutomationClaim, type EventFilter, type EventInput, type StoredEvent,
} from './events.ts';

/** One SQL connection or transaction (sql-store.ts SqlConnection; restated so the two files do not import each other). */
interface SqlConnection {
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
  run(sql: string, params?: unknown[]): Promise<number>;
}

/** The events, automation claims and checkpoints of a SQL store (the tables are in sql-store.ts SCHEMA). */
export class SqlAutomationState {
  constructor(private readonly db: SqlConnection) {}

  async listEvents(filter: EventFilter): Promise<StoredEvent[]> {
    const where = ['seq > ?'];
    const params: unknown[] = [filter.after];
    if (filter.type !== undefined) {
      where.push('type = ?');
      params.push(filter.type);
    }
    if (filter.tenant !== undefined) {
      where.push('tenant = ?');
      params.push(filter.tenant);
    }
    const limit = Math.max(1, Math.min(filter.limit ?? 500, 10_000));
    const rows = await this.db.all<EventRow>(`SELECT * FROM botc_event WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${limit}`, params);
    return rows.map(toEvent);
  }

  async claim(automation: string, eventId: string, tenant: string, now: number): Promise<boolean> {
    // The primary key (automation, event_id) makes the insert the claim: exactly one wins, ever.
    const inserted = await this.db.run(
      "INSERT INTO botc_automation_claim (automation, event_id, tenant, claimed_at, outcome) VALUES (?, ?, ?, ?, 'claimed') ON CONFLICT DO NOTHING",
      [automation, eventId, tenant, now],
    );
    return inserted === 1;
  }

  async settle(automation: string, eventId: string, outcome: string, confirmationId: string | null): Promise<void> {
    await this.db.run('UPDATE botc_automation_claim SET outcome = ?, confirmation_id = ? WHERE automation = ? AND event_id = ?', [outcome, confirmationId, automation, eventId]);
  }

  async claims(automation?: string): Promise<AutomationClaim[]> {
    const rows = automation === undefined
      ? await this.db.all<AutomationClaim>('SELECT * FROM botc_automation_claim ORDER BY claimed_at, automation, event_id')
      : await this.db.all<AutomationClaim>('SELECT * FROM botc_automation_claim WHERE automation = ? ORDER BY claimed_at, event_id', [automation]);
    return rows.map((r) => ({ ...r, claimed_at: Number(r.claimed_at), confirmation_id: r.confirmation_id ?? null }));
  }

  async checkpoint(automation: string): Promise<number> {
    const [row] = await this.db.all<{ seq: number }>('SELECT seq FROM botc_automation_checkpoint WHERE automation = ?', [automation]);
    return row ? Number(row.seq) : 0;
  }

  async advance(automation: string, seq: number): Promise<void> {
    await this.db.run(
      `INSERT INTO botc_automation_checkpoint (automation, seq) VALUES (?, ?)
       ON CONFLICT (automation) DO UPDATE SET seq = excluded.seq WHERE botc_automation_checkpoint.seq < excluded.seq`,
      [automation, seq],
    );
  }
}

/**
 * Appends an event inside a transaction. Its seq comes from the one-row counter, whose update
 * locks the row until the transaction ends: events commit in seq order, with no gaps, so a
 * reader that has seen seq N has seen every event before it.
 */
export async function insertEvent(tx: SqlConnection, event: EventInput, now: number): Promise<StoredEvent> {
  const payloadJson = eventPayloadJson(event.payload);
  await tx.run('INSERT INTO botc_event_head (id, seq) VALUES (1, 0) ON CONFLICT DO NOTHING');
  const [head] = await tx.all<{ seq: number }>('UPDATE botc_event_head SET seq = seq + 1 WHERE id = 1 RETURNING seq');
  const stored: StoredEvent = { ...event, subject: event.subject.slice(0, EVENT_VALUE_MAX), payload: JSON.parse(payloadJson) as StoredEvent['payload'], id: newEventId(), seq: Number(head!.seq), created_at: now };
  await tx.run(
    'INSERT INTO botc_event (seq, id, tenant, type, subject, payload_json, caused_by_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [stored.seq, stored.id, event.tenant, event.type, stored.subject, payloadJson, event.caused_by === null ? null : JSON.stringify(event.caused_by), now],
  );
  return stored;
}

type EventRow = { seq: number; id: string; tenant: string; type: StoredEvent['type']; subject: string; payload_json: string; caused_by_json: string | null; created_at: number };

function toEvent(row: EventRow): StoredEvent {
  return {
    seq: Number(row.seq),
    id: row.id,
    tenant: row.tenant,
    type: row.type,
    subject: row.subject,
    payload: JSON.parse(row.payload_json) as StoredEvent['payload'],
    caused_by: row.caused_by_json === null ? null : (JSON.parse(row.caused_by_json) as StoredEvent['caused_by']),
    created_at: Number(row.created_at),
  };
}

/**
 * The automation chain stored with a new confirmation: the one given, else the one of the
 * automation proposing in this async context (events.ts), else none.
 */
export function chainJson(given: string[] | null | undefined): string | null {
  const chain = given ?? proposingAutomations();
  return chain === null || chain.length === 0 ? null : JSON.stringify(chain);
}
