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
  const sender = new ChunkSender('ops.logs.r.h', (m) => warnings.push(m), undefined, send);
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
  const sender = new ChunkSender('ops.logs.r.h', () => undefined, undefined, send);
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

test('output waiting for NATS is bounded: beyond 32 MB it is dropped, and the step and its readers are told', async () => {
  const { calls, send } = scriptedPublish();
  const warnings: string[] = [];
  const sent: Chunk[] = [];
  const sender = new ChunkSender('ops.logs.r.h', (m) => warnings.push(m), undefined, send);
  const block = 'x'.repeat(16 * 1024);
  for (let i = 0; i < 2100; i += 1) sender.add({ stream: 'stdout', text: block });
  let flushed = false;
  const flushing = sender.flush().then(() => (flushed = true));
  while (!flushed) {
    for (const c of calls.splice(0)) {
      sent.push(c.chunk);
      c.answer(true);
    }
    await tick();
  }
  await flushing;
  expect(warnings).toEqual([expect.stringMatching(/^52 log chunk\(s\) for ops\.logs\.r\.h not stored: .*32 MB waited already$/)]);
  // The stored output is what was kept, then a note of the rest: no place to read it is claimed.
  expect(sent.filter((c) => c.stream === 'stdout').reduce((n, c) => n + c.text.length, 0)).toBe(2048 * block.length);
  expect(sent[sent.length - 1]).toEqual({ stream: 'status', text: `52 chunk(s) of this step's output (${52 * block.length} characters) were not stored: NATS did not take them in 60s, or 32 MB waited already` });
});

test('output given up in a long NATS outage leaves a note in its place, stored once NATS is back, saying where all of it is', async () => {
  jest.useFakeTimers({ doNotFake: ['setImmediate'] });
  try {
    const { calls, send } = scriptedPublish();
    const warnings: string[] = [];
    const sender = new ChunkSender('ops.logs.r.h', (m) => warnings.push(m), '~/.ops/steps/k.out and .err on the host, for a day', send);
    sender.add({ stream: 'stdout', text: 'before\n', offsets: '7 0' });
    await tick();
    calls[0].answer(true);
    await tick();
    sender.add({ stream: 'stdout', text: 'lost\n', offsets: '12 0' });
    // NATS refuses every try for longer than a chunk is sent again.
    let refused = 1;
    for (let waited = 0; waited <= 62_000; waited += 1_000) {
      await tick();
      for (; refused < calls.length; refused += 1) calls[refused].answer(false);
      await jest.advanceTimersByTimeAsync(1_000);
    }
    const tries = calls.length;
    expect(calls.slice(1).map((c) => c.chunk.text)).toEqual(Array(tries - 1).fill('lost\n'));
    expect(tries).toBeGreaterThan(50);
    // NATS is back: the note is stored first, in the lost chunk's place, then the new output.
    sender.add({ stream: 'stdout', text: 'after\n', offsets: '18 0' });
    await tick();
    expect(calls).toHaveLength(tries + 1);
    expect(calls[tries].chunk).toEqual({
      stream: 'status',
      text: "1 chunk(s) of this step's output (5 characters) were not stored: NATS did not take them in 60s, or 32 MB waited already; all of it is in ~/.ops/steps/k.out and .err on the host, for a day",
      // As far as the lost chunk went: a later attempt republishing the step starts after it.
      offsets: '12 0',
    });
    calls[tries].answer(true);
    await tick();
    calls[tries + 1].answer(true);
    await sender.flush();
    expect(calls.slice(tries).map((c) => [c.chunk.stream, c.seq])).toEqual([['status', 3], ['stdout', 4]]);
    expect(calls[tries + 1].chunk.text).toBe('after\n');
    expect(warnings).toEqual([expect.stringMatching(/^1 log chunk\(s\) for ops\.logs\.r\.h not stored/)]);
  } finally {
    jest.useRealTimers();
  }
});
