// Reading a run's output from JetStream (api/logs.ts) against a real nats-server: what is stored,
// and following it also across restarts of the server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, headers, type NatsConnection } from 'nats';
import { startNats, type NatsServer } from '../../workers/embedded/nats-server';
import { ensureStream, logStreamConfig } from '../../activities/streams';
import { LOGS_STREAM, logSubject } from '../../model/naming';
import { readLogs, type LogChunk } from '../../api/logs';
import { until } from '../harness/until';
import { natsConnection } from '../../cli/context';
import type { OpsConfig } from '../../workers/config';

const storeDir = mkdtempSync(join(tmpdir(), 'ops-log-reading-'));
let nats: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats({ storeDir });
  // As the API server connects: it keeps trying while the server is away.
  nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  await ensureStream(nc, logStreamConfig());
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
  rmSync(storeDir, { recursive: true, force: true });
});

/** Publishes a chunk of a run's output as a worker does; retried while the server is coming back (the id drops a repeat). */
function publish(runId: string, host: string, text: string) {
  const h = headers();
  h.set('Ops-Host', host);
  h.set('Ops-Stream', 'stdout');
  return until(`"${text}" published`, () => nc.jetstream().publish(logSubject(runId, host), text, { headers: h, msgID: `${runId}.${text}` }), () => true, { timeoutMs: 30_000 });
}

const consumers = async () => (await (await nc.jetstreamManager()).consumers.list(LOGS_STREAM).next()).map((c) => c.name);

test('following a run keeps delivering its output across NATS restarts, also one that loses its consumer; none twice', async () => {
  const stop = new AbortController();
  const read: LogChunk[] = [];
  const following = (async () => {
    for await (const chunk of readLogs(nc, 'restart-a1', { follow: true, signal: stop.signal })) read.push(chunk);
  })();
  const texts = async () => read.map((c) => c.text);
  await publish('restart-a1', 'host-1', 'one');
  await until('the first chunk', texts, (t) => t.length === 1);

  // The server keeps an ephemeral consumer over a restart on the same store…
  await nats.restart();
  await publish('restart-a1', 'host-1', 'two');
  await until('the chunk after the restart', texts, (t) => t.length === 2, { timeoutMs: 30_000 });

  // …but comes back without it when it was lost meanwhile (its inactive threshold passed, a store
  // restored from before it), as here: removed from the store while the server is down.
  const [consumer] = await consumers();
  await nats.stop();
  rmSync(join(storeDir, 'jetstream', '$G', 'streams', LOGS_STREAM, 'obs', consumer), { recursive: true });
  nats = await startNats({ storeDir, port: nats.port });
  await publish('restart-a1', 'host-1', 'three');
  await until('the chunk after the restart without the consumer', texts, (t) => t.length === 3, { timeoutMs: 30_000 });

  stop.abort();
  await following;
  expect(read.map((c) => `${c.host} ${c.text}`)).toEqual(['host-1 one', 'host-1 two', 'host-1 three']);
  expect(await consumers()).toEqual([]);
});

test('ops logs -f follows on across a NATS outage longer than the client would retry by default (10 tries, 2 s apart)', async () => {
  const cli = await natsConnection({ natsUrl: nats.url } as OpsConfig);
  const stop = new AbortController();
  const read: string[] = [];
  const following = (async () => {
    for await (const chunk of readLogs(cli, 'outage-a1', { follow: true, signal: stop.signal })) read.push(chunk.text);
  })();
  await publish('outage-a1', 'host-1', 'before');
  await until('the chunk before the outage', async () => read, (r) => r.length === 1);
  await nats.stop();
  await new Promise((r) => setTimeout(r, 25_000));
  nats = await startNats({ storeDir, port: nats.port });
  await publish('outage-a1', 'host-1', 'after');
  await until('the chunk after the outage', async () => read, (r) => r.length === 2, { timeoutMs: 30_000 });
  stop.abort();
  await following;
  await cli.close();
  expect(read).toEqual(['before', 'after']);
}, 90_000);

test('following ends when it is stopped while its consumer is still being made, with no output ever published', async () => {
  // `ops shell` stops following as soon as its run ends; a run that fails at once (a push into a
  // missing directory) ends before the consumer exists.
  for (const delayMs of [0, 1, 3, 10]) {
    const stop = new AbortController();
    const following = (async () => {
      for await (const chunk of readLogs(nc, `silent-${delayMs}`, { follow: true, signal: stop.signal })) throw new Error(`unexpected ${chunk.text}`);
    })();
    setTimeout(() => stop.abort(), delayMs);
    await expect(Promise.race([following.then(() => 'ended'), new Promise((r) => setTimeout(() => r('still following'), 5_000))])).resolves.toBe('ended');
  }
  await until('no consumer left', consumers, (c) => c.length === 0);
});

test('reading what is stored stops at the last chunk, and a reader stopping early deletes its consumer', async () => {
  const chunks = async (options: { follow: boolean; host?: string }) => {
    const found: LogChunk[] = [];
    for await (const chunk of readLogs(nc, 'stored-b2', options)) found.push(chunk);
    return found;
  };
  expect(await chunks({ follow: false })).toEqual([]);
  await publish('stored-b2', 'host-1', 'one');
  await publish('stored-b2', 'host-2', 'two');
  await publish('stored-b2', 'host-1', 'three');
  const stored = await chunks({ follow: false });
  expect(stored.map((c) => c.text)).toEqual(['one', 'two', 'three']);
  expect((await chunks({ follow: false, host: 'host-1' })).map((c) => c.text)).toEqual(['one', 'three']);

  // Following from after the first chunk, left once it has the rest.
  const followed: string[] = [];
  for await (const chunk of readLogs(nc, 'stored-b2', { follow: true, after: stored[0].seq })) {
    followed.push(chunk.text);
    if (followed.length === 2) break;
  }
  expect(followed).toEqual(['two', 'three']);
  expect(await consumers()).toEqual([]);
});
