// A throwaway PostgreSQL cluster from Debian's postgresql binaries, for tests of the server's store
// against a real PostgreSQL: initdb in a temp dir, postgres on a free loopback port, all as the
// `postgres` OS user (initdb refuses root).
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { canConnect, freePort, pollUntil, stopProcess, watchProcess } from '../../workers/embedded/processes';

const execFileAsync = promisify(execFile);
const HOST = '127.0.0.1';
const USER = 'ops';
const DEBIAN_PG = '/usr/lib/postgresql';

export interface Postgres {
  /** postgres://ops@127.0.0.1:PORT/DB */
  url(database?: string): string;
  /** Creates a fresh database, so each server under test starts empty. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** Debian 12's PostgreSQL 15, or whichever major version this Debian ships (OPS_PG_BIN overrides). */
export function postgresBin(): string {
  if (process.env.OPS_PG_BIN) return process.env.OPS_PG_BIN;
  const versions = existsSync(DEBIAN_PG) ? readdirSync(DEBIAN_PG).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  return join(DEBIAN_PG, versions.includes('15') ? '15' : (versions[0] ?? '15'), 'bin');
}

export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBin();
  if (!existsSync(join(bin, 'initdb'))) throw new Error(`${bin}/initdb not found: run "sh scripts/provision.sh test" (Debian's postgresql)`);
  const uid = Number((await execFileAsync('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await execFileAsync('id', ['-g', 'postgres'])).stdout.trim());
  const dir = await mkdtemp(join(tmpdir(), 'ops-pg-'));
  await chown(dir, uid, gid);
  const data = join(dir, 'data');
  const asPostgres = { uid, gid, env: { PATH: process.env.PATH, LANG: 'C.UTF-8', HOME: dir } };
  await execFileAsync(join(bin, 'initdb'), ['-D', data, '-U', USER, '-A', 'trust', '-E', 'UTF8', '--no-sync'], asPostgres);
  const port = await freePort(HOST);
  // Durability settings off: a test database that is thrown away needs speed, not crash safety.
  const args = ['-D', data, '-p', String(port), '-k', dir, '-c', `listen_addresses=${HOST}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const server = watchProcess(spawn(join(bin, 'postgres'), args, { ...asPostgres, stdio: ['ignore', 'pipe', 'pipe'] }));
  const url = (database = 'postgres') => `postgres://${USER}@${HOST}:${port}/${database}`;
  const stop = async () => {
    await stopProcess(server);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await pollUntil(`postgres ${HOST}:${port}`, () => canConnect(HOST, port), 30_000, server);
    await pollUntil(`postgres ${HOST}:${port} accepting queries`, () => query(url(), 'SELECT 1').then(() => true, () => false), 30_000, server);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    url,
    async createDatabase(name) {
      await query(url(), `CREATE DATABASE "${name}"`);
      return url(name);
    },
    stop,
  };
}

async function query(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
