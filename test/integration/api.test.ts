import { execFileSync } from 'node:child_process';
// The control plane's REST API and the CLI's server mode, against real Temporal, NATS, sshd hosts
// and an `ops server` process; the same suite once with PGlite and once with PostgreSQL.
import { join } from 'node:path';
import { startStack, workerLogs, type TestStack } from '../harness/stack';
import { startOpsServer, type OpsServer } from '../harness/server';
import { startPostgres, type Postgres } from '../harness/postgres';
import { untilWith } from '../harness/until';

const until = untilWith(() => workerLogs(stack), 20_000);

let stack: TestStack;
let postgres: Postgres;
const servers: Record<string, OpsServer> = {};

beforeAll(async () => {
  [stack, postgres] = await Promise.all([startStack({ count: 3 }), startPostgres()]);
  const worker = stack.startWorker();
  const [pglite, pg] = await Promise.all([
    startOpsServer(stack, { name: 'pglite' }),
    postgres.createDatabase('ops_api_test').then((url) => startOpsServer(stack, { name: 'postgres', databaseUrl: url })),
  ]);
  servers.PGlite = pglite;
  servers.PostgreSQL = pg;
  await worker.ready;
});

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
  await Promise.all([stack?.stop(), postgres?.stop()]);
});

const API = 'ops.dev/v1';

function hostDocs(): Array<Record<string, any>> {
  return stack.fleet.hosts.map((h, i) => ({
    apiVersion: API,
    kind: 'Host',
    metadata: { name: h.name, labels: { role: 'fleet', index: String(i + 1), env: i === 1 ? 'dev' : 'prod' } },
    spec: { address: h.address, port: h.port, hostKey: h.hostKeyFingerprint },
  }));
}

const WRITE_CONFIG = {
  apiVersion: API,
  kind: 'Task',
  metadata: { name: 'write-config' },
  spec: {
    targets: { selector: 'role=fleet' },
    variables: [{ name: 'greeting', default: 'hello', regex: '[a-z]+' }],
    results: [{ name: 'version' }],
    steps: [
      { name: 'dir', shell: 'mkdir -p api/${host.name}' },
      { name: 'push', file: { content: 'greeting=${greeting}\n', destination: 'api/${host.name}/app.conf' } },
      { name: 'read', shell: 'cat api/${host.name}/app.conf; echo "::result version=v1"' },
    ],
  },
};

const TICK = {
  apiVersion: API,
  kind: 'Task',
  metadata: { name: 'tick' },
  spec: {
    targets: { hosts: ['host-1'] },
    variables: [{ name: 'count', default: '3' }, { name: 'token', secret: true }],
    steps: [{ name: 'tick', shell: 'for i in $(seq 1 ${count}); do echo "tick-$i"; sleep 1; done' }],
  },
};

const PIPELINE = {
  apiVersion: API,
  kind: 'Pipeline',
  metadata: { name: 'configure' },
  spec: {
    variables: [{ name: 'greeting', default: 'hi' }],
    stages: [
      { name: 'write', tasks: [{ task: 'write-config' }] },
      { name: 'again', tasks: [{ task: 'write-config', name: 'again' }] },
    ],
  },
};

describe.each(['PGlite', 'PostgreSQL'])('the API with its store on %s', (storeName) => {
  let server: OpsServer;
  beforeAll(async () => {
    server = servers[storeName];
    for (const host of hostDocs()) expect((await server.call('PUT', `/api/v1/hosts/${host.metadata.name}`, { body: host })).status).toBe(201);
    for (const task of [WRITE_CONFIG, TICK]) expect((await server.call('PUT', `/api/v1/tasks/${task.metadata.name}`, { body: task })).status).toBe(201);
    expect((await server.call('PUT', '/api/v1/pipelines/configure', { body: PIPELINE })).status).toBe(201);
  });

  test('create, read, replace with a resourceVersion, refuse a stale one, delete', async () => {
    const doc = { apiVersion: API, kind: 'Cluster', metadata: { name: 'edge', labels: { region: 'eu' } }, spec: { description: 'first' } };
    const created = await server.call('PUT', '/api/v1/clusters/edge', { body: doc });
    expect(created.status).toBe(201);
    const v1 = created.body.metadata.resourceVersion;
    expect(v1).toMatch(/^\d+$/);
    expect(created.body.metadata.uid).toBeTruthy();
    const same = await server.call('PUT', '/api/v1/clusters/edge', { body: doc });
    expect(same.status).toBe(200);
    expect(same.headers.get('ops-outcome')).toBe('unchanged');
    expect(same.body.metadata.resourceVersion).toBe(v1);
    const replaced = await server.call('PUT', '/api/v1/clusters/edge', { body: { ...doc, metadata: { ...doc.metadata, resourceVersion: v1 }, spec: { description: 'second' } } });
    expect(replaced.status).toBe(200);
    const v2 = replaced.body.metadata.resourceVersion;
    expect(Number(v2)).toBeGreaterThan(Number(v1));
    const stale = await server.call('PUT', '/api/v1/clusters/edge', { body: { ...doc, metadata: { ...doc.metadata, resourceVersion: v1 }, spec: { description: 'third' } } });
    expect(stale.status).toBe(409);
    expect(stale.body.message).toContain(`resourceVersion ${v1}`);
    const read = await server.call('GET', '/api/v1/clusters/edge');
    expect(read.body.spec.description).toBe('second');
    expect(read.body.metadata.resourceVersion).toBe(v2);
    // What a GET answers, status and all, goes back as it is (the status is the server's, and ignored).
    expect(read.body.status).toBeDefined();
    const readBack = await server.call('PUT', '/api/v1/clusters/edge', { body: read.body });
    expect([readBack.status, readBack.headers.get('ops-outcome')]).toEqual([200, 'unchanged']);
    expect((await server.call('DELETE', '/api/v1/clusters/edge')).status).toBe(200);
    expect((await server.call('GET', '/api/v1/clusters/edge')).status).toBe(404);
    expect((await server.call('DELETE', '/api/v1/clusters/edge')).status).toBe(404);
  });

  test('a put that would leave the definitions invalid, or a delete of what another names, changes nothing', async () => {
    const host = (name: string, spec: Record<string, unknown>) => server.call('PUT', `/api/v1/hosts/${name}`, { body: { apiVersion: API, kind: 'Host', metadata: { name }, spec: { address: '127.0.0.9', trustOnFirstUse: true, ...spec } } });
    const loop = await host('host-9', { bastion: 'host-9' });
    expect([loop.status, loop.body.issues]).toEqual([422, [{ document: 'Host/host-9', path: 'spec.bastion', message: 'forms a loop: host-9 → host-9' }]]);
    expect((await server.call('GET', '/api/v1/hosts/host-9')).status).toBe(404);
    const noCluster = await host('h-c2', { cluster: 'c2' });
    expect([noCluster.status, noCluster.body.issues[0].path]).toEqual([422, 'spec.cluster']);
    expect((await server.call('PUT', '/api/v1/clusters/c2', { body: { apiVersion: API, kind: 'Cluster', metadata: { name: 'c2' }, spec: {} } })).status).toBe(201);
    expect((await host('h-c2', { cluster: 'c2' })).status).toBe(201);
    const named = await server.call('DELETE', '/api/v1/clusters/c2');
    expect([named.status, named.body.message]).toEqual([409, 'Cluster/c2 is named by Host/h-c2 (spec.cluster): change or delete those first']);
    expect((await server.call('GET', '/api/v1/clusters/c2')).status).toBe(200);
    expect((await server.call('DELETE', '/api/v1/hosts/h-c2')).status).toBe(200);
    expect((await server.call('DELETE', '/api/v1/clusters/c2')).status).toBe(200);
  });

  test('lists by label selector', async () => {
    const names = async (selector: string) => (await server.call('GET', `/api/v1/hosts?labelSelector=${encodeURIComponent(selector)}`)).body.items.map((h: any) => h.metadata.name);
    expect(await names('role=fleet')).toEqual(['host-1', 'host-2', 'host-3']);
    expect(await names('env=prod,index!=3')).toEqual(['host-1']);
    expect(await names('index in (2,3)')).toEqual(['host-2', 'host-3']);
    expect(await names('!env')).toEqual([]);
    const bad = await server.call('GET', '/api/v1/hosts?labelSelector=' + encodeURIComponent('role=(x'));
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('labelSelector');
  });

  test('invalid definitions are rejected with the field path and reason, and nothing is stored', async () => {
    const bad = { ...WRITE_CONFIG, metadata: { name: 'bad' }, spec: { ...WRITE_CONFIG.spec, steps: [{ name: 'x', shell: 'true', timeoutSeconds: 'soon' }] } };
    const r = await server.call('PUT', '/api/v1/tasks/bad', { body: bad });
    expect(r.status).toBe(422);
    expect(r.body.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'spec.steps[0].timeoutSeconds', document: 'Task/bad' })]));
    expect((await server.call('GET', '/api/v1/tasks/bad')).status).toBe(404);
    const unknownField = await server.call('PUT', '/api/v1/hosts/h9', { body: { apiVersion: API, kind: 'Host', metadata: { name: 'h9' }, spec: { address: 'x', trustOnFirstUse: true, password: 'hunter2' } } });
    expect(unknownField.status).toBe(422);
    expect(unknownField.body.issues[0]).toMatchObject({ path: 'spec', message: 'unknown field "password"' });
    const mismatch = await server.call('PUT', '/api/v1/hosts/h9', { body: { ...hostDocs()[0], metadata: { name: 'other' } } });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.message).toContain('metadata.name');
    const secretDefault = await server.call('PUT', '/api/v1/tasks/s', { body: { ...TICK, metadata: { name: 's' }, spec: { ...TICK.spec, variables: [{ name: 'count' }, { name: 'token', secret: true, default: 'x' }] } } });
    expect(secretDefault.status).toBe(422);
    expect(secretDefault.body.issues[0].path).toBe('spec.variables[1].default');
    const notJson = await server.call('PUT', '/api/v1/hosts/h9', { body: '{"apiVersion":', headers: { 'Content-Type': 'application/json' } });
    expect(notJson.status).toBe(400);
  });

  test('missing and wrong tokens are refused with 401, a weak role with 403, and every refusal is audited', async () => {
    const viewer = (await server.call('POST', '/api/v1/tokens', { body: { name: 'dash', role: 'viewer' } })).body.token as string;
    const operator = (await server.call('POST', '/api/v1/tokens', { body: { name: 'ci', role: 'operator' } })).body.token as string;
    expect(viewer).toMatch(/^ops_/);
    const none = await server.call('GET', '/api/v1/hosts', { token: null });
    expect(none.status).toBe(401);
    expect(none.body.message).toContain('missing bearer token');
    const forged = `${viewer.slice(0, -4)}AAAA`;
    expect((await server.call('GET', '/api/v1/hosts', { token: forged })).status).toBe(401);
    expect((await server.call('GET', '/api/v1/hosts', { token: viewer })).status).toBe(200);
    const viewerPut = await server.call('PUT', '/api/v1/hosts/host-1', { token: viewer, body: hostDocs()[0] });
    expect(viewerPut.status).toBe(403);
    expect(viewerPut.body.message).toBe('token "dash" has role viewer; this needs admin or above');
    expect((await server.call('POST', '/api/v1/pipelineruns', { token: viewer, body: { pipeline: 'configure' } })).status).toBe(403);
    expect((await server.call('DELETE', '/api/v1/hosts/host-1', { token: operator })).status).toBe(403);
    expect((await server.call('POST', '/api/v1/taskruns', { token: null, body: { task: 'tick' } })).status).toBe(401);
    expect((await server.call('POST', '/api/v1/tokens', { token: forged, body: { name: 'x', role: 'admin' } })).status).toBe(401);
    expect((await server.call('GET', '/api/v1/audit', { token: operator })).status).toBe(403);
    // The host is untouched.
    expect((await server.call('GET', '/api/v1/hosts/host-1')).status).toBe(200);
    const { body } = await server.call('GET', '/api/v1/audit?outcome=refused');
    const seen = body.items.map((e: any) => `${e.actor} ${e.method} ${e.path} ${e.status}`);
    expect(seen).toEqual(
      expect.arrayContaining([
        'dash PUT /api/v1/hosts/host-1 403',
        'dash POST /api/v1/pipelineruns 403',
        'ci DELETE /api/v1/hosts/host-1 403',
        'anonymous POST /api/v1/taskruns 401',
        'invalid-token POST /api/v1/tokens 401',
      ]),
    );
    expect(body.items.find((e: any) => e.actor === 'dash' && e.method === 'PUT')).toMatchObject({ role: 'viewer', action: 'apply Host/host-1', outcome: 'refused' });
    const all = await server.call('GET', '/api/v1/audit?actor=admin&limit=500');
    expect(all.body.items.map((e: any) => e.action)).toEqual(expect.arrayContaining(['apply Host/host-1', 'create token ci (operator)']));
    // Reads are not audited; tokens are never shown again.
    expect(all.body.items.every((e: any) => e.method !== 'GET')).toBe(true);
    // Newest first by number (as text, 9 came before 43), a short page too.
    const ids = (await server.call('GET', '/api/v1/audit?limit=500')).body.items.map((e: any) => Number(e.id));
    expect(ids.length).toBeGreaterThan(10);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect((await server.call('GET', '/api/v1/audit?limit=5')).body.items.map((e: any) => Number(e.id))).toEqual(ids.slice(0, 5));
    expect(JSON.stringify((await server.call('GET', '/api/v1/tokens')).body)).not.toContain(viewer.slice(-20));
    // A revoked token stops working at once; its name can go to a replacement.
    expect((await server.call('POST', '/api/v1/tokens', { body: { name: 'dash', role: 'viewer' } })).status).toBe(409);
    expect((await server.call('DELETE', '/api/v1/tokens/dash')).status).toBe(200);
    expect((await server.call('GET', '/api/v1/hosts', { token: viewer })).status).toBe(401);
    expect((await server.call('POST', '/api/v1/tokens', { body: { name: 'dash', role: 'viewer' } })).status).toBe(201);
  });

  test('a triggered pipeline run completes on the fleet; its status and per-host results are readable', async () => {
    const start = await server.call('POST', '/api/v1/pipelineruns', { body: { pipeline: 'configure', variables: { greeting: 'howdy' } } });
    expect(start.status).toBe(201);
    expect(start.body).toMatchObject({ kind: 'pipeline', name: 'configure', status: 'running' });
    expect(start.body.temporalWeb).toContain(`/workflows/${start.body.id}`);
    expect(start.headers.get('location')).toBe(`/api/v1/runs/${start.body.id}`);
    const run = await server.ended(start.body.id);
    expect(run).toMatchObject({ status: 'succeeded', kind: 'pipeline', name: 'configure', trigger: 'api', requester: 'admin', variables: { greeting: 'howdy' } });
    expect(run.result.stages.map((s: any) => `${s.name}:${s.status}`)).toEqual(['write:succeeded', 'again:succeeded']);
    const hosts = run.result.stages.flatMap((s: any) => s.tasks.flatMap((t: any) => t.hosts));
    expect(hosts).toHaveLength(6);
    expect(hosts.every((h: any) => h.status === 'succeeded')).toBe(true);
    for (const host of stack.fleet.hosts) expect((await stack.fleet.exec(host.name, `cat api/${host.name}/app.conf`)).stdout).toBe('greeting=howdy\n');
    const listed = await until('run in visibility', () => server.call('GET', '/api/v1/runs?pipeline=configure&status=succeeded&requester=admin'), (r) => r.body.items.some((i: any) => i.id === start.body.id));
    const garbage = await server.call('GET', '/api/v1/runs?pageToken=garbage');
    expect([garbage.status, garbage.body.message]).toEqual([400, 'invalid query: pageToken: must be a nextPageToken from an earlier page']);
    expect(listed.body.items.find((i: any) => i.id === start.body.id)).toMatchObject({ kind: 'pipeline', trigger: 'api', clusters: ['local'] });
    expect((await server.call('GET', '/api/v1/taskruns?task=write-config')).body.items.some((i: any) => i.id.startsWith(start.body.id))).toBe(false);
    const bad = await server.call('POST', '/api/v1/pipelineruns', { body: { pipeline: 'configure', variables: { greting: 'typo' } } });
    expect(bad.status).toBe(422);
    expect(bad.body.issues[0]).toMatchObject({ document: 'Pipeline/configure', path: 'variables.greting' });
    expect((await server.call('POST', '/api/v1/pipelineruns', { body: { pipeline: 'nope' } })).status).toBe(404);
    expect((await server.call('POST', '/api/v1/pipelineruns', { body: { pipeline: 'configure', extra: 1 } })).status).toBe(400);
    expect((await server.call('GET', '/api/v1/runs/no-such-run')).status).toBe(404);
  });

  test('a run is found under the collection of its kind only, and a body that is not JSON is refused as such', async () => {
    const start = await server.call('POST', '/api/v1/pipelineruns', { body: { pipeline: 'configure' } });
    expect(start.status).toBe(201);
    expect((await server.call('GET', `/api/v1/pipelineruns/${start.body.id}`)).status).toBe(200);
    const asTask = await server.call('GET', `/api/v1/taskruns/${start.body.id}`);
    expect([asTask.status, asTask.body.message]).toEqual([404, `${start.body.id} is not a task run`]);
    await server.ended(start.body.id);
    const plain = await server.call('POST', '/api/v1/taskruns', { body: JSON.stringify({ task: 'tick' }), headers: { 'Content-Type': 'text/plain' } });
    expect([plain.status, plain.body.message]).toEqual([415, 'the body must be JSON sent with Content-Type: application/json (it came as text/plain)']);
    // A POST without a body needs no type: cancelling the ended run is refused for having ended.
    expect((await server.call('POST', `/api/v1/runs/${start.body.id}/cancel`)).status).toBe(409);
  });

  test('a run encrypted with a key the server lacks is listed like any other, not an error', async () => {
    const hosts = stack.writeFile(`hosts-${storeName}.yaml`, stack.hostsYaml());
    const task = stack.writeFile(`foreign-${storeName}.yaml`, `apiVersion: ${API}\nkind: Task\nmetadata: { name: foreign }\nspec:\n  targets: { all: true }\n  steps: [{ name: s, shell: 'true' }]\n`);
    const started = await stack.ops(['run', '-f', hosts, '-f', task, '--task', 'foreign'], { env: { ...stack.env, OPS_DATA_DIR: join(stack.dir, `foreign-keys-${storeName}`) } });
    const id = /^run (\S+) started/m.exec(started.stdout)?.[1] ?? '';
    expect(id).toMatch(/^foreign-/);
    try {
      const listed = await until('the foreign run listed', () => server.call('GET', '/api/v1/runs?task=foreign'), (r) => r.status === 200 && r.body.items.some((i: any) => i.id === id));
      expect(listed.body.items.find((i: any) => i.id === id)).toMatchObject({ kind: 'task', name: 'foreign', status: 'running' });
    } finally {
      await stack.client.workflow.getHandle(id).terminate('test cleanup');
    }
  });

  test('an Idempotency-Key makes a retried trigger return the same run', async () => {
    const key = `retry-${storeName}-${Date.now()}`;
    const post = (variables: Record<string, string>) => server.call('POST', '/api/v1/taskruns', { body: { task: 'tick', variables }, headers: { 'Idempotency-Key': key } });
    const [a, b] = await Promise.all([post({ count: '1', token: 's3cret' }), post({ count: '1', token: 's3cret' })]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.body.id).toBe(b.body.id);
    const again = await post({ count: '1', token: 's3cret' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(a.body.id);
    const other = await post({ count: '2', token: 's3cret' });
    expect(other.status).toBe(422);
    const run = await server.ended(a.body.id);
    expect(run.status).toBe('succeeded');
    // The secret never comes back in clear.
    expect(run.variables).toEqual({ count: '1', token: '***' });
    expect(JSON.stringify(run)).not.toContain('s3cret');
    const replayedAfterEnd = await post({ count: '1', token: 's3cret' });
    expect(replayedAfterEnd.body.id).toBe(a.body.id);
    const runs = await until('visibility', () => server.call('GET', `/api/v1/taskruns?task=tick&requester=admin&limit=100`), (r) => r.body.items.some((i: any) => i.id === a.body.id));
    expect(runs.body.items.filter((i: any) => i.id === a.body.id)).toHaveLength(1);
  });

  test('log lines stream as Server-Sent Events while the step is still running, and resume from a position', async () => {
    const start = await server.call('POST', '/api/v1/taskruns', { body: { task: 'tick', variables: { count: '4' } } });
    expect(start.status).toBe(201);
    const id = start.body.id;
    const response = await fetch(`${server.url}/api/v1/runs/${id}/logs?follow=true&host=host-1`, { headers: { Authorization: `Bearer ${server.adminToken}` } });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events: Array<{ event: string; id?: string; data: any; runStatus?: string }> = [];
    let buffer = '';
    const decoder = new TextDecoder();
    for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(bytes, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
        const event = { event: field('event') ?? '', id: field('id'), data: JSON.parse(field('data') ?? 'null') };
        if (event.event === 'log' && events.filter((e) => e.event === 'log').length === 0) {
          // The first line arrives while the step is still running.
          (event as any).runStatus = (await server.call('GET', `/api/v1/runs/${id}`)).body.status;
        }
        events.push(event);
      }
    }
    const logs = events.filter((e) => e.event === 'log');
    expect((logs[0] as any).runStatus).toBe('running');
    expect(logs.map((e) => e.data.text).join('')).toBe('tick-1\ntick-2\ntick-3\ntick-4\n');
    expect(logs.length).toBeGreaterThanOrEqual(4);
    expect(logs[0].data).toMatchObject({ host: 'host-1', task: 'tick', step: 'tick', stream: 'stdout' });
    expect(events[events.length - 1].event).toBe('end');
    // Resume after the first chunk: the rest, without what was already seen.
    const resumed = await fetch(`${server.url}/api/v1/runs/${id}/logs`, { headers: { Authorization: `Bearer ${server.adminToken}`, 'Last-Event-ID': String(logs[0].id) } });
    const text = await resumed.text();
    expect(text).not.toContain('tick-1');
    expect(text).toContain('tick-4');
    expect(text).toContain('event: end');
  });

  test('cancel stops a run; rerun starts a new run with the same inputs', async () => {
    const long = await server.call('POST', '/api/v1/taskruns', { body: { task: 'tick', variables: { count: '60' } } });
    await until('the step started', () => server.call('GET', `/api/v1/runs/${long.body.id}`), (r) => r.body.progress?.tasks?.[0]?.hosts?.length > 0);
    const cancel = await server.call('POST', `/api/v1/runs/${long.body.id}/cancel`);
    expect(cancel.status).toBe(202);
    const cancelled = await server.ended(long.body.id, 30_000);
    expect(cancelled.status).toBe('cancelled');
    expect((await server.call('POST', `/api/v1/runs/${long.body.id}/cancel`)).status).toBe(409);
    const rerun = await server.call('POST', `/api/v1/runs/${long.body.id}/rerun`);
    expect(rerun.status).toBe(201);
    expect(rerun.body.id).not.toBe(long.body.id);
    const again = await server.call('GET', `/api/v1/runs/${rerun.body.id}`);
    expect(again.body).toMatchObject({ name: 'tick', variables: { count: '60' } });
    expect((await server.call('POST', `/api/v1/runs/${rerun.body.id}/cancel`)).status).toBe(202);
    expect((await server.ended(rerun.body.id, 30_000)).status).toBe('cancelled');
  });

  test('the CLI in server mode: apply, get, run --watch, logs, cancel, with exit codes that mean something', async () => {
    const env = server.env;
    const dir = stack.writeFile(`cli-${storeName}.yaml`, `apiVersion: ops.dev/v1\nkind: Task\nmetadata: { name: hello, labels: { team: ops } }\nspec:\n  targets: { hosts: [host-2] }\n  variables: [{ name: who, default: world }]\n  steps: [{ name: greet, shell: 'echo "hello \${who}"' }]\n`);
    const apply = await stack.ops(['apply', '-f', dir], { env });
    expect(apply).toMatchObject({ code: 0, stdout: 'task/hello created\n' });
    expect((await stack.ops(['apply', '-f', dir], { env })).stdout).toBe('task/hello unchanged\n');
    const table = await stack.ops(['get', 'tasks', '-l', 'team=ops'], { env });
    expect(table.stdout).toMatch(/^NAME\s+STEPS\s+TARGETS\s+VARIABLES\nhello\s+1\s+host-2\s+who\n$/);
    expect(JSON.parse((await stack.ops(['get', 'hosts', 'host-3', '-o', 'json'], { env })).stdout).spec.address).toBe(stack.fleet.hosts[2].address);
    const readBack = stack.writeFile(`host-3-${storeName}.yaml`, (await stack.ops(['get', 'hosts', 'host-3', '-o', 'yaml'], { env })).stdout);
    expect(await stack.ops(['apply', '-f', readBack], { env })).toMatchObject({ code: 0, stdout: 'host/host-3 unchanged\n' });
    const run = await stack.ops(['run', 'task', 'hello', '--var', 'who=cli', '--watch'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/✓ host-2\s+succeeded/);
    const id = /run (\S+) started/.exec(run.stdout)?.[1] as string;
    const logs = await stack.ops(['logs', id], { env });
    expect(logs.stdout).toBe('host-2 | hello cli\n');
    const otherHost = await stack.ops(['logs', id, '--host', 'host-3'], { env });
    expect([otherHost.code, otherHost.stdout, otherHost.stderr]).toEqual([3, '', `error: server answered 404: host-3 is not a host of run ${id} (its hosts: host-2)\n`]);
    // NATS not answering is an error (exit 5), not a run that printed nothing.
    const nats = execFileSync('pgrep', ['-f', `nats-server .*-p ${stack.nats.port} `]).toString().trim();
    process.kill(Number(nats), 'SIGSTOP');
    try {
      const frozen = await stack.ops(['logs', id], { env });
      expect([frozen.code, frozen.stdout, frozen.stderr]).toEqual([5, '', expect.stringContaining(`the Ops server could not give the whole output of ${id}: could not read the run's output from NATS`)]);
    } finally {
      process.kill(Number(nats), 'SIGCONT');
    }
    const runs = await stack.ops(['get', 'runs', '--task', 'hello', '-o', 'json'], { env });
    expect(JSON.parse(runs.stdout).items[0]).toMatchObject({ id, trigger: 'cli', status: 'succeeded' });
    expect((await stack.ops(['get', 'runs', id], { env })).stdout).toMatch(/hello\s+host-2\s+succeeded/);
    const rerun = await stack.ops(['rerun', id], { env });
    expect(rerun.code).toBe(0);
    const slow = await stack.ops(['run', 'task', 'tick', '--var', 'count=30', '-o', 'json'], { env });
    const slowId = JSON.parse(slow.stdout).runId;
    expect((await stack.ops(['cancel', slowId], { env })).code).toBe(0);
    const watched = await stack.ops(['watch', slowId], { env });
    expect(watched.code).toBe(1);
    expect(watched.stdout).toContain('run cancelled');
    expect((await stack.ops(['get', 'hosts', 'nope'], { env })).code).toBe(3);
    const tokens = JSON.parse((await stack.ops(['token', 'list', '-o', 'json'], { env })).stdout).items;
    expect(tokens.map((t: { role: string; token?: string }) => [t.role, t.token])).toContainEqual(['admin', undefined]);
    expect((await stack.ops(['get', 'hosts'], { env: { ...env, OPS_TOKEN: 'ops_0000000000000000_' + 'A'.repeat(43) } })).code).toBe(4);
    const bad = stack.writeFile(`bad-${storeName}.yaml`, `apiVersion: ops.dev/v1\nkind: Task\nmetadata: { name: bad }\nspec: { steps: [{ shell: x, timeoutSeconds: soon }] }\n`);
    const invalid = await stack.ops(['apply', '-f', bad], { env });
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('spec.steps[0].timeoutSeconds');
    expect((await stack.ops(['run', 'task', 'hello', '--var', 'nope=1'], { env })).code).toBe(2);
    expect((await stack.ops(['delete', 'task', 'hello'], { env })).stdout).toBe('task/hello deleted\n');
    expect((await stack.ops(['delete', 'task', 'hello'], { env })).code).toBe(3);
  });

  test('probes, metrics and the OpenAPI document', async () => {
    expect((await server.call('GET', '/healthz', { token: null })).status).toBe(200);
    const ready = await server.call('GET', '/readyz', { token: null });
    expect(ready).toMatchObject({ status: 200, body: { checks: { temporal: 'ok', nats: 'ok', store: 'ok' } } });
    const openapi = (await server.call('GET', '/openapi.json', { token: null })).body;
    expect(openapi.openapi).toBe('3.1.0');
    expect(openapi.components.schemas.Task.properties.spec.properties.steps).toBeDefined();
    expect(openapi.components.schemas.PipelineRunRequest.required).toEqual(['pipeline']);
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/v1/hosts/{name}', '/api/v1/pipelineruns', '/api/v1/runs/{id}/logs']));
    const metrics = await until('run metrics', async () => (await server.call('GET', '/metrics', { token: null })).body as string, (m) => /ops_runs_finished_total\{kind="pipeline",status="succeeded",trigger="api"\} [1-9]/.test(m));
    // The fleet's three hosts, and h-c2 of the references test.
    expect(metrics).toMatch(/ops_http_requests_total\{method="PUT",route="\/api\/v1\/hosts\/:name",status="201"\} 4/);
    expect(metrics).toMatch(/ops_runs_started_total\{kind="task",trigger="api"\} [1-9]/);
    expect(metrics).toMatch(/ops_run_duration_seconds_bucket\{le="\+Inf",kind="pipeline",status="succeeded"\} [1-9]/);
    // Every defined host is counted once, by its last heartbeat (or unknown before its first).
    const byState = [...metrics.matchAll(/^ops_hosts\{state="(\w+)"\} (\d+)$/gm)];
    expect(byState.map(([, state]) => state)).toEqual(expect.arrayContaining([expect.stringMatching(/^(unknown|reachable|unreachable)$/)]));
    expect(byState.reduce((n, [, , count]) => n + Number(count), 0)).toBe(3);
  });
});

