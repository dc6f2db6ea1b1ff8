import { z } from 'zod';
import { KIND_PLURALS, KINDS, resourceSchemas } from '../model/resources';
import { approvalDecisionRequest, approvalsQuery, errorBody, eventsQuery, idempotencyKey, logsQuery, pipelineRunRequest, runListQuery, runStarted, scheduleBackfillRequest, schedulePauseRequest, scheduleTriggerRequest, taskRunRequest, tokenRequest } from './schemas';

/** JSON Schema of what a client sends: defaults are optional, transforms are seen from the input side. */
function schema(s: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

function queryParameters(s: z.ZodObject): Array<Record<string, unknown>> {
  const json = schema(s) as { properties?: Record<string, unknown> };
  return Object.entries(json.properties ?? {}).map(([name, p]) => ({ name, in: 'query', required: false, schema: p }));
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (s: unknown) => ({ 'application/json': { schema: s } });
const error = (description: string) => ({ description, content: json(ref('Error')) });
const standardErrors = { '401': error('missing or invalid token'), '403': error('the token\'s role is not enough') };
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

/** The OpenAPI document, generated from the same zod schemas that validate requests. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const kind of KINDS) {
    const plural = KIND_PLURALS[kind];
    paths[`/api/v1/${plural}`] = {
      get: {
        summary: `List ${plural} (viewer)`,
        parameters: [{ name: 'labelSelector', in: 'query', schema: { type: 'string' }, example: 'env=prod,role!=db' }],
        responses: { '200': { description: `${kind}List`, content: json({ type: 'object', properties: { items: { type: 'array', items: ref(kind) } } }) }, '400': error('bad selector'), ...standardErrors },
      },
    };
    paths[`/api/v1/${plural}/{name}`] = {
      parameters: [nameParam],
      get: { summary: `Get a ${kind} (viewer)`, responses: { '200': { description: kind, content: json(ref(kind)) }, '404': error('not defined'), ...standardErrors } },
      put: {
        summary: `Create or replace a ${kind} (admin); a stale metadata.resourceVersion answers 409`,
        requestBody: { required: true, content: json(ref(kind)) },
        responses: {
          '200': { description: 'replaced (or unchanged)', content: json(ref(kind)) },
          '201': { description: 'created', content: json(ref(kind)) },
          '400': error('not a document of this kind and name'),
          '409': error('resourceVersion is stale'),
          '422': error('invalid: issues name each field path and reason'),
          ...standardErrors,
        },
      },
      delete: { summary: `Delete a ${kind} (admin)`, responses: { '200': { description: 'the deleted definition', content: json(ref(kind)) }, '404': error('not defined'), ...standardErrors } },
    };
  }
  const startResponses = {
    '200': { description: 'Idempotency-Key replay: the run an earlier request started', content: json(ref('RunStarted')) },
    '201': { description: 'started', content: json(ref('RunStarted')) },
    '400': error('malformed request'),
    '404': error('no such definition'),
    '422': error('the run cannot start: variables, targets or references are wrong'),
    ...standardErrors,
  };
  const idempotencyHeader = { name: 'Idempotency-Key', in: 'header', required: false, schema: schema(idempotencyKey) };
  paths['/api/v1/pipelineruns'] = {
    post: { summary: 'Start a pipeline run (operator)', parameters: [idempotencyHeader], requestBody: { required: true, content: json(ref('PipelineRunRequest')) }, responses: startResponses },
    get: { summary: 'List pipeline runs (viewer)', parameters: queryParameters(runListQuery), responses: { '200': { description: 'a page of runs' }, ...standardErrors } },
  };
  paths['/api/v1/taskruns'] = {
    post: { summary: 'Start a task run (operator)', parameters: [idempotencyHeader], requestBody: { required: true, content: json(ref('TaskRunRequest')) }, responses: startResponses },
    get: { summary: 'List task runs (viewer)', parameters: queryParameters(runListQuery), responses: { '200': { description: 'a page of runs' }, ...standardErrors } },
  };
  paths['/api/v1/runs'] = { get: { summary: 'List runs from Temporal visibility, newest first (viewer)', parameters: queryParameters(runListQuery), responses: { '200': { description: 'a page of runs; nextPageToken for the next' }, ...standardErrors } } };
  paths['/api/v1/runs/{id}'] = { parameters: [idParam], get: { summary: 'A run with its stages, tasks and per-host results (viewer)', responses: { '200': { description: 'the run' }, '404': error('no such run'), ...standardErrors } } };
  paths['/api/v1/runs/{id}/cancel'] = { parameters: [idParam], post: { summary: 'Cancel a run (operator)', responses: { '202': { description: 'cancelling' }, '409': error('already ended'), ...standardErrors } } };
  paths['/api/v1/runs/{id}/rerun'] = { parameters: [idParam], post: { summary: 'Start a new run with the same frozen input (operator)', responses: { '201': { description: 'started', content: json(ref('RunStarted')) }, ...standardErrors } } };
  paths['/api/v1/runs/{id}/logs'] = {
    parameters: [idParam, ...queryParameters(logsQuery), { name: 'Last-Event-ID', in: 'header', schema: { type: 'string' } }],
    get: { summary: 'Run output as Server-Sent Events (viewer): `log` events with the stream sequence as id, `end` when done', responses: { '200': { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...standardErrors } },
  };
  paths['/api/v1/pipelineruns/{id}/approvals'] = {
    parameters: [idParam],
    post: {
      summary: "Approve or reject the run's waiting approval stage (any token; the stage's approvers decide who counts); kept in the run's history and the audit log",
      requestBody: { required: true, content: json(ref('ApprovalDecisionRequest')) },
      responses: {
        '200': { description: 'the stage after the decision: pending (more approvals needed), approved or rejected' },
        '403': error("this token is not among the stage's approvers"),
        '404': error('no such run, or no such approval stage'),
        '409': error('the stage is not waiting (not yet, or decided), or this token already decided it'),
        '503': error('no control worker took the decision'),
        '401': standardErrors['401'],
      },
    },
  };
  paths['/api/v1/approvals'] = { get: { summary: 'Approvals waiting now, with what they ask and who may decide (viewer)', parameters: queryParameters(approvalsQuery), responses: { '200': { description: 'items' }, ...standardErrors } } };
  const scheduleAction = (summary: string, body: string) => ({
    parameters: [nameParam],
    post: { summary, requestBody: { content: json(ref(body)) }, responses: { '200': { description: "the schedule's state after it" }, '404': error('no such Schedule'), '409': error('the Schedule cannot be planned now, so it has no Temporal schedule'), ...standardErrors } },
  });
  paths['/api/v1/schedules/{name}/pause'] = scheduleAction('Pause the schedule: it starts no runs until unpaused (operator)', 'SchedulePauseRequest');
  paths['/api/v1/schedules/{name}/unpause'] = scheduleAction('Unpause the schedule (operator)', 'SchedulePauseRequest');
  paths['/api/v1/schedules/{name}/trigger'] = scheduleAction('Start a run now, paused or not (operator)', 'ScheduleTriggerRequest');
  paths['/api/v1/schedules/{name}/backfill'] = scheduleAction('Start now the runs due in [start, end) (operator)', 'ScheduleBackfillRequest');
  paths['/api/v1/events'] = {
    parameters: [...queryParameters(eventsQuery), { name: 'Last-Event-ID', in: 'header', schema: { type: 'string' } }],
    get: { summary: "Events the hub keeps (every cluster's), oldest first (viewer); with follow=true as Server-Sent Events `event`, id = stream sequence", responses: { '200': { description: '{items: [{seq, subject, stored, event}]}, or text/event-stream' }, ...standardErrors } },
  };
  const parkedId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  paths['/api/v1/eventhooks/{name}/parked'] = { parameters: [nameParam], get: { summary: 'Events the hook gave up on, with the last error (viewer)', responses: { '200': { description: 'items' }, '404': error('no such EventHook'), ...standardErrors } } };
  paths['/api/v1/eventhooks/{name}/parked/{id}'] = { parameters: [nameParam, parkedId], delete: { summary: 'Discard a parked event (operator)', responses: { '200': { description: 'discarded' }, '404': error('no such parked event'), ...standardErrors } } };
  paths['/api/v1/eventhooks/{name}/parked/{id}/replay'] = { parameters: [nameParam, parkedId], post: { summary: 'Deliver a parked event now (operator): delivered, or still parked with the new error', responses: { '200': { description: '{delivered, result}' }, '404': error('no such parked event'), ...standardErrors } } };
  paths['/api/v1/eventhooks/{name}/replay'] = { parameters: [nameParam], post: { summary: "Deliver all the hook's parked events now (operator)", responses: { '200': { description: '{delivered, failed, items}' }, ...standardErrors } } };
  const codecBody = { required: true, content: json({ type: 'object', properties: { payloads: { type: 'array', items: { type: 'object', properties: { metadata: { type: 'object', additionalProperties: { type: 'string', contentEncoding: 'base64' } }, data: { type: 'string', contentEncoding: 'base64' } } } } } }) };
  const codecAuth = 'Authorization: Bearer <token>, or the session cookie from /codec/login';
  paths['/codec/decode'] = { post: { summary: `Temporal's remote codec: decrypt payloads, secret variables masked (viewer; ${codecAuth})`, parameters: [{ name: 'X-Namespace', in: 'header', schema: { type: 'string' } }], requestBody: codecBody, responses: { '200': { description: 'the payloads, decoded' }, ...standardErrors } } };
  paths['/codec/encode'] = { post: { summary: `Temporal's remote codec: encrypt payloads with the active key (operator; ${codecAuth})`, parameters: [{ name: 'X-Namespace', in: 'header', schema: { type: 'string' } }], requestBody: codecBody, responses: { '200': { description: 'the payloads, encoded' }, ...standardErrors } } };
  paths['/codec/login'] = {
    get: { summary: 'A sign-in page for browsers (Temporal Web)', security: [], responses: { '200': { description: 'text/html' } } },
    post: { summary: 'Sign in with a token (form field "token"): sets the HttpOnly session cookie the codec endpoint accepts', security: [], responses: { '200': { description: 'signed in' }, '401': { description: 'invalid or revoked token' } } },
  };
  paths['/api/v1/tokens'] = {
    post: { summary: 'Create a token (admin); the token is shown only in this answer', requestBody: { required: true, content: json(ref('TokenRequest')) }, responses: { '201': { description: 'the token' }, '409': error('name taken'), ...standardErrors } },
    get: { summary: 'List tokens without their secrets (admin)', responses: { '200': { description: 'tokens' }, ...standardErrors } },
  };
  paths['/api/v1/tokens/{name}'] = { parameters: [nameParam], delete: { summary: 'Revoke a token by id or name (admin)', responses: { '200': { description: 'revoked' }, '404': error('no such token'), ...standardErrors } } };
  paths['/api/v1/audit'] = { get: { summary: 'The audit log of mutating calls, newest first (admin)', responses: { '200': { description: 'entries' }, ...standardErrors } } };
  paths['/healthz'] = { get: { summary: 'The process is alive', security: [], responses: { '200': { description: 'ok' } } } };
  paths['/readyz'] = { get: { summary: 'Temporal, NATS and the store answer', security: [], responses: { '200': { description: 'ready' }, '503': { description: 'not ready, with the failing checks' } } } };
  paths['/metrics'] = { get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'text exposition format' } } } };
  return {
    openapi: '3.1.0',
    info: { title: 'Ops control plane', version, description: 'Definitions, runs, schedules, events, logs, tokens and audit of Ops. Every /api call needs "Authorization: Bearer <token>".' },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        ...Object.fromEntries(KINDS.map((k) => [k, schema(resourceSchemas[k] as z.ZodType)])),
        PipelineRunRequest: schema(pipelineRunRequest),
        TaskRunRequest: schema(taskRunRequest),
        TokenRequest: schema(tokenRequest),
        ApprovalDecisionRequest: schema(approvalDecisionRequest),
        SchedulePauseRequest: schema(schedulePauseRequest),
        ScheduleTriggerRequest: schema(scheduleTriggerRequest),
        ScheduleBackfillRequest: schema(scheduleBackfillRequest),
        RunStarted: schema(runStarted),
        Error: schema(errorBody),
      },
    },
  };
}
