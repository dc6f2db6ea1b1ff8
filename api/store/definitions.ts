import { randomUUID } from 'node:crypto';
import { Catalog } from '../../model/catalog';
import { KINDS, type Kind, type Resource } from '../../model/resources';
import { matchesSelector, type Requirement } from '../../model/selector';
import type { Database } from './database';
import { dropParkedEvents } from './parked-events';

/** A replace named a resourceVersion that is not the stored one: nothing was changed. */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

export type PutOutcome = 'created' | 'updated' | 'unchanged';

interface Row {
  kind: Kind;
  resource: Resource;
  uid: string;
  resource_version: string;
  created_at: Date | string;
}

const COLUMNS = 'kind, resource, uid, resource_version::text AS resource_version, created_at';

/** Hosts, Clusters, Tasks and Pipelines as the server keeps them, each with a resourceVersion. */
export class DefinitionStore {
  constructor(private readonly db: Database) {}

  /**
   * Creates or replaces a definition. With `metadata.resourceVersion`, the replace happens only if it
   * is still the stored version (or, for a create, nothing is stored yet under that name).
   * An identical document changes nothing and keeps its version.
   */
  async put(resource: Resource): Promise<{ resource: Resource; outcome: PutOutcome }> {
    const expected = resource.metadata.resourceVersion;
    const document = withoutServerFields(resource);
    const { kind } = resource;
    const { name } = resource.metadata;
    return this.db.transaction(async (tx) => {
      const [current] = await tx.query<Row>(`SELECT ${COLUMNS} FROM definitions WHERE kind = $1 AND name = $2 FOR UPDATE`, [kind, name]);
      if (expected !== undefined && current?.resource_version !== expected) {
        throw new ConflictError(
          current
            ? `${kind}/${name} was changed since resourceVersion ${expected} (it is at ${current.resource_version}): read it again and reapply`
            : `${kind}/${name} does not exist, so resourceVersion ${expected} is stale`,
        );
      }
      if (current && canonicalJson(current.resource) === canonicalJson(document)) return { resource: fromRow(current), outcome: 'unchanged' as const };
      const labels = JSON.stringify(resource.metadata.labels ?? {});
      if (current) {
        const [row] = await tx.query<Row>(
          `UPDATE definitions SET resource = $3, labels = $4, resource_version = nextval('resource_versions'), updated_at = now()
           WHERE kind = $1 AND name = $2 RETURNING ${COLUMNS}`,
          [kind, name, JSON.stringify(document), labels],
        );
        return { resource: fromRow(row), outcome: 'updated' as const };
      }
      const [row] = await tx.query<Row>(
        `INSERT INTO definitions (kind, name, uid, resource, labels, resource_version) VALUES ($1, $2, $3, $4, $5, nextval('resource_versions'))
         ON CONFLICT (kind, name) DO NOTHING RETURNING ${COLUMNS}`,
        [kind, name, randomUUID(), JSON.stringify(document), labels],
      );
      if (!row) throw new ConflictError(`${kind}/${name} was created by another request at the same moment: read it and reapply`);
      return { resource: fromRow(row), outcome: 'created' as const };
    });
  }

  async get(kind: Kind, name: string): Promise<Resource | undefined> {
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM definitions WHERE kind = $1 AND name = $2`, [kind, name]);
    return row && fromRow(row);
  }

  /** Definitions of a kind whose labels match every requirement, by name. */
  async list(kind: Kind, selector: Requirement[] = []): Promise<Resource[]> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM definitions WHERE kind = $1 ORDER BY name`, [kind]);
    return rows.map(fromRow).filter((r) => matchesSelector(selector, r.metadata.labels));
  }

  /** Deletes and returns the definition; undefined when there was none. A hook's parked events go with it, so a new hook of its name starts clean. */
  async delete(kind: Kind, name: string): Promise<Resource | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<Row>(`DELETE FROM definitions WHERE kind = $1 AND name = $2 RETURNING ${COLUMNS}`, [kind, name]);
      if (row && kind === 'EventHook') await dropParkedEvents(tx, name);
      return row && fromRow(row);
    });
  }

  /** Every stored definition, read in one statement so a run plans from one consistent snapshot. */
  async catalog(): Promise<Catalog> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM definitions ORDER BY kind, name`);
    const catalog = new Catalog();
    for (const row of rows) if (KINDS.includes(row.kind)) catalog.add(fromRow(row));
    return catalog;
  }
}

function fromRow(row: Row): Resource {
  const resource = typeof row.resource === 'string' ? (JSON.parse(row.resource) as Resource) : row.resource;
  return {
    ...resource,
    metadata: {
      ...resource.metadata,
      uid: row.uid,
      resourceVersion: row.resource_version,
      creationTimestamp: new Date(row.created_at).toISOString(),
    },
  } as Resource;
}

function withoutServerFields(resource: Resource): Resource {
  const { resourceVersion: _v, uid: _u, creationTimestamp: _c, ...metadata } = resource.metadata;
  return { ...resource, metadata } as Resource;
}

/** JSON with object keys sorted, so two equal documents compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}
