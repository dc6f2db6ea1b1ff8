import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from './database';
import type { Role } from '../../model/roles';

export { ROLES, type Role } from '../../model/roles';

/** Who a request acts as: the token's name and role. */
export interface Principal {
  id: string;
  name: string;
  role: Role;
}

export interface TokenInfo extends Principal {
  createdBy: string;
  createdAt: string;
  revokedAt?: string;
}

/** The token is shown once; only the SHA-256 of its secret part is kept. */
export interface IssuedToken extends TokenInfo {
  token: string;
}

export class TokenNameTaken extends Error {
  override name = 'TokenNameTaken';
}

/** `ops_<id>_<secret>`: the id finds the row, the secret is compared in constant time. */
const TOKEN = /^ops_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

interface Row {
  id: string;
  name: string;
  role: Role;
  secret_sha256: string;
  created_by: string;
  created_at: Date | string;
  revoked_at: Date | string | null;
}

export class TokenStore {
  constructor(private readonly db: Database) {}

  async create(name: string, role: Role, createdBy: string): Promise<IssuedToken> {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const rows = await this.db.query<Row>(
      `INSERT INTO api_tokens (id, name, role, secret_sha256, created_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING RETURNING *`,
      [id, name, role, sha256(secret), createdBy],
    );
    if (!rows.length) throw new TokenNameTaken(`an active token named "${name}" exists; revoke it first, or choose another name`);
    return { ...info(rows[0]), token: `ops_${id}_${secret}` };
  }

  /** The principal of a valid, unrevoked token; undefined for anything else. */
  async verify(token: string): Promise<Principal | undefined> {
    const m = TOKEN.exec(token);
    if (!m) return undefined;
    const [row] = await this.db.query<Row>('SELECT * FROM api_tokens WHERE id = $1 AND revoked_at IS NULL', [m[1]]);
    if (!row) return undefined;
    const given = Buffer.from(sha256(m[2]), 'hex');
    const stored = Buffer.from(row.secret_sha256, 'hex');
    if (given.length !== stored.length || !timingSafeEqual(given, stored)) return undefined;
    return { id: row.id, name: row.name, role: row.role };
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.db.query<Row>('SELECT * FROM api_tokens ORDER BY created_at, name')).map(info);
  }

  /** Revokes by id or name; false when there is no such active token. */
  async revoke(idOrName: string): Promise<boolean> {
    const rows = await this.db.query('UPDATE api_tokens SET revoked_at = now() WHERE (id = $1 OR name = $1) AND revoked_at IS NULL RETURNING id', [idOrName]);
    return rows.length > 0;
  }

  async hasActiveAdmin(): Promise<boolean> {
    return (await this.db.query(`SELECT 1 FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1`)).length > 0;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function info(row: Row): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
    ...(row.revoked_at ? { revokedAt: new Date(row.revoked_at).toISOString() } : {}),
  };
}
