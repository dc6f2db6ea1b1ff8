import type { CloudEvent } from '../../model/event-match';
import type { Database, Queryable } from './database';

/** An event an EventHook gave up on after its last attempt: kept until it is replayed or discarded. */
export interface ParkedEvent {
  id: string;
  hook: string;
  eventId: string;
  subject: string;
  event: CloudEvent;
  attempts: number;
  error: string;
  parkedAt: string;
}

interface Row {
  id: string;
  hook: string;
  event_id: string;
  subject: string;
  event: CloudEvent | string;
  attempts: number;
  error: string;
  parked_at: Date | string;
}

const COLUMNS = 'id::text AS id, hook, event_id, subject, event, attempts, error, parked_at';

export class ParkedEvents {
  constructor(private readonly db: Database) {}

  /** Parks the event; parking it again (a replay that failed) updates attempts and error. */
  async park(hook: string, event: CloudEvent, attempts: number, error: string): Promise<void> {
    await this.db.query(
      `INSERT INTO parked_events (hook, event_id, subject, event, attempts, error) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (hook, event_id) DO UPDATE SET attempts = EXCLUDED.attempts, error = EXCLUDED.error, parked_at = now()`,
      [hook, event.id, event.subject, JSON.stringify(event), attempts, error.slice(0, 2000)],
    );
  }

  async list(hook: string): Promise<ParkedEvent[]> {
    return (await this.db.query<Row>(`SELECT ${COLUMNS} FROM parked_events WHERE hook = $1 ORDER BY id`, [hook])).map(fromRow);
  }

  async get(hook: string, id: string): Promise<ParkedEvent | undefined> {
    if (!/^\d+$/.test(id)) return undefined;
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM parked_events WHERE hook = $1 AND id = $2`, [hook, id]);
    return row && fromRow(row);
  }

  async remove(hook: string, id: string): Promise<boolean> {
    if (!/^\d+$/.test(id)) return false;
    return (await this.db.query('DELETE FROM parked_events WHERE hook = $1 AND id = $2 RETURNING id', [hook, id])).length > 0;
  }

  async count(hook: string): Promise<number> {
    const [row] = await this.db.query<{ n: string }>('SELECT count(*)::text AS n FROM parked_events WHERE hook = $1', [hook]);
    return Number(row.n);
  }
}

/** Every event the hook parked, as the hook is deleted (in its transaction). */
export async function dropParkedEvents(tx: Queryable, hook: string): Promise<void> {
  await tx.query('DELETE FROM parked_events WHERE hook = $1', [hook]);
}

function fromRow(row: Row): ParkedEvent {
  return {
    id: String(row.id),
    hook: row.hook,
    eventId: row.event_id,
    subject: row.subject,
    event: typeof row.event === 'string' ? (JSON.parse(row.event) as CloudEvent) : row.event,
    attempts: row.attempts,
    error: row.error,
    parkedAt: new Date(row.parked_at).toISOString(),
  };
}
