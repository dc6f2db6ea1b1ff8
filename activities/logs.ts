import { connect, headers as natsHeaders, type JetStreamClient, type JetStreamManager, type NatsConnection, type PubAck } from 'nats';
import { LOGS_STREAM, logSubject } from '../model/naming';
import { ensureStream, logStreamConfig } from './streams';

/** Where one step's output goes: chunks in order, then an end marker. */
export interface LogSink {
  publish(stream: 'stdout' | 'stderr' | 'status', text: string): void;
  /** Resolves when everything published so far is stored (or has failed to be). */
  flush(): Promise<void>;
}

export interface StepLogContext {
  runId: string;
  host: string;
  task: string;
  step: string;
  /** The activity attempt; a retried step's output is told apart by it. */
  attempt: number;
  /** The step's key on its host, the same for each attempt; with the attempt, makes JetStream drop duplicates of a re-sent chunk. */
  key: string;
  /**
   * A later attempt publishes the step's output again from its start (a shell step attaching to
   * the run on its host, or replaying it): what an earlier attempt published is left out, so a
   * reader sees each part once.
   */
  republishes?: boolean;
}

type Stream = 'stdout' | 'stderr';
/** On each chunk of a step that republishes: how far into stdout and stderr its output has been published. */
const OFFSETS_HEADER = 'Ops-Offsets';

export interface LogPublisher {
  forStep(ctx: StepLogContext): LogSink;
  close(): Promise<void>;
}

/**
 * Publishes step output to JetStream (`ops.logs.<runId>.<host>`), never into workflow history.
 * Publishing does not wait for acknowledgements chunk by chunk; a step waits for all of them at its end.
 */
export class NatsLogPublisher implements LogPublisher {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly warn: (message: string) => void,
  ) {}

  static async connect(url: string, warn: (message: string) => void): Promise<NatsLogPublisher> {
    const nc = await connect({ servers: url, name: 'ops-worker', maxReconnectAttempts: -1 });
    await ensureStream(nc, logStreamConfig());
    return new NatsLogPublisher(nc, nc.jetstream(), await nc.jetstreamManager(), warn);
  }

  forStep(ctx: StepLogContext): LogSink {
    const subject = logSubject(ctx.runId, ctx.host);
    const pending: Array<Promise<PubAck | void>> = [];
    let seq = 0;
    // Where this attempt's output starts to be new; chunks wait for it, and stay in order.
    const published = ctx.republishes && ctx.attempt > 1 ? this.publishedBefore(subject, ctx.key) : Promise.resolve({ stdout: 0, stderr: 0 });
    const position = { stdout: 0, stderr: 0 };
    return {
      publish: (stream, text) => {
        const h = natsHeaders();
        h.set('Ops-Task', ctx.task);
        h.set('Ops-Step', ctx.step);
        h.set('Ops-Host', ctx.host);
        h.set('Ops-Stream', stream);
        h.set('Ops-Attempt', String(ctx.attempt));
        h.set('Ops-Key', ctx.key);
        const send = (body: string) => {
          seq += 1;
          return this.js.publish(subject, new TextEncoder().encode(body), { headers: h, msgID: `${ctx.key}.${ctx.attempt}.${seq}` });
        };
        if (stream === 'status' || !ctx.republishes) {
          pending.push(send(text).catch((e: Error) => this.warn(`log chunk for ${subject} not stored: ${e.message}`)));
          return;
        }
        pending.push(
          published
            .then((before) => {
              const start = position[stream];
              position[stream] += text.length;
              const fresh = text.slice(Math.max(0, Math.min(text.length, before[stream] - start)));
              if (!fresh) return;
              h.set(OFFSETS_HEADER, `${Math.max(position.stdout, before.stdout)} ${Math.max(position.stderr, before.stderr)}`);
              return send(fresh);
            })
            .catch((e: Error) => this.warn(`log chunk for ${subject} not stored: ${e.message}`)),
        );
      },
      flush: async () => {
        await Promise.all(pending.splice(0));
      },
    };
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }

  /**
   * How far an earlier attempt of the step published its output: the offsets on the host's last
   * chunk, if that chunk is this step's. Nothing is left out when it is not (another task's output
   * came after it on the same host): then a reader sees the start again, as the host printed it.
   */
  private async publishedBefore(subject: string, key: string): Promise<Record<Stream, number>> {
    const last = await this.jsm.streams.getMessage(LOGS_STREAM, { last_by_subj: subject }).catch(() => undefined);
    const [stdout, stderr] = (last?.header.get('Ops-Key') === key ? last.header.get(OFFSETS_HEADER) : '').split(' ').map(Number);
    return { stdout: stdout || 0, stderr: stderr || 0 };
  }
}

/** Used when the worker has no NATS: output is kept only as the activity result's tail. */
export const noLogs: LogPublisher = {
  forStep: () => ({ publish: () => undefined, flush: async () => undefined }),
  close: async () => undefined,
};
