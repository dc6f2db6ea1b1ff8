import { Router } from 'express';
import type { Client } from '@temporalio/client';
import { decideApproval, pendingApprovals, waitingStage } from '../../workers/approvals';
import { temporalWebLink, type OpsConfig } from '../../workers/config';
import { principalOf, requireRole } from '../auth';
import type { Principal } from '../store/tokens';
import { audited, auditAs } from '../audit';
import { parseRequest } from '../errors';
import { approvalDecisionRequest, approvalsQuery } from '../schemas';

/**
 * Deciding approval stages and listing the waiting ones. Any authenticated token may ask; the run
 * itself decides whether that token may decide its stage (the stage's approvers), and refuses
 * a second vote or a late one (workflows/approval.ts).
 */
export function approvalRoutes(temporal: Client, config: Pick<OpsConfig, 'namespace'>): Router {
  const router = Router();
  router.post('/pipelineruns/:id/approvals', audited((p) => [`decide approval of run ${p.id}`, `run/${p.id}`]), requireRole('viewer'), async (req, res) => {
    const body = parseRequest(approvalDecisionRequest, req.body, 'body');
    const id = String(req.params.id);
    // requireRole lets only authenticated callers through.
    const { name, role } = principalOf(res) as Principal;
    const stage = body.stage ?? (await waitingStage(temporal, id));
    auditAs(res, `${body.decision} stage ${stage}${body.comment ? `: ${JSON.stringify(body.comment)}` : ''}`, `run/${id}`);
    const state = await decideApproval(temporal, id, { ...body, stage, by: { name, role } });
    res.json({ runId: id, ...state });
  });
  router.get('/approvals', requireRole('viewer'), async (req, res) => {
    const { pipeline, limit } = parseRequest(approvalsQuery, req.query, 'query');
    const items = await pendingApprovals(temporal, { pipeline }, limit);
    res.json({ items: items.map((a) => ({ ...a, temporalWeb: temporalWebLink(config, a.runId) })) });
  });
  return router;
}
