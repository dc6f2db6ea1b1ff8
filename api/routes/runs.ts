import { createHash } from 'node:crypto';
import { Router, type Response } from 'express';
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { planPipelineRun, planTaskRun } from '../../model/plan';
import type { PipelineRunInput, TaskRunInput } from '../../model/run';
import { maskSecretValues } from '../../model/variables';
import { cancelRun, rerun, runInput, runOutcome, runTree, startPipelineRun, startTaskRun, type StartedRun } from '../../workers/runs';
import { listRuns, runSummary, type RunFilter } from '../../workers/run-list';
import { temporalWebLink, type OpsConfig } from '../../workers/config';
import type { Store } from '../store';
import { canonicalJson } from '../store/definitions';
import { principalOf, requireRole } from '../auth';
import { audited, auditAs } from '../audit';
import { HttpError, parseRequest } from '../errors';
import { idempotencyKey, PAGE_TOKEN_EXPECTED, pipelineRunRequest, runListQuery, taskRunRequest } from '../schemas';

export interface RunRouteDeps {
  store: Store;
  temporal: Client;
  config: Pick<OpsConfig, 'namespace'>;
}

/** Collections that list and start runs, and the run itself under each of them. */
const COLLECTIONS: Array<[string, RunFilter['kind']]> = [
  ['/runs', undefined],
  ['/pipelineruns', 'pipeline'],
  ['/taskruns', 'task'],
];

export function runRoutes(deps: RunRouteDeps): Router {
  const router = Router();
  const { store, temporal, config } = deps;

  router.post('/pipelineruns', requireRole('operator'), async (req, res) => {
    const body = parseRequest(pipelineRunRequest, req.body, 'body');
    auditAs(res, `start pipeline ${body.pipeline}`, `Pipeline/${body.pipeline}`);
    const catalog = await store.definitions.catalog();
    if (!catalog.pipelines.has(body.pipeline)) throw new HttpError(404, `Pipeline/${body.pipeline} is not defined`);
    const input = planPipelineRun(catalog, body.pipeline, { variables: body.variables, origin: { trigger: body.trigger, requester: requesterOf(res) } });
    await startAndAnswer(res, req.get('idempotency-key'), input, { kind: 'pipeline', name: body.pipeline, body }, (i, idempotent) => startPipelineRun(temporal, i as PipelineRunInput, { idempotent }));
  });

  router.post('/taskruns', requireRole('operator'), async (req, res) => {
    const body = parseRequest(taskRunRequest, req.body, 'body');
    auditAs(res, `start task ${body.task}`, `Task/${body.task}`);
    const catalog = await store.definitions.catalog();
    if (!catalog.tasks.has(body.task)) throw new HttpError(404, `Task/${body.task} is not defined`);
    const input = planTaskRun(catalog, body.task, { variables: body.variables, targets: body.targets, cluster: body.cluster, origin: { trigger: body.trigger, requester: requesterOf(res) } });
    await startAndAnswer(res, req.get('idempotency-key'), input, { kind: 'task', name: body.task, body }, (i, idempotent) => startTaskRun(temporal, i as TaskRunInput, { idempotent }));
  });

  for (const [path, kind] of COLLECTIONS) {
    router.get(path, requireRole('viewer'), async (req, res) => {
      const { limit, pageToken, ...filter } = parseRequest(runListQuery, req.query, 'query');
      const page = await listRuns(temporal, { ...filter, kind }, { size: limit, token: pageToken }).catch((e: unknown) => {
        throw pageTokenRefused(e, pageToken);
      });
      res.json({ items: page.runs.map((r) => ({ ...r, temporalWeb: temporalWebLink(config, r.id) })), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) });
    });
    router.get(`${path}/:id`, requireRole('viewer'), async (req, res) => {
      res.json(await runDetail(temporal, config, String(req.params.id), kind));
    });
    router.post(`${path}/:id/cancel`, audited((p) => [`cancel run ${p.id}`, `run/${p.id}`]), requireRole('operator'), async (req, res) => {
      // A workflow that is no run is answered 404, a run that has ended 409 (api/errors.ts).
      await cancelRun(temporal, String(req.params.id));
      res.status(202).json({ id: String(req.params.id), status: 'cancelling' });
    });
    router.post(`${path}/:id/rerun`, audited((p) => [`rerun run ${p.id}`, `run/${p.id}`]), requireRole('operator'), async (req, res) => {
      const started = await rerun(temporal, String(req.params.id), { trigger: 'api', requester: requesterOf(res) });
      res.locals.auditResource = `run/${String(req.params.id)} → run/${started.runId}`;
      sendStarted(res, 201, started, started.name, config);
    });
  }
  return router;

  /**
   * With an Idempotency-Key, the first request claims the key with its run id and starts it; a
   * retry finds the claim and answers with that run (200 instead of 201), never starting a second.
   */
  async function startAndAnswer(
    res: Response,
    key: string | undefined,
    input: PipelineRunInput | TaskRunInput,
    request: { kind: 'pipeline' | 'task'; name: string; body: unknown },
    start: (input: PipelineRunInput | TaskRunInput, idempotent: boolean) => Promise<StartedRun>,
  ): Promise<void> {
    if (key === undefined) {
      const started = await start(input, false);
      res.locals.auditResource = `${res.locals.auditResource} → run/${started.runId}`;
      return sendStarted(res, 201, started, request.name, config);
    }
    parseRequest(idempotencyKey, key, 'Idempotency-Key');
    const principal = principalOf(res);
    const fingerprint = createHash('sha256').update(canonicalJson(withoutSecrets(request.body, input))).digest('hex');
    const claim = await store.idempotency.claim(principal?.id ?? '', key, input.runId, fingerprint);
    if (claim.fingerprint !== fingerprint) throw new HttpError(422, `Idempotency-Key "${key}" was used for a different request (run ${claim.runId}); use a new key`);
    const started = await start({ ...input, runId: claim.runId }, true);
    res.locals.auditResource = `${res.locals.auditResource} → run/${started.runId}${claim.claimed ? '' : ' (idempotent replay)'}`;
    if (!claim.claimed) res.set('Idempotent-Replayed', 'true');
    sendStarted(res, claim.claimed ? 201 : 200, started, request.name, config);
  }
}

function sendStarted(res: Response, status: number, started: StartedRun, name: string, config: Pick<OpsConfig, 'namespace'>): void {
  const self = `/api/v1/runs/${encodeURIComponent(started.runId)}`;
  res
    .status(status)
    .location(self)
    .json({ id: started.runId, kind: started.kind, name, status: 'running', temporalWeb: temporalWebLink(config, started.runId), links: { self, logs: `${self}/logs` } });
}

function requesterOf(res: Response): string {
  return principalOf(res)?.name ?? 'unknown';
}

/** Secret values never enter the fingerprint: only which variables were given. */
function withoutSecrets(body: unknown, input: PipelineRunInput | TaskRunInput): unknown {
  const b = body as { variables?: Record<string, string> };
  return { ...b, variables: maskSecretValues(b.variables ?? {}, input.secretNames) };
}

/** A run as visibility, its frozen input (secrets masked) and its progress or result describe it. */
/** The run, when it is one of the collection's kind (any run under /runs). */
async function runDetail(temporal: Client, config: Pick<OpsConfig, 'namespace'>, id: string, kind: RunFilter['kind']) {
  const description = await temporal.workflow.getHandle(id).describe();
  const types = kind ? [`${kind}Run`] : ['pipelineRun', 'taskRun'];
  if (!types.includes(description.type)) throw new HttpError(404, `${id} is not a ${kind ?? 'pipeline or task'} run`);
  const summary = { ...runSummary(description), temporalWeb: temporalWebLink(config, id) };
  const { input } = await runInput(temporal, id);
  const detail = { ...summary, variables: maskSecretValues(input.variables, input.secretNames), hosts: input.hosts.map((h) => h.name) };
  if (summary.status === 'running') return { ...detail, progress: await runTree(temporal, id) };
  return { ...detail, result: (await runOutcome(temporal, id)).result };
}

/** Temporal answers a page token it did not issue with UNKNOWN (SQL visibility) or INVALID_ARGUMENT: the caller's to fix, 400. */
function pageTokenRefused(e: unknown, pageToken: string | undefined): unknown {
  if (!pageToken || !isGrpcServiceError(e) || (e.code !== 2 && e.code !== 3)) return e;
  return new HttpError(400, `invalid query: pageToken: ${PAGE_TOKEN_EXPECTED}`, [{ path: 'query.pageToken', message: PAGE_TOKEN_EXPECTED }]);
}
