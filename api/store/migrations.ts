import type { Database } from './database';

/**
 * The store's schema, one version at a time. A released migration never changes; a change is a new
 * version. Each runs in its own transaction, so a failed one leaves the previous version in place.
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'definitions, API tokens, audit log, idempotency keys',
    statements: [
      `CREATE SEQUENCE resource_versions`,
      `CREATE TABLE definitions (
        kind text NOT NULL,
        name text NOT NULL,
        uid text NOT NULL,
        resource jsonb NOT NULL,
        labels jsonb NOT NULL DEFAULT '{}',
        resource_version bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (kind, name)
      )`,
      `CREATE TABLE api_tokens (
        id text PRIMARY KEY,
        name text NOT NULL,
        role text NOT NULL,
        secret_sha256 text NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`,
      // A name belongs to one active token; a revoked token's name can be given to its replacement.
      `CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL`,
      `CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        role text,
        method text NOT NULL,
        path text NOT NULL,
        action text NOT NULL,
        resource text,
        status integer NOT NULL,
        outcome text NOT NULL,
        message text,
        remote text
      )`,
      `CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC)`,
      `CREATE TABLE idempotency_keys (
        scope text NOT NULL,
        key text NOT NULL,
        run_id text NOT NULL,
        fingerprint text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, key)
      )`,
    ],
  },
  {
    version: 2,
    name: 'events EventHooks could not deliver',
    statements: [
      `CREATE TABLE parked_events (
        id bigserial PRIMARY KEY,
        hook text NOT NULL,
        event_id text NOT NULL,
        subject text NOT NULL,
        event jsonb NOT NULL,
        attempts integer NOT NULL,
        error text NOT NULL,
        parked_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (hook, event_id)
      )`,
    ],
  },
  {
    version: 3,
    name: 'paused schedules',
    statements: [
      // Keyed like definitions, so deleting the Schedule deletes its pause.
      `CREATE TABLE schedule_pauses (
        kind text NOT NULL DEFAULT 'Schedule' CHECK (kind = 'Schedule'),
        name text NOT NULL,
        note text NOT NULL,
        paused_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (kind, name),
        FOREIGN KEY (kind, name) REFERENCES definitions (kind, name) ON DELETE CASCADE
      )`,
    ],
  },
];

/** Any fixed number: every Ops server takes this lock so two starting at once migrate one after the other. */
const MIGRATION_LOCK = 7_246_001;

/** Brings the schema up to the newest version; returns the versions applied now. */
export async function migrate(db: Database, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const applied: number[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const existing = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (existing.length) return false;
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}
