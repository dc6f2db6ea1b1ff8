// Events and logs from a cluster's own NATS reach the hub over a leafnode link, also those published
// while the link was cut: two nats-servers (edge and hub), the cluster's worker on the edge, the
// server on the hub. The edge keeps what it publishes; the hub's streams source the edge's.
import { connect, type JsMsg, type NatsConnection } from 'nats';
import { startStack, workerLogs, type TestStack } from '../harness/stack';
import { startOpsServer, type OpsServer } from '../harness/server';
import { hubWithLink, leafnodes, startEdge, type Link } from '../harness/nats-link';
import { triggerSchedule } from '../harness/schedules';
import type { NatsServer } from '../../workers/embedded/nats-server';
import { EVENTS_STREAM, LOGS_STREAM } from '../../model/naming';
import { untilWith } from '../harness/until';

const until = untilWith(() => `${workerLogs(stack)}\n${server.log()}`, 90_000);

let stack: TestStack;
let link: Link;
let edge: NatsServer;
let server: OpsServer;
const API = 'ops.dev/v1';

beforeAll(async () => {
  const hub = await hubWithLink();
  link = hub.link;
  stack = await startStack({ count: 1 }, { natsConfig: hub.config });
  edge = await startEdge('east', link);
  await leafnodes(stack.nats, 1);
  // The cluster's worker knows only its own NATS; the server only the hub.
  const worker = stack.startWorker(['--cluster', 'east'], { OPS_NATS_URL: edge.url });
  server = await startOpsServer(stack, { name: 'hub' });
  await worker.ready;
  const h = stack.fleet.hosts[0];
  for (const [plural, doc] of [
    ['clusters', { kind: 'Cluster', metadata: { name: 'east' }, spec: { heartbeat: { every: '1h' } } }],
    ['hosts', { kind: 'Host', metadata: { name: 'host-1' }, spec: { address: h.address, port: h.port, hostKey: h.hostKeyFingerprint, cluster: 'east' } }],
    ['tasks', { kind: 'Task', metadata: { name: 'say' }, spec: { targets: { hosts: ['host-1'] }, variables: [{ name: 'word', required: true }], steps: [{ shell: 'for i in 1 2 3; do echo "${word} $i"; done' }] } }],
  ] as const) {
    const r = await server.call('PUT', `/api/v1/${plural}/${doc.metadata.name}`, { body: { apiVersion: API, ...doc } });
    expect(r.status).toBe(201);
  }
});

afterAll(async () => {
  await server?.stop();
  link?.close();
  await edge?.stop();
  await stack?.stop();
});

/** Every message of a stream (whose subject starts with `prefix`), oldest first. */
async function messages(nc: NatsConnection, stream: string, prefix: string): Promise<JsMsg[]> {
  const jsm = await nc.jetstreamManager();
  const { state } = await jsm.streams.info(stream);
  const found: JsMsg[] = [];
  if (!state.messages) return found;
  const consumer = await jsm.consumers.add(stream, { ack_policy: 'none' as never, inactive_threshold: 30e9 });
  const iter = await (await nc.jetstream().consumers.get(stream, consumer.name)).consume();
  for await (const m of iter) {
    if (m.subject.startsWith(prefix)) found.push(m);
    if (m.info.pending === 0) break;
  }
  iter.stop();
  await jsm.consumers.delete(stream, consumer.name);
  return found;
}

/** Which edge message each hub copy is: the source sequence in its Nats-Stream-Source header. */
const sourceSeq = (m: JsMsg) => Number(m.headers?.get('Nats-Stream-Source')?.split(' ').pop());

async function startRun(word: string): Promise<string> {
  const r = await server.call('POST', '/api/v1/taskruns', { body: { task: 'say', variables: { word } } });
  expect(r.status).toBe(201);
  return r.body.id;
}

test('what the edge publishes reaches the hub, also while the link is cut: none lost, none twice', async () => {
  const [hubNc, edgeNc] = await Promise.all([stack.natsConnection(), connect({ servers: edge.url })]);
  try {
    await triggerSchedule(stack.client, 'ops-heartbeat-east');
    await until('host-1 to be reported at the hub', () => server.call('GET', '/api/v1/hosts/host-1'), (r) => r.body.status.state === 'reachable');
    const before = await startRun('before');
    await until('the first run', () => server.call('GET', `/api/v1/runs/${before}`), (r) => r.body.status === 'succeeded');

    // Everything so far has reached the hub; then the link goes.
    const cutAt = (await messages(edgeNc, EVENTS_STREAM, 'ops.clusters.east.')).length;
    await until('the hub to have all so far', () => messages(hubNc, EVENTS_STREAM, 'ops.clusters.east.'), (m) => m.length === cutAt);
    link.cut();
    await Promise.all([leafnodes(stack.nats, 0), leafnodes(edge, 0)]);
    for (let i = 0; i < 3; i += 1) await triggerSchedule(stack.client, 'ops-heartbeat-east');
    const during = await startRun('during');
    await until('the run during the cut', () => server.call('GET', `/api/v1/runs/${during}`), (r) => r.body.status === 'succeeded');
    // The cluster kept working: its runs ran and its NATS kept every event; the hub has none of the new ones.
    const atEdge = await until('the edge to keep the heartbeats', () => messages(edgeNc, EVENTS_STREAM, 'ops.clusters.east.'), (m) => m.length >= cutAt + 6);
    expect((await messages(hubNc, EVENTS_STREAM, 'ops.clusters.east.')).length).toBe(cutAt);
    expect((await stack.ops(['logs', during], { env: server.env })).stdout).toBe('');

    link.restore();
    await leafnodes(stack.nats, 1);
    const atHub = await until('the hub to catch up', () => messages(hubNc, EVENTS_STREAM, 'ops.clusters.east.'), (m) => m.length >= atEdge.length);
    await new Promise((r) => setTimeout(r, 2000)); // anything copied twice would show by now
    const hubCopies = await messages(hubNc, EVENTS_STREAM, 'ops.clusters.east.');
    // Every edge message once, in order, and nothing the hub took directly (the edge exports none of it).
    expect(hubCopies.map(sourceSeq)).toEqual(atEdge.map((m) => m.seq));
    expect(hubCopies.map((m) => m.json<{ id: string }>().id)).toEqual(atEdge.map((m) => m.json<{ id: string }>().id));
    expect(new Set(hubCopies.map((m) => m.json<{ id: string }>().id)).size).toBe(hubCopies.length);
    expect(atHub.length).toBe(atEdge.length);

    // The API reads them from the hub, and the run's output published during the cut is there too.
    const listed = (await server.call('GET', '/api/v1/events?subject=ops.clusters.east.hosts.host-1.status&since=10m')).body.items;
    expect(listed.length).toBe(atEdge.filter((m) => m.subject === 'ops.clusters.east.hosts.host-1.status').length);
    const output = await until('the run output at the hub', () => stack.ops(['logs', during], { env: server.env }), (r) => r.stdout.includes('during 3'));
    expect(output.stdout).toBe('host-1 | during 1\nhost-1 | during 2\nhost-1 | during 3\n');
    const edgeLogs = await messages(edgeNc, LOGS_STREAM, `ops.logs.${during}.`);
    expect((await messages(hubNc, LOGS_STREAM, `ops.logs.${during}.`)).map(sourceSeq)).toEqual(edgeLogs.map((m) => m.seq));
  } finally {
    await Promise.all([hubNc.close(), edgeNc.close()]);
  }
});
