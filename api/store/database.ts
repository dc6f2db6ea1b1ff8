import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The little of SQL the store needs, the same over PGlite (embedded) and node-postgres (a server). */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
}

export interface Database extends Queryable {
  /** Runs `fn` in one transaction: all of it commits, or none of it. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** `pglite` or `postgres`, for messages. */
  readonly kind: 'pglite' | 'postgres';
  close(): Promise<void>;
}

export interface StoreLocation {
  /** A PostgreSQL URL (DATABASE_URL); without it, PGlite under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
}

export function describeLocation(location: StoreLocation): string {
  return location.databaseUrl ? `PostgreSQL ${redactUrl(location.databaseUrl)}` : `PGlite ${pgliteDir(location.dataDir)}`;
}

export function pgliteDir(dataDir: string): string {
  return join(dataDir, 'store');
}

export async function openDatabase(location: StoreLocation): Promise<Database> {
  return location.databaseUrl ? openPostgres(location.databaseUrl) : openPglite(pgliteDir(location.dataDir));
}

async function openPostgres(url: string): Promise<Database> {
  const { Pool } = await import('pg');
  const pool = new Pool({ connectionString: url, max: 10 });
  await pool.query('SELECT 1');
  return {
    kind: 'postgres',
    query: async (sql, params) => (await pool.query(sql, params)).rows,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({ query: async (sql, params) => (await client.query(sql, params)).rows });
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

async function openPglite(dir: string): Promise<Database> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // PGlite is a database inside this process: a second process opening the same files would corrupt them.
  const lock = lockDirectory(dir);
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(dir);
    return {
      kind: 'pglite',
      query: async (sql, params) => (await db.query(sql, params)).rows as never,
      transaction: (fn) => db.transaction((tx) => fn({ query: async (sql, params) => (await tx.query(sql, params)).rows as never })),
      async close() {
        await db.close();
        lock.release();
      },
    };
  } catch (e) {
    lock.release();
    throw e;
  }
}

function lockDirectory(dir: string): { release(): void } {
  const file = join(dir, 'ops.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return { release: () => rmSync(file, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(file, 'utf8'));
      if (holder && holder !== process.pid && isAlive(holder)) {
        throw new Error(`the store ${dir} is in use by process ${holder} (ops server or ops up); stop it first, or use the server's API`);
      }
      rmSync(file, { force: true }); // left behind by a process that died
    }
  }
  throw new Error(`cannot lock the store ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
