import { Router } from 'express';
import { API_VERSION } from '../../model/naming';
import { KIND_PLURALS, KINDS, validateResource, type Kind, type Resource } from '../../model/resources';
import { parseSelector } from '../../model/selector';
import type { Issue } from '../../model/errors';
import { referenceIssues, referencesTo } from '../../model/references';
import type { DefinitionStore } from '../store/definitions';
import { requireRole } from '../auth';
import { audited } from '../audit';
import { HttpError, parseRequest } from '../errors';
import { listSelectorQuery } from '../schemas';

export interface DefinitionRouteOptions {
  /** What the server knows of a definition beyond itself (a host's last heartbeat, a schedule's next runs), as `status`. */
  status: Partial<Record<Kind, (resource: Resource) => Promise<unknown>>>;
  /** Called after every change, before the answer: brings schedules, streams and hooks in step. */
  changed(): Promise<void>;
}

/** /api/v1/{hosts,clusters,tasks,pipelines,schedules,inspections,eventhooks}: create-or-replace, get, list by labels, delete. */
export function definitionRoutes(definitions: DefinitionStore, options: DefinitionRouteOptions): Router {
  const router = Router();
  for (const kind of KINDS) {
    const base = `/${KIND_PLURALS[kind]}`;
    const status = options.status[kind];
    const withStatus = async (r: Resource) => (status ? { ...r, status: await status(r) } : r);
    router.get(base, requireRole('viewer'), async (req, res) => {
      const { labelSelector } = parseRequest(listSelectorQuery, req.query, 'query');
      const items = await definitions.list(kind, labelSelector ? parseSelector(labelSelector) : []);
      res.json({ apiVersion: API_VERSION, kind: `${kind}List`, items: await Promise.all(items.map(withStatus)) });
    });
    router.get(`${base}/:name`, requireRole('viewer'), async (req, res) => {
      res.json(await withStatus(await found(definitions.get(kind, String(req.params.name)), kind, String(req.params.name))));
    });
    router.put(`${base}/:name`, audited((p) => [`apply ${kind}/${p.name}`, `${kind}/${p.name}`]), requireRole('admin'), async (req, res) => {
      const resource = validated(kind, String(req.params.name), req.body);
      // What it names must exist now (a host's cluster, a schedule's pipeline, a hook's task); a deletion of those is refused.
      const catalog = await definitions.catalog();
      catalog.add(resource);
      const issues = referenceIssues(catalog, resource);
      if (issues.length) throw new HttpError(422, `invalid ${kind}/${resource.metadata.name}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
      const { resource: stored, outcome } = await definitions.put(resource);
      if (outcome !== 'unchanged') await options.changed();
      res.set('Ops-Outcome', outcome).status(outcome === 'created' ? 201 : 200).json(stored);
    });
    router.delete(`${base}/:name`, audited((p) => [`delete ${kind}/${p.name}`, `${kind}/${p.name}`]), requireRole('admin'), async (req, res) => {
      const name = String(req.params.name);
      await found(definitions.get(kind, name), kind, name);
      const namedBy = referencesTo(await definitions.catalog(), kind, name);
      if (namedBy.length) throw new HttpError(409, `${kind}/${name} is named by ${namedBy.map((i) => `${i.document} (${i.path})`).join(', ')}: change or delete those first`, namedBy);
      const deleted = await found(definitions.delete(kind, name), kind, name);
      await options.changed();
      res.json(deleted);
    });
  }
  return router;
}

async function found(lookup: Promise<Resource | undefined>, kind: Kind, name: string): Promise<Resource> {
  const resource = await lookup;
  if (!resource) throw new HttpError(404, `${kind}/${name} is not defined`);
  return resource;
}

/** The body must be a valid document of this kind and name; the URL fills in what it leaves out. */
function validated(kind: Kind, name: string, body: unknown): Resource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, `the body must be a ${kind} document (JSON object with apiVersion, kind, metadata, spec)`);
  }
  const doc = body as Record<string, unknown>;
  const metadata = (typeof doc.metadata === 'object' && doc.metadata !== null ? doc.metadata : {}) as Record<string, unknown>;
  const document = `${kind}/${name}`;
  if (doc.kind !== undefined && doc.kind !== kind) throw new HttpError(400, `kind: is "${String(doc.kind)}" but the URL is for ${kind}`, [{ document, path: 'kind', message: `must be ${kind}` }]);
  if (metadata.name !== undefined && metadata.name !== name) {
    throw new HttpError(400, `metadata.name: is "${String(metadata.name)}" but the URL names "${name}"`, [{ document, path: 'metadata.name', message: `must be "${name}" as in the URL` }]);
  }
  const { resource, issues } = validateResource({ apiVersion: API_VERSION, ...doc, kind, metadata: { ...metadata, name } });
  const all = [...issues, ...(resource ? storagePolicy(resource) : [])];
  if (all.length || !resource) {
    throw new HttpError(422, `invalid ${document}: ${all.map((i) => `${i.path}: ${i.message}`).join('; ')}`, all.map((i) => ({ ...i, document })));
  }
  return resource;
}

/** The server keeps no secret values: credentials are references, and secret variables are given per run. */
function storagePolicy(resource: Resource): Issue[] {
  if (resource.kind !== 'Task' && resource.kind !== 'Pipeline') return [];
  return resource.spec.variables.flatMap((v, i) =>
    v.secret && v.default !== undefined
      ? [{ path: `spec.variables[${i}].default`, message: 'a secret variable cannot have a default on the server (it would be stored in clear); give its value when starting a run' }]
      : [],
  );
}
