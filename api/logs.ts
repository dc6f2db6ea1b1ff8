import { AckPolicy, DeliverPolicy, nanos, type NatsConnection } from 'nats';
import { LOGS_STREAM, hostFromSubjectToken, logSubject } from '../model/naming';

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
  /** Keep waiting for new output; stop with `signal`. */
  follow: boolean;
  /** Start after this sequence (from an earlier chunk). */
  after?: number;
  signal?: AbortSignal;
}

/**
 * Reads a run's output from JetStream in order, optionally following it as it is written.
 * An ephemeral pull consumer (not the client's ordered consumer) keeps this working on
 * nats-server 2.9, Debian 12's version.
 */
export async function* readLogs(nc: NatsConnection, runId: string, options: ReadLogsOptions): AsyncGenerator<LogChunk> {
  const jsm = await nc.jetstreamManager();
  const subject = options.host ? logSubject(runId, options.host) : `${logSubject(runId, '*').slice(0, -1)}*`;
  const created = await jsm.consumers.add(LOGS_STREAM, {
    filter_subject: subject,
    ack_policy: AckPolicy.None,
    inactive_threshold: nanos(60_000),
    ...(options.after ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: options.after + 1 } : { deliver_policy: DeliverPolicy.All }),
  });
  try {
    if (!options.follow && created.num_pending === 0) return;
    const messages = await (await nc.jetstream().consumers.get(LOGS_STREAM, created.name)).consume();
    const stop = () => messages.stop();
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
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
        if (!options.follow && m.info.pending === 0) break;
      }
    } finally {
      options.signal?.removeEventListener('abort', stop);
      stop();
    }
  } finally {
    await jsm.consumers.delete(LOGS_STREAM, created.name).catch(() => undefined);
  }
}
