import type { JsMsg, NatsConnection } from 'nats';
import { LOGS_STREAM, hostFromSubjectToken, logSubject } from '../model/naming';
import { followStream, readStored, startFrom, type StreamRead } from './stream-reader';

/** One published chunk of a step's output. */
export interface LogChunk {
  /** Stream sequence: resume after it to continue where a reader stopped. */
  seq: number;
  time: string;
  host: string;
  task: string;
  step: string;
  stream: 'stdout' | 'stderr' | 'status';
  attempt: number;
  text: string;
}

export interface ReadLogsOptions {
  host?: string;
  /** Keep waiting for new output, also across a NATS restart; stop with `signal`. */
  follow: boolean;
  /** Start after this sequence (from an earlier chunk). */
  after?: number;
  signal?: AbortSignal;
  /** Told why following broke off, each time before it starts again; default nowhere. */
  log?: (message: string) => void;
}

/** Reads a run's output from JetStream in order, optionally following it as it is written. */
export async function* readLogs(nc: NatsConnection, runId: string, options: ReadLogsOptions): AsyncGenerator<LogChunk> {
  const read = { filter: options.host ? logSubject(runId, options.host) : `${logSubject(runId, '*').slice(0, -1)}*`, start: startFrom(options) };
  const messages = options.follow ? following(nc, read, options.signal, options.log ?? (() => undefined)) : readStored(nc, LOGS_STREAM, { ...read, signal: options.signal });
  for await (const m of messages) {
    const h = m.headers;
    yield {
      seq: m.seq,
      time: new Date(Math.floor(m.info.timestampNanos / 1e6)).toISOString(),
      host: h?.get('Ops-Host') || hostFromSubjectToken(m.subject.split('.').pop() ?? ''),
      task: h?.get('Ops-Task') ?? '',
      step: h?.get('Ops-Step') ?? '',
      stream: (h?.get('Ops-Stream') as LogChunk['stream']) || 'stdout',
      attempt: Number(h?.get('Ops-Attempt') ?? '1'),
      text: m.string(),
    };
  }
}

/**
 * followStream's messages as an async generator; they wait in a queue until read. It ends when
 * `signal` aborts, after what had arrived, or at once when the reader stops; the consumer is
 * deleted before it returns.
 */
async function* following(nc: NatsConnection, read: StreamRead, signal: AbortSignal | undefined, log: (message: string) => void): AsyncGenerator<JsMsg> {
  const stop = new AbortController();
  const queue: JsMsg[] = [];
  let ended = false;
  let wake = () => {};
  const onMessage = (m: JsMsg) => {
    queue.push(m);
    wake();
  };
  const done = followStream(nc, LOGS_STREAM, read, onMessage, signal ? AbortSignal.any([signal, stop.signal]) : stop.signal, log).finally(() => {
    ended = true;
    wake();
  });
  try {
    for (;;) {
      const arrived = queue.splice(0);
      for (const m of arrived) yield m;
      if (arrived.length > 0) continue;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stop.abort();
    await done;
  }
}
