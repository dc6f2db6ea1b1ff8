import { Router } from 'express';
import type { Store } from '../store';
import { principalOf, requireRole } from '../auth';
import { audited, auditAs } from '../audit';
import { HttpError, parseRequest } from '../errors';
import { auditQuery, tokenRequest } from '../schemas';

/** Tokens and the audit log: admin only. */
export function adminRoutes(store: Store): Router {
  const router = Router();
  router.post('/tokens', requireRole('admin'), async (req, res) => {
    const body = parseRequest(tokenRequest, req.body, 'body');
    auditAs(res, `create token ${body.name} (${body.role})`, `token/${body.name}`);
    res.status(201).json(await store.tokens.create(body.name, body.role, principalOf(res)?.name ?? 'unknown'));
  });
  router.get('/tokens', requireRole('admin'), async (_req, res) => {
    res.json({ items: await store.tokens.list() });
  });
  router.delete('/tokens/:idOrName', audited((p) => [`revoke token ${p.idOrName}`, `token/${p.idOrName}`]), requireRole('admin'), async (req, res) => {
    if (!(await store.tokens.revoke(String(req.params.idOrName)))) throw new HttpError(404, `no active token "${String(req.params.idOrName)}"`);
    res.json({ revoked: String(req.params.idOrName) });
  });
  router.get('/audit', requireRole('admin'), async (req, res) => {
    const query = parseRequest(auditQuery, req.query, 'query');
    const items = await store.audit.list(query);
    res.json({ items, ...(items.length === query.limit ? { nextBefore: items[items.length - 1].id } : {}) });
  });
  return router;
}
