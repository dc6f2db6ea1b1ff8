/** How a step's output goes to NATS (activities/logs.ts ChunkSender), with a scripted publish. */
import type { PubAck } from 'nats';
import { ChunkSender, type Chunk } from '../../activities/logs';

/** A publish that the test answers: each call waits until `answer` is called for it. */
function scriptedPublish() {
  const calls: Array<{ chunk: Chunk; seq: number; answer(ok: boolean): void }> = [];
  const send = (chunk: Chunk, seq: number) =>
    new Promise<PubAck>((resolve, reject) => calls.push({ chunk: { ...chunk }, seq, answer: (ok) => (ok ? resolve({} as PubAck) : reject(new Error('TIMEOUT'))) }));
  return { calls, send };
}

const tick = () => new Promise((r) => setImmediate(r));

test('chunks are sent one at a time; those printed meanwhile go as one message of their stream', async () => {
  const { calls, send } = scriptedPublish();
  const warnings: string[] = [];
  const sender = new ChunkSender('ops.logs.r.h', (m) => warnings.push(m), send);
  sender.add({ stream: 'stdout', text: 'a\n' });
  sender.add({ stream: 'stdout', text: 'b\n' });
  sender.add({ stream: 'stdout', text: 'c\n' });
  sender.add({ stream: 'stderr', text: 'e\n' });
  await tick();
  expect(calls.map((c) => c.chunk.text)).toEqual(['a\n']);
  calls[0].answer(true);
  await tick();
  expect(calls.map((c) => [c.chunk.stream, c.chunk.text, c.seq])).toEqual([['stdout', 'a\n', 1], ['stdout', 'b\nc\n', 2]]);
  calls[1].answer(true);
  await tick();
  calls[2].answer(true);
  await sender.flush();
  expect(calls.map((c) => c.chunk.text)).toEqual(['a\n', 'b\nc\n', 'e\n']);
  expect(warnings).toEqual([]);
});

test('a chunk NATS did not take is sent again, with the same sequence, before anything after it', async () => {
  const { calls, send } = scriptedPublish();
  const sender = new ChunkSender('ops.logs.r.h', () => undefined, send);
  sender.add({ stream: 'stdout', text: 'one\n' });
  await tick();
  calls[0].answer(false);
  sender.add({ stream: 'stdout', text: 'two\n' });
  await new Promise((r) => setTimeout(r, 1100));
  expect(calls.map((c) => [c.chunk.text, c.seq])).toEqual([['one\n', 1], ['one\n', 1]]);
  calls[1].answer(true);
  await tick();
  calls[2].answer(true);
  await sender.flush();
  expect(calls.map((c) => [c.chunk.text, c.seq])).toEqual([['one\n', 1], ['one\n', 1], ['two\n', 2]]);
});

test('output waiting for NATS is bounded: beyond 32 MB it is dropped, and the step says so', async () => {
  const { calls, send } = scriptedPublish();
  const warnings: string[] = [];
  const sender = new ChunkSender('ops.logs.r.h', (m) => warnings.push(m), send);
  const block = 'x'.repeat(16 * 1024);
  for (let i = 0; i < 2100; i += 1) sender.add({ stream: 'stdout', text: block });
  let flushed = false;
  const flushing = sender.flush().then(() => (flushed = true));
  while (!flushed) {
    for (const c of calls.splice(0)) c.answer(true);
    await tick();
  }
  await flushing;
  expect(warnings).toEqual([expect.stringMatching(/^52 log chunk\(s\) for ops\.logs\.r\.h not stored: .*32 MB waited already$/)]);
});
