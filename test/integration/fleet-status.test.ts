// Heartbeats and inspections against the real stack: an `ops server`, an `ops worker`, sshd hosts.
// Schedules are Temporal's; the test triggers them rather than wait for their interval.
import { createHmac } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { arch, cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ScheduleNotFoundError } from '@temporalio/client';
import { startStack, workerLogs, type TestStack } from '../harness/stack';
import { startOpsServer, type OpsServer } from '../harness/server';
import { triggerSchedule } from '../harness/schedules';
import { untilWith } from '../harness/until';

const until = untilWith(async () => `${await scheduledRuns()}\n${workerLogs(stack)}\n${server.log()}`);

let stack: TestStack;
let server: OpsServer;
let receiver: Server;
const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
const HOOK_KEY = 'a-shared-secret-for-signing';
const API = 'ops.dev/v1';

beforeAll(async () => {
  stack = await startStack({ count: 2 });
  // The server signs webhooks with a secret from its credentials file, by name.
  writeFileSync(join(stack.dir, 'hook-key'), HOOK_KEY, { mode: 0o600 });
  appendFileSync(stack.env.OPS_CREDENTIALS_FILE as string, `  hook-key:\n    secretFile: ${join(stack.dir, 'hook-key')}\n`);
  const worker = stack.startWorker();
  server = await startOpsServer(stack, { name: 'fleet' });
  await worker.ready;
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  for (const h of stack.fleet.hosts) {
    const r = await server.call('PUT', `/api/v1/hosts/${h.name}`, { body: { apiVersion: API, kind: 'Host', metadata: { name: h.name }, spec: { address: h.address, port: h.port, hostKey: h.hostKeyFingerprint } } });
    expect(r.status).toBe(201);
  }
  // Hosts added to a cluster get their first heartbeat at once.
  await until('the new hosts to report', () => Promise.all(stack.fleet.hosts.map((h) => hostStatus(h.name))), (all) => all.every((s) => s.state === 'reachable'));
});

afterAll(async () => {
  receiver?.close();
  await server?.stop();
  await stack?.stop();
});

/** For failure messages: what the schedules started, and how it went. */
async function scheduledRuns(): Promise<string> {
  const lines: string[] = [];
  for await (const w of stack.client.workflow.list({ query: `OpsTrigger = 'schedule'` })) lines.push(`${w.workflowId} ${w.type} ${w.status.name}`);
  return lines.join('\n');
}

const put = async (plural: string, doc: { kind: string; metadata: { name: string }; spec: unknown }) => {
  const r = await server.call('PUT', `/api/v1/${plural}/${doc.metadata.name}`, { body: { apiVersion: API, ...doc } });
  expect([r.status, r.body.message]).toEqual([expect.any(Number), undefined]);
  return r;
};
const trigger = (scheduleId: string) => triggerSchedule(stack.client, scheduleId);
const hostStatus = async (name: string) => (await server.call('GET', `/api/v1/hosts/${name}`)).body.status;

test('a heartbeat marks a stopped host unreachable and a running one reachable, with its facts', async () => {
  await stack.fleet.stopHost('host-2');
  try {
    const before = Date.now();
    await trigger('ops-heartbeat-local');
    const seen = (s: { observedAt?: string } | undefined) => Boolean(s?.observedAt && Date.parse(s.observedAt) >= before);
    const [up, down] = await until('both hosts to report', () => Promise.all([hostStatus('host-1'), hostStatus('host-2')]), ([a, b]) => seen(a) && seen(b));
    expect(up).toMatchObject({ host: 'host-1', cluster: 'local', state: 'reachable' });
    expect(up.facts).toMatchObject({ kernel: release(), architecture: arch() === 'x64' ? 'x86_64' : expect.any(String), cpus: expect.any(Number) });
    expect(up.facts.cpus).toBeGreaterThanOrEqual(1);
    expect(up.facts.cpus).toBeLessThanOrEqual(cpus().length);
    expect(Math.abs(up.facts.memory.totalBytes - totalmem()) / totalmem()).toBeLessThan(0.05);
    expect(up.facts.load).toHaveLength(3);
    expect(up.facts.disks).toEqual(expect.arrayContaining([expect.objectContaining({ mount: '/', usePercent: expect.any(Number) })]));
    expect(up.facts.accelerators).toEqual([]);
    expect(down).toMatchObject({ host: 'host-2', state: 'unreachable', failure: 'HostUnreachable', reason: expect.stringMatching(/ECONNREFUSED|refused/) });

    // The same as the CLI shows them, as events, and as the cluster's own status.
    const wide = await stack.ops(['get', 'hosts', '-o', 'wide'], { env: server.env });
    expect(wide.stdout).toMatch(new RegExp(`host-1\\s+${stack.fleet.hosts[0].address}\\s+local\\s+reachable\\s+.*${release().replace(/[.+]/g, '\\$&')}`));
    expect(wide.stdout).toMatch(/host-2\s+\S+\s+local\s+unreachable\s+.*ECONNREFUSED|refused/);
    const events = (await server.call('GET', '/api/v1/events?subject=ops.clusters.local.hosts.*.status&since=5m')).body.items;
    expect(events.map((e: any) => `${e.subject} ${e.event.type} ${e.event.data.state}`)).toEqual(
      expect.arrayContaining(['ops.clusters.local.hosts.host-1.status dev.ops.host.status reachable', 'ops.clusters.local.hosts.host-2.status dev.ops.host.status unreachable']),
    );
    const cluster = await until('the cluster status', () => server.call('GET', '/api/v1/clusters/local'), (r) => r.body.status.heartbeat?.hosts?.unreachable === 1);
    expect(cluster.body.status.heartbeat).toMatchObject({ cluster: 'local', hosts: { reachable: 1, unreachable: 1 } });
    const metrics = (await server.call('GET', '/metrics', { token: null })).body as string;
    expect(metrics).toMatch(/ops_hosts\{state="reachable"\} 1/);
    expect(metrics).toMatch(/ops_hosts\{state="unreachable"\} 1/);
  } finally {
    await stack.fleet.startHost('host-2');
  }
});

test('adding a cluster adds its heartbeat schedule, removing it removes it', async () => {
  await put('clusters', { kind: 'Cluster', metadata: { name: 'east' }, spec: { heartbeat: { every: '10m', jitter: '5s' } } });
  const described = await stack.client.schedule.getHandle('ops-heartbeat-east').describe();
  expect(described.spec.intervals).toEqual([{ every: 600_000 }]);
  expect(described.policies.overlap).toBe('SKIP');
  expect(described.action).toMatchObject({ workflowType: 'heartbeatRun', taskQueue: 'ops.cluster.east' });
  expect((await server.call('DELETE', '/api/v1/clusters/east')).status).toBe(200);
  await expect(stack.client.schedule.getHandle('ops-heartbeat-east').describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
});

test('an inspection past its threshold alerts a webhook (signed) and starts a remediation pipeline', async () => {
  const fullest = Math.max(...(await hostStatus('host-1')).facts.disks.map((d: { usePercent: number }) => d.usePercent));
  await put('tasks', {
    kind: 'Task',
    metadata: { name: 'note-alert' },
    spec: {
      targets: { hosts: ['host-1'] },
      variables: [{ name: 'target', required: true }, { name: 'value', required: true }, { name: 'mount', required: true }],
      steps: [{ shell: 'mkdir -p alerts && echo "${target} ${value} ${mount}" >> "alerts/${run.id}"' }],
    },
  });
  await put('pipelines', {
    kind: 'Pipeline',
    metadata: { name: 'remediate' },
    spec: { variables: [{ name: 'target' }, { name: 'value' }, { name: 'mount' }], stages: [{ name: 'note', tasks: [{ task: 'note-alert' }] }] },
  });
  const subject = 'ops.clusters.local.inspections.disk-usage.>';
  const alerting = { field: 'data.state', equals: 'alerting' };
  const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/alerts`;
  await put('eventhooks', { kind: 'EventHook', metadata: { name: 'disk-webhook' }, spec: { subject, match: [alerting], webhook: { url, secretRef: 'hook-key' } } });
  await put('eventhooks', {
    kind: 'EventHook',
    metadata: { name: 'disk-remediate' },
    spec: { subject, match: [alerting, { field: 'data.target', equals: 'host-1' }], run: { pipeline: 'remediate', variables: { target: '${data.target}', value: '${data.value}', mount: '${data.detail}' } } },
  });
  // Lower the threshold under what the hosts use now, so they alert.
  const inspection = (alertAbove: number) => ({ kind: 'Inspection', metadata: { name: 'disk-usage' }, spec: { metric: 'diskUsePercent', alertAbove, every: '1h' } });
  // A new inspection's schedule runs it at once: no trigger, or it would alert twice.
  await put('inspections', inspection(fullest - 1));

  const alerts = await until('both alerts at the receiver', async () => received.filter((r) => r.headers['x-ops-hook'] === 'disk-webhook'), (r) => r.length >= 2);
  for (const { headers, body } of alerts) {
    expect(headers['x-ops-signature']).toBe(`sha256=${createHmac('sha256', HOOK_KEY).update(body).digest('hex')}`);
    expect(headers['content-type']).toBe('application/cloudevents+json');
    const event = JSON.parse(body);
    expect(event).toMatchObject({ specversion: '1.0', type: 'dev.ops.inspection.alerting', data: { inspection: 'disk-usage', metric: 'diskUsePercent', state: 'alerting', threshold: { above: fullest - 1 } } });
    expect(event.data.value).toBeGreaterThan(fullest - 1);
    expect(headers['x-ops-event-id']).toBe(event.id);
  }
  expect(alerts.map((a) => JSON.parse(a.body).data.target).sort()).toEqual(['host-1', 'host-2']);

  const runs = await until('the remediation run to succeed', () => server.call('GET', '/api/v1/runs?pipeline=remediate&trigger=event'), (r) => r.body.items.length === 1 && r.body.items[0].status === 'succeeded');
  expect(runs.body.items[0]).toMatchObject({ requester: 'eventhook:disk-remediate', trigger: 'event' });
  const fired = JSON.parse(alerts.find((a) => JSON.parse(a.body).data.target === 'host-1')!.body).data;
  expect((await stack.fleet.exec('host-1', `cat "alerts/${runs.body.items[0].id}"`)).stdout).toBe(`host-1 ${fired.value} ${fired.detail}\n`);

  // The remediation's task run announced itself as it started and as it ended.
  const announced = await until('the run status events', async () => (await server.call('GET', '/api/v1/events?subject=ops.clusters.local.runs.*.status&since=5m')).body.items.map((i: any) => i.event.data).filter((d: any) => d.runId === runs.body.items[0].id), (d) => d.length === 2);
  expect(announced.map((d: any) => d.status)).toEqual(['running', 'succeeded']);
  expect(announced[1]).toMatchObject({ kind: 'task', task: 'note-alert', cluster: 'local', trigger: 'event', requester: 'eventhook:disk-remediate', hosts: { total: 1, succeeded: 1 } });

  const listed = await stack.ops(['get', 'inspections'], { env: server.env });
  expect(listed.stdout).toMatch(/disk-usage\s+local\s+diskUsePercent\s+>\s+\d+\s+every 1h\s+2\/2 \(host-1,host-2\)/);

  // Raised above what is used, the same inspection finds both normal, and the hooks stay quiet.
  await put('inspections', inspection(100));
  await trigger('ops-inspection-disk-usage');
  await until('both normal', async () => (await server.call('GET', '/api/v1/inspections/disk-usage')).body.status.results, (r: any[]) => r.length === 2 && r.every((x) => x.state === 'normal' && x.threshold.above === 100));
  expect(received.filter((r) => r.headers['x-ops-hook'] === 'disk-webhook')).toHaveLength(2);
  expect((await server.call('GET', '/api/v1/runs?pipeline=remediate')).body.items).toHaveLength(1);
});

test('a failed task run is announced as an event; a hook on failed runs tells a webhook why, another reruns it once', async () => {
  const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/runs`;
  const failed = { subject: 'ops.clusters.*.runs.*.status', match: [{ field: 'data.status', equals: 'failed' }] };
  await put('eventhooks', { kind: 'EventHook', metadata: { name: 'failed-runs' }, spec: { ...failed, webhook: { url } } });
  await put('tasks', { kind: 'Task', metadata: { name: 'breaks' }, spec: { targets: { hosts: ['host-1', 'host-2'] }, steps: [{ shell: 'exit 3' }] } });
  // Its own run fails too, and it must not start another for that failure.
  await put('eventhooks', { kind: 'EventHook', metadata: { name: 'rerun-breaks' }, spec: { ...failed, match: [...failed.match, { field: 'data.task', equals: 'breaks' }], run: { task: 'breaks' } } });
  // Someone following the run events on the command line sees them arrive.
  const stopFollowing = new AbortController();
  let followedSoFar = '';
  const following = stack.ops(['events', '-f', '--subject', 'ops.clusters.local.runs.*.status', '--since', '1m'], { env: server.env, signal: stopFollowing.signal, onStdout: (soFar) => (followedSoFar = soFar) });
  const started = await server.call('POST', '/api/v1/taskruns', { body: { task: 'breaks' } });
  expect(started.status).toBe(201);
  expect((await server.ended(started.body.id)).status).toBe('failed');

  const delivered = await until('both failures at the receiver', async () => received.filter((r) => r.headers['x-ops-hook'] === 'failed-runs').map((r) => JSON.parse(r.body)), (r) => r.length >= 2);
  const mine = delivered.find((e) => e.data.run === started.body.id);
  expect(mine).toMatchObject({ type: 'dev.ops.run.status', subject: `ops.clusters.local.runs.${started.body.id}.status` });
  expect(mine.data).toMatchObject({ runId: started.body.id, task: 'breaks', status: 'failed', hosts: { total: 2, failed: 2 }, trigger: 'api', requester: 'admin' });
  expect(mine.data.reason).toMatch(/2 of 2 hosts failed .*host-1 failed \(exit 3\)/);
  const rerun = delivered.find((e) => e.data.run !== started.body.id);
  expect(rerun.data).toMatchObject({ task: 'breaks', status: 'failed', trigger: 'event', requester: 'eventhook:rerun-breaks' });

  // Once the rerun hook has taken its own run's failure off its queue, there are still just the two runs.
  await until('the rerun hook to be idle', () => server.call('GET', '/api/v1/eventhooks/rerun-breaks'), (r) => r.body.status.pending === 0 && r.body.status.delivering === 0);
  expect((await server.call('GET', '/api/v1/runs?task=breaks')).body.items.map((r: any) => r.requester).sort()).toEqual(['admin', 'eventhook:rerun-breaks']);
  // Only failures reached the webhook: the runs' "running" events did not match.
  expect(received.filter((r) => r.headers['x-ops-hook'] === 'failed-runs')).toHaveLength(2);

  const subject = `ops.clusters.local.runs.${started.body.id}.status`;
  await until('the follower to print the end', async () => followedSoFar, (out) => out.includes(`${subject}  dev.ops.run.status  failed`));
  stopFollowing.abort();
  const followed = await following;
  expect(followed.code).toBe(130);
  expect(followed.stdout.split('\n').filter((l) => l.includes(subject))).toEqual([
    expect.stringMatching(/^\S+ {2}\S+ {2}dev\.ops\.run\.status {2}running$/),
    expect.stringMatching(/^\S+ {2}\S+ {2}dev\.ops\.run\.status {2}failed 2 of 2 hosts failed/),
  ]);
  // Without a server, straight from NATS, as JSON lines.
  const direct = await stack.ops(['events', '--subject', subject, '--since', '5m', '-o', 'json']);
  expect(direct.stdout.trim().split('\n').map((l) => JSON.parse(l).event.data.status)).toEqual(['running', 'failed']);
});
