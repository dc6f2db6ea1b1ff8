// EventHooks against a real `ops server` and NATS: a webhook receiver that is down for 30 s gets every
// event once it is back; one that keeps failing gets its events parked, where the API shows them and
// replays them; a hook re-publishes events on another subject.
import { createServer, type Server } from 'node:http';
import type { NatsConnection } from 'nats';
import { startStack, type TestStack } from '../harness/stack';
import { startOpsServer, type OpsServer } from '../harness/server';
import { freePort } from '../../workers/embedded/processes';
import { cloudEvent } from '../../activities/events';
import { untilWith } from '../harness/until';

const until = untilWith(() => server.log());

let stack: TestStack;
let server: OpsServer;
let nc: NatsConnection;
let port: number;
let receiver: Server | undefined;
/** Event ids each hook received and answered 2xx for. */
const delivered: Record<string, string[]> = {};
/** Hooks the receiver answers 500 for. */
const failing = new Set<string>();
const API = 'ops.dev/v1';
const SUBJECT = 'ops.clusters.local.inspections.synthetic';

beforeAll(async () => {
  stack = await startStack({ count: 1 });
  server = await startOpsServer(stack, { name: 'hooks' });
  nc = await stack.natsConnection();
  port = await freePort();
});

afterAll(async () => {
  receiver?.close();
  await nc?.close();
  await server?.stop();
  await stack?.stop();
});

function receiverUp(): Promise<void> {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const hook = String(req.headers['x-ops-hook']);
      if (failing.has(hook)) return void res.writeHead(500).end('not today');
      (delivered[hook] ??= []).push(JSON.parse(body).id);
      res.writeHead(200).end();
    });
  });
  return new Promise((r) => (receiver as Server).listen(port, '127.0.0.1', () => r()));
}

const hook = (name: string, spec: Record<string, unknown>) => server.call('PUT', `/api/v1/eventhooks/${name}`, { body: { apiVersion: API, kind: 'EventHook', metadata: { name }, spec } });

/** An inspection verdict as a worker publishes it, straight into the hub's stream. */
async function publish(target: string, state = 'alerting'): Promise<string> {
  const id = `synthetic/${target}`;
  const event = cloudEvent({ subject: `${SUBJECT}.${target}`, type: `dev.ops.inspection.${state}`, id, data: { inspection: 'synthetic', target, state, value: 99 } }, '/test');
  await nc.jetstream().publish(`${SUBJECT}.${target}`, JSON.stringify(event), { msgID: id });
  return id;
}

test('a hook whose receiver is down for 30 s delivers every event once it is back', async () => {
  const url = `http://127.0.0.1:${port}/events`;
  expect((await hook('patient', { subject: `${SUBJECT}.>`, match: [{ field: 'data.state', equals: 'alerting' }], webhook: { url, timeoutSeconds: 2 }, retry: { maxAttempts: 100, backoffSeconds: 1, maxBackoffSeconds: 5 } })).status).toBe(201);
  const down = Date.now();
  const sent: string[] = [];
  // Events keep coming while the receiver is down; the normal ones the hook does not select.
  for (let i = 0; i < 15; i += 1) {
    sent.push(await publish(`down-${i}`));
    await publish(`quiet-${i}`, 'normal');
    await new Promise((r) => setTimeout(r, 1500));
  }
  const status = await server.call('GET', '/api/v1/eventhooks/patient');
  expect(status.body.status).toMatchObject({ parked: 0 });
  expect(status.body.status.pending + status.body.status.delivering).toBeGreaterThan(0);
  await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - down))));
  expect(delivered.patient).toBeUndefined();
  await receiverUp();
  const up = Date.now();
  await until('every event to arrive', async () => delivered.patient ?? [], (ids) => ids.length >= sent.length, 30_000);
  console.log(`receiver down ${Math.round((up - down) / 1000)} s; all ${sent.length} events delivered ${((Date.now() - up) / 1000).toFixed(1)} s after it came back`);
  await new Promise((r) => setTimeout(r, 2000));
  // Every selected event exactly once: an acknowledged delivery is not repeated.
  expect([...delivered.patient].sort()).toEqual([...sent].sort());
  expect((await server.call('GET', '/api/v1/eventhooks/patient')).body.status).toMatchObject({ parked: 0, pending: 0, delivering: 0 });
});

test('after its last attempt an event is parked; the API lists it and replays it', async () => {
  if (!receiver) await receiverUp();
  failing.add('flaky');
  const url = `http://127.0.0.1:${port}/events`;
  expect((await hook('flaky', { subject: `${SUBJECT}.>`, webhook: { url }, retry: { maxAttempts: 3, backoffSeconds: 0.2, maxBackoffSeconds: 0.5 } })).status).toBe(201);
  const id = await publish('parked-1');
  const parked = await until('the event to be parked', async () => (await server.call('GET', '/api/v1/eventhooks/flaky/parked')).body.items, (items: any[]) => items.length === 1);
  expect(parked[0]).toMatchObject({ hook: 'flaky', eventId: id, subject: `${SUBJECT}.parked-1`, attempts: 3, error: `POST ${url}: HTTP 500: not today`, event: { id, data: { target: 'parked-1' } } });
  const listed = await stack.ops(['hook', 'parked', 'flaky'], { env: server.env });
  expect(listed.stdout).toMatch(new RegExp(`${parked[0].id}\\s+${id}\\s+${SUBJECT}.parked-1\\s+3\\s+\\S+\\s+POST`));

  // Still failing: the replay says so and the event stays parked, one attempt more.
  const again = await stack.ops(['hook', 'replay', 'flaky', parked[0].id], { env: server.env });
  expect([again.code, again.stdout]).toEqual([1, `parked event ${parked[0].id}: failed again: POST ${url}: HTTP 500: not today\n`]);
  expect((await server.call('GET', '/api/v1/eventhooks/flaky/parked')).body.items[0].attempts).toBe(4);

  failing.delete('flaky');
  const replayed = await stack.ops(['hook', 'replay', 'flaky'], { env: server.env });
  expect(replayed.stdout).toBe(`parked event ${parked[0].id}: delivered: POST ${url}: HTTP 200\n1 delivered, 0 still parked\n`);
  expect(delivered.flaky).toEqual([id]);
  expect((await server.call('GET', '/api/v1/eventhooks/flaky/parked')).body.items).toEqual([]);
  const audit = (await server.call('GET', '/api/v1/audit?limit=5')).body.items.map((e: any) => e.action);
  expect(audit).toContain('replay 1 parked event(s): 1 delivered');
});

test('a deleted hook takes its parked events with it: a new hook of its name starts clean', async () => {
  if (!receiver) await receiverUp();
  failing.add('hbad');
  const spec = { subject: `${SUBJECT}.>`, match: [{ field: 'data.target', regex: '^gone-' }], webhook: { url: `http://127.0.0.1:${port}/events` }, retry: { maxAttempts: 1 } };
  expect((await hook('hbad', spec)).status).toBe(201);
  await publish('gone-1');
  await publish('gone-2');
  await until('both events to be parked', async () => (await server.call('GET', '/api/v1/eventhooks/hbad/parked')).body.items, (items: any[]) => items.length === 2);
  expect((await stack.ops(['delete', 'eventhook', 'hbad'], { env: server.env })).code).toBe(0);
  failing.delete('hbad');
  expect((await hook('hbad', spec)).status).toBe(201);
  expect((await server.call('GET', '/api/v1/eventhooks/hbad/parked')).body.items).toEqual([]);
  expect((await stack.ops(['hook', 'replay', 'hbad'], { env: server.env })).stdout).toBe('0 delivered, 0 still parked\n');
  expect(delivered.hbad).toBeUndefined();
});

test('a run hook is checked when applied: its variables declared, literals valid, a secret only from the event', async () => {
  const task = { apiVersion: API, kind: 'Task', metadata: { name: 'hello' }, spec: { targets: { all: true }, variables: [{ name: 'pw', secret: true }, { name: 'mode', enum: ['fast', 'slow'], default: 'fast' }], steps: [{ shell: 'true' }] } };
  expect((await server.call('PUT', '/api/v1/tasks/hello', { body: task })).status).toBe(201);
  const runHook = (variables: Record<string, string>) => hook('hsec', { subject: 'ops.approvals.*.pending', run: { task: 'hello', variables } });
  const stored = await runHook({ pw: 'LiteralSecret1' });
  expect([stored.status, stored.body.issues]).toEqual([422, [{ document: 'EventHook/hsec', path: 'spec.run.variables.pw', message: expect.stringContaining('kept in clear') }]]);
  expect(JSON.stringify(stored.body)).not.toContain('LiteralSecret1');
  const wrong = await runHook({ nope: '${data.x}', mode: 'medium' });
  expect([wrong.status, wrong.body.issues.map((i: any) => i.path)]).toEqual([422, ['spec.run.variables.nope', 'spec.run.variables.mode']]);
  expect((await server.call('GET', '/api/v1/eventhooks/hsec')).status).toBe(404);
  expect((await runHook({ pw: '${data.password}', mode: '${data.mode}' })).status).toBe(201);
});

test('a hook re-publishes the events it selects on another subject', async () => {
  const copies: string[] = [];
  const sub = nc.subscribe('alerts.synthetic');
  void (async () => {
    for await (const m of sub) copies.push(m.json<{ id: string }>().id);
  })();
  expect((await hook('forward', { subject: `${SUBJECT}.>`, match: [{ field: 'data.target', regex: '^fwd-' }], publish: { subject: 'alerts.synthetic' } })).status).toBe(201);
  const ids = [await publish('fwd-1'), await publish('other-1'), await publish('fwd-2')];
  await until('both copies', async () => copies, (c) => c.length >= 2);
  expect(copies).toEqual([ids[0], ids[2]]);
  sub.unsubscribe();
});
