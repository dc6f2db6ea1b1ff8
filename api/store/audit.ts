import type { Database } from './database';

/** One mutating call, allowed or refused: who, what, when, and how it ended. */
export interface AuditEntry {
  id?: string;
  at?: string;
  /** The token's name; `anonymous` without a token, `invalid-token` with one that is not valid. */
  actor: string;
  role?: string;
  method: string;
  path: string;
  /** What was asked, such as `put hosts/web-1` or `start pipeline node-health`. */
  action: string;
  resource?: string;
  status: number;
  outcome: 'succeeded' | 'refused' | 'failed';
  message?: string;
  remote?: string;
}

export interface AuditQuery {
  actor?: string;
  outcome?: AuditEntry['outcome'];
  /** Entries with an id below this (the previous page's last id). */
  before?: number;
  limit: number;
}

interface Row {
  id: string;
  at: Date | string;
  actor: string;
  role: string | null;
  method: string;
  path: string;
  action: string;
  resource: string | null;
  status: number;
  outcome: AuditEntry['outcome'];
  message: string | null;
  remote: string | null;
}

export class AuditLog {
  /** Writes still in flight; a reader waits for them so it sees every call answered before it. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly db: Database,
    private readonly onError: (e: Error) => void,
  ) {}

  record(entry: AuditEntry): void {
    const write = this.db
      .query(
        `INSERT INTO audit_log (actor, role, method, path, action, resource, status, outcome, message, remote)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [entry.actor, entry.role ?? null, entry.method, entry.path, entry.action, entry.resource ?? null, entry.status, entry.outcome, entry.message ?? null, entry.remote ?? null],
      )
      .catch(this.onError)
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Newest first. */
  async list(query: AuditQuery): Promise<AuditEntry[]> {
    await this.flush();
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, value: unknown) => {
      params.push(value);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (query.actor) add('actor = ?', query.actor);
    if (query.outcome) add('outcome = ?', query.outcome);
    if (query.before) add('id < ?', query.before);
    params.push(query.limit);
    // Ordered by the column, not by the text alias (which sorts 9 above 43).
    const rows = await this.db.query<Row>(
      `SELECT id::text AS id, at, actor, role, method, path, action, resource, status, outcome, message, remote FROM audit_log
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY audit_log.id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      id: r.id,
      at: new Date(r.at).toISOString(),
      actor: r.actor,
      ...(r.role ? { role: r.role } : {}),
      method: r.method,
      path: r.path,
      action: r.action,
      ...(r.resource ? { resource: r.resource } : {}),
      status: Number(r.status),
      outcome: r.outcome,
      ...(r.message ? { message: r.message } : {}),
      ...(r.remote ? { remote: r.remote } : {}),
    }));
  }
}
