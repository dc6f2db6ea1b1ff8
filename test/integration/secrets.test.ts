// Secrets never show in clear: not in Temporal's history (payloads and failures are encrypted), not
// in logs, events, API answers or CLI output. The codec endpoint decodes for signed-in users, and a
// rotated key ring still decodes old runs.
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { temporal } from '@temporalio/proto';
import { startStack, workerLogs, type TestStack, type WorkerProcess } from '../harness/stack';
import { startOpsServer, type OpsServer } from '../harness/server';
import { EVENTS_STREAM, approvalSubject } from '../../model/naming';
import { readLogs } from '../../api/logs';
import { runInput } from '../../workers/runs';
import type { PipelineRunInput } from '../../model/run';
import { untilWith } from '../harness/until';

const until = untilWith(() => workerLogs(stack));

let stack: TestStack;
let server: OpsServer;
let worker: WorkerProcess;
const tokens: Record<string, string> = {};
const SECRET = `s3cr3t-${randomBytes(6).toString('hex')}`;
const API = 'ops.dev/v1';
const WEB = 'http://localhost:8233';

const USE_SECRET = {
  apiVersion: API,
  kind: 'Task',
  metadata: { name: 'use-secret' },
  spec: {
    targets: { hosts: ['host-1'] },
    variables: [{ name: 'api_token', secret: true, required: true }],
    results: [{ name: 'fingerprint' }],
    steps: [
      { name: 'echo', shell: 'mkdir -p secrets; echo "token=${api_token}"; echo "::result fingerprint=${api_token}"' },
      { name: 'push', file: { content: 'key=${api_token}\n', destination: 'secrets/app.key', mode: '0600' } },
    ],
  },
};

const LEAK_ON_FAILURE = {
  apiVersion: API,
  kind: 'Task',
  metadata: { name: 'leak-on-failure' },
  spec: {
    targets: { hosts: ['host-1'] },
    variables: [{ name: 'api_token', secret: true, required: true }],
    steps: [
      // A file step's failure quotes its rendered destination: the secret in it is masked too.
      { name: 'put', file: { content: 'x', destination: 'no-such-dir/${api_token}/x' }, allowFailure: true },
      { name: 'fail', shell: 'echo "cannot use ${api_token}" >&2; exit 3' },
    ],
  },
};

const DEPLOY = {
  apiVersion: API,
  kind: 'Pipeline',
  metadata: { name: 'deploy-key' },
  spec: {
    variables: [{ name: 'api_token', secret: true, required: true }, { name: 'region', default: 'eu' }],
    stages: [
      { name: 'use', tasks: [{ task: 'use-secret' }] },
      { name: 'confirm', approval: { message: 'Deploy with ${api_token} to ${region}?', variables: ['api_token', 'region'] } },
      { name: 'fail', tasks: [{ task: 'leak-on-failure' }] },
    ],
  },
};

const PLAIN = { apiVersion: API, kind: 'Pipeline', metadata: { name: 'plain' }, spec: { variables: [{ name: 'api_token', secret: true, required: true }], stages: [{ name: 'use', tasks: [{ task: 'use-secret' }] }] } };

beforeAll(async () => {
  stack = await startStack({ count: 1 });
  worker = stack.startWorker();
  server = await startOpsServer(stack, { name: 'secrets' });
  await worker.ready;
  const h = stack.fleet.hosts[0];
  for (const [path, body] of [
    ['hosts/host-1', { apiVersion: API, kind: 'Host', metadata: { name: h.name }, spec: { address: h.address, port: h.port, hostKey: h.hostKeyFingerprint } }],
    ['tasks/use-secret', USE_SECRET],
    ['tasks/leak-on-failure', LEAK_ON_FAILURE],
    ['pipelines/deploy-key', DEPLOY],
    ['pipelines/plain', PLAIN],
  ] as const) {
    expect((await server.call('PUT', `/api/v1/${path}`, { body })).status).toBe(201);
  }
  for (const [name, role] of [['alice', 'approver'], ['viewer', 'viewer'], ['operator', 'operator']]) {
    tokens[name] = (await server.call('POST', '/api/v1/tokens', { body: { name, role } })).body.token;
  }
});

afterAll(async () => {
  await server?.stop();
  await stack?.stop();
});

/** Every text a test saw, to be searched for the secret at the end. */
const seen: Array<[string, string]> = [];
function keep<T extends { body: unknown }>(where: string, response: T): T {
  seen.push([where, typeof response.body === 'string' ? response.body : JSON.stringify(response.body)]);
  return response;
}


/** The run's history and its children's, as Temporal stores them: no codec involved. */
async function rawHistories(runId: string, children: string[]): Promise<temporal.api.history.v1.IHistory[]> {
  return Promise.all(
    [runId, ...children.map((c) => `${runId}.${c}`)].map(async (workflowId) => {
      const { history } = await stack.client.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId } });
      return history ?? {};
    }),
  );
}

const bytesOf = (history: temporal.api.history.v1.IHistory) => Buffer.from(temporal.api.history.v1.History.encode(history).finish());
const startedInput = (history: temporal.api.history.v1.IHistory) => history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
const wire = (payloads: temporal.api.common.v1.IPayload[]) => ({
  payloads: payloads.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(p.data ?? []).toString('base64') })),
});
const metaOf = (p: temporal.api.common.v1.IPayload, key: string) => Buffer.from(p.metadata?.[key] ?? []).toString();

async function codec(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${server.url}/codec/${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text, headers: response.headers };
}

/** JSON payloads as values; binary/null ones (no data) as null. */
const decodedValues = (body: { payloads: Array<{ data: string }> }) => body.payloads.map((p) => (p.data ? JSON.parse(Buffer.from(p.data, 'base64').toString()) : null));

let runId: string;

test('a run with a secret: no secret in history, logs, events, API answers or CLI output; the codec decodes for signed-in users', async () => {
  const start = keep('POST pipelinerun', await server.call('POST', '/api/v1/pipelineruns', { body: { pipeline: 'deploy-key', variables: { api_token: SECRET } } }));
  expect(start.status).toBe(201);
  runId = start.body.id;
  const pending = keep('GET approvals', await until('pending approval', () => server.call('GET', '/api/v1/approvals'), (r) => r.body.items.some((a: any) => a.runId === runId)));
  expect(pending.body.items.find((a: any) => a.runId === runId)).toMatchObject({ message: 'Deploy with *** to eu?', variables: { api_token: '***', region: 'eu' } });
  keep('GET running run', await server.call('GET', `/api/v1/runs/${runId}`));
  keep('POST approve', await server.call('POST', `/api/v1/pipelineruns/${runId}/approvals`, { token: tokens.alice, body: { decision: 'approve' } }));
  const run = await server.ended(runId);
  expect(run.status).toBe('failed');
  expect(run.variables).toEqual({ api_token: '***', region: 'eu' });
  expect(run.result.stages[0].tasks[0].results).toEqual({ fingerprint: '***' });
  expect(run.result.stages[2].tasks[0].hosts[0].message).toBe('step fail: exit code 3: cannot use ***');
  expect(run.result.stages[2].tasks[0].hosts[0].steps[0].message).toMatch(/^could not write no-such-dir\/\*\*\*\/x: directory no-such-dir\/\*\*\* does not exist/);
  expect((await stack.fleet.exec('host-1', 'cat secrets/app.key')).stdout).toBe(`key=${SECRET}\n`);
  keep('GET runs', await server.call('GET', '/api/v1/runs?pipeline=deploy-key'));
  keep('GET audit', await server.call('GET', '/api/v1/audit?limit=100'));
  const sse = await fetch(`${server.url}/api/v1/runs/${runId}/logs`, { headers: { Authorization: `Bearer ${server.adminToken}` } });
  const sseText = await sse.text();
  expect(sseText).toContain('token=***');
  seen.push(['GET logs (SSE)', sseText]);
  for (const args of [['get', 'runs', runId], ['logs', runId], ['watch', runId], ['get', 'runs', runId, '-o', 'json']]) {
    const out = await stack.ops(args, { env: server.env });
    seen.push([`ops ${args.join(' ')}`, out.stdout + out.stderr]);
  }
  expect(seen.find(([w]) => w === `ops logs ${runId}`)?.[1]).toContain('token=***');

  // Events and run output on NATS.
  const nc = await connect({ servers: stack.nats.url });
  try {
    const jsm = await nc.jetstreamManager();
    for (const event of ['pending', 'decided'] as const) seen.push([`event ${event}`, (await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: approvalSubject(runId, event) })).string()]);
    for await (const chunk of readLogs(nc, runId, { follow: false })) seen.push(['log chunk', chunk.text]);
  } finally {
    await nc.close();
  }
  // What the processes wrote to their logs.
  seen.push(['worker log', workerLogs(stack)], ['server log', server.log()]);
  for (const [where, text] of seen) expect([where, text.includes(SECRET)]).toEqual([where, false]);

  // Temporal's own records: inputs, results, update arguments and failure messages are encrypted.
  const histories = await rawHistories(runId, ['use-secret', 'leak-on-failure']);
  for (const history of histories) expect(bytesOf(history).includes(Buffer.from(SECRET))).toBe(false);
  const [pipelineHistory, , failedChild] = histories;
  const [input] = startedInput(pipelineHistory);
  expect(metaOf(input, 'encoding')).toBe('binary/encrypted');
  expect(metaOf(input, 'encryption-key-id')).toMatch(/^k/);
  const failure = failedChild.events?.find((e) => e.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes?.failure;
  expect(failure?.message).toBe('Encoded failure');
  expect(failure?.encodedAttributes).toBeTruthy();
  const description = await stack.client.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId: runId } });
  // What Temporal Web shows around the payloads is encrypted too: the memo, and activity summaries.
  expect(metaOf(description.workflowExecutionInfo?.memo?.fields?.summary ?? {}, 'encoding')).toBe('binary/encrypted');
  const summary = histories[1].events?.find((e) => e.activityTaskScheduledEventAttributes)?.userMetadata?.summary;
  expect(metaOf(summary ?? {}, 'encoding')).toBe('binary/encrypted');
  expect(Buffer.from(temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse.encode(description).finish()).includes(Buffer.from(SECRET))).toBe(false);
  // This process holds the key ring: the secret is in there, encrypted.
  expect(((await runInput(stack.client, runId)).input as PipelineRunInput).variables.api_token).toBe(SECRET);

  // The codec endpoint decodes for a token that may see runs; secret values stay masked.
  const payloads = wire([input]);
  expect((await codec('decode', payloads)).status).toBe(401);
  const decoded = await codec('decode', payloads, { Authorization: `Bearer ${tokens.viewer}` });
  expect(decoded.status).toBe(200);
  const [value] = decodedValues(decoded.body);
  expect(value).toMatchObject({ runId, pipeline: { metadata: { name: 'deploy-key' } }, variables: { api_token: '***', region: 'eu' }, secretNames: ['api_token'] });
  expect(JSON.stringify(value)).not.toContain(SECRET);
  expect((await codec('decode', payloads, { Authorization: `Bearer ${tokens.viewer}`, 'X-Namespace': 'other' })).status).toBe(400);
  // Every payload of every event decodes, failures included.
  const all = histories.flatMap((h) => h.events ?? []).flatMap((e) => collectPayloads(e));
  const everything = await codec('decode', wire(all), { Authorization: `Bearer ${tokens.viewer}` });
  expect(everything.status).toBe(200);
  expect(everything.body.payloads.filter((p: any) => Buffer.from(p.metadata.encoding ?? '', 'base64').toString() === 'binary/encrypted')).toEqual([]);
  const texts = JSON.stringify(decodedValues(everything.body));
  expect(texts).toContain('cannot use ***');
  expect(texts).toContain('echo on host-1');
  expect(texts).not.toContain(SECRET);
  // Encoding (sending data into runs from Temporal Web) needs operator.
  const plain = { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"hello"').toString('base64') }] };
  expect((await codec('encode', plain, { Authorization: `Bearer ${tokens.viewer}` })).status).toBe(403);
  const encoded = await codec('encode', plain, { Authorization: `Bearer ${tokens.operator}` });
  expect(Buffer.from(encoded.body.payloads[0].metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
  expect(decodedValues((await codec('decode', encoded.body, { Authorization: `Bearer ${tokens.viewer}` })).body)).toEqual(['hello']);
});

test('Temporal Web in a browser: CORS for its origin only, and a session cookie from /codec/login', async () => {
  const preflight = await fetch(`${server.url}/codec/decode`, { method: 'OPTIONS', headers: { Origin: WEB, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace' } });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe(WEB);
  expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
  expect(preflight.headers.get('access-control-allow-headers')).toContain('X-Namespace');
  const stranger = await fetch(`${server.url}/codec/decode`, { method: 'OPTIONS', headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' } });
  expect(stranger.headers.get('access-control-allow-origin')).toBeNull();

  expect((await fetch(`${server.url}/codec/login`)).headers.get('content-type')).toContain('text/html');
  const wrong = await fetch(`${server.url}/codec/login`, { method: 'POST', body: new URLSearchParams({ token: 'ops_0000000000000000_' + 'A'.repeat(43) }), redirect: 'manual' });
  expect(wrong.status).toBe(401);
  const login = await fetch(`${server.url}/codec/login`, { method: 'POST', body: new URLSearchParams({ token: tokens.viewer }) });
  expect(login.status).toBe(200);
  const cookie = login.headers.get('set-cookie') ?? '';
  expect(cookie).toMatch(/^ops_session=ops_[^;]+;/);
  expect(cookie.split('; ').slice(1).sort()).toEqual(expect.arrayContaining(['HttpOnly', 'Max-Age=28800', 'Path=/codec', 'SameSite=Strict']));
  const [input] = startedInput((await rawHistories(runId, []))[0]);
  const decoded = await codec('decode', wire([input]), { Origin: WEB, Cookie: cookie.split(';')[0] });
  expect(decoded.status).toBe(200);
  expect(decoded.headers.get('access-control-allow-origin')).toBe(WEB);
  expect(decodedValues(decoded.body)[0].variables.api_token).toBe('***');
  const audit = (await server.call('GET', '/api/v1/audit?limit=20')).body.items;
  expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ actor: 'viewer', action: 'sign in to the codec endpoint', outcome: 'succeeded' })]));
  expect(JSON.stringify(audit)).not.toContain(tokens.viewer);
});

test('a rotated key: new runs use the new key, old runs still decode, running processes keep working', async () => {
  const keys = async () => (await stack.ops(['codec', 'keys'])).stdout;
  const [oldKey] = /^(k\S+)\s+yes$/m.exec(await keys())?.slice(1) ?? [];
  expect(oldKey).toBeTruthy();
  const rotated = await stack.ops(['codec', 'rotate']);
  expect(rotated.code).toBe(0);
  const newKey = /^key (k\S+) added/.exec(rotated.stdout)?.[1];
  expect(await keys()).toMatch(new RegExp(`^KEY\\s+ACTIVE\\n${oldKey}\\s*\\n${newKey}\\s+yes\\n$`));
  // Running processes look at the key file every 2 s.
  await new Promise((r) => setTimeout(r, 2500));
  const start = await server.call('POST', '/api/v1/pipelineruns', { body: { pipeline: 'plain', variables: { api_token: SECRET } } });
  const after = start.body.id;
  expect((await server.ended(after)).status).toBe('succeeded');
  const [oldInput] = startedInput((await rawHistories(runId, []))[0]);
  const [newInput] = startedInput((await rawHistories(after, []))[0]);
  expect(metaOf(oldInput, 'encryption-key-id')).toBe(oldKey);
  expect(metaOf(newInput, 'encryption-key-id')).toBe(newKey);
  const both = await codec('decode', wire([oldInput, newInput]), { Authorization: `Bearer ${tokens.viewer}` });
  expect(decodedValues(both.body).map((v) => v.pipeline.metadata.name)).toEqual(['deploy-key', 'plain']);
  expect(((await runInput(stack.client, after)).input as PipelineRunInput).variables.api_token).toBe(SECRET);
  // Staged rotation: add a key everywhere first, activate it later.
  const staged = /^key (k\S+) added/.exec((await stack.ops(['codec', 'rotate', '--inactive'])).stdout)?.[1];
  expect(await keys()).toMatch(new RegExp(`${newKey}\\s+yes\\n${staged}\\s*\\n$`));
  expect((await stack.ops(['codec', 'activate', staged as string])).code).toBe(0);
  expect(await keys()).toMatch(new RegExp(`${staged}\\s+yes\\n$`));
  expect((await stack.ops(['codec', 'activate', 'k-nope'])).code).toBe(2);
});

/** The payloads an event carries: inputs, results, update arguments, encoded failure attributes. */
function collectPayloads(value: unknown): temporal.api.common.v1.IPayload[] {
  if (!value || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap(collectPayloads);
  const o = value as Record<string, unknown>;
  if (o.data instanceof Uint8Array && o.metadata && typeof o.metadata === 'object') return [o as temporal.api.common.v1.IPayload];
  return Object.values(o).flatMap(collectPayloads);
}
