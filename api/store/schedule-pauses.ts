import type { Database } from './database';

/**
 * Schedules an operator paused, with the note. Temporal keeps the pause only as long as it keeps the
 * schedule, and the schedule reconciler deletes and recreates it when its definition cannot be
 * planned for a while; this is what it is recreated paused from. A pause goes with its definition.
 */
export class SchedulePauses {
  constructor(private readonly db: Database) {}

  async pause(name: string, note: string): Promise<void> {
    await this.db.query(`INSERT INTO schedule_pauses (name, note) VALUES ($1, $2) ON CONFLICT (kind, name) DO UPDATE SET note = EXCLUDED.note`, [name, note]);
  }

  async unpause(name: string): Promise<void> {
    await this.db.query(`DELETE FROM schedule_pauses WHERE kind = 'Schedule' AND name = $1`, [name]);
  }

  /** The note of each paused Schedule, by name. */
  async all(): Promise<Map<string, string>> {
    const rows = await this.db.query<{ name: string; note: string }>(`SELECT name, note FROM schedule_pauses`);
    return new Map(rows.map((r) => [r.name, r.note]));
  }
}
