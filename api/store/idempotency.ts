import type { Database } from './database';

export interface IdempotentClaim {
  runId: string;
  fingerprint: string;
  /** This request made the claim; otherwise an earlier request with the same key did. */
  claimed: boolean;
}

/**
 * Idempotency-Key → run id. The first request with a key claims it with the run id it is about to
 * start; a retry finds that claim and answers with the same run instead of starting another.
 */
export class IdempotencyKeys {
  constructor(private readonly db: Database) {}

  async claim(scope: string, key: string, runId: string, fingerprint: string): Promise<IdempotentClaim> {
    const inserted = await this.db.query(
      `INSERT INTO idempotency_keys (scope, key, run_id, fingerprint) VALUES ($1, $2, $3, $4) ON CONFLICT (scope, key) DO NOTHING RETURNING run_id`,
      [scope, key, runId, fingerprint],
    );
    if (inserted.length) return { runId, fingerprint, claimed: true };
    const [row] = await this.db.query<{ run_id: string; fingerprint: string }>('SELECT run_id, fingerprint FROM idempotency_keys WHERE scope = $1 AND key = $2', [scope, key]);
    return { runId: row.run_id, fingerprint: row.fingerprint, claimed: false };
  }
}
