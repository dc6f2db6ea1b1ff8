import { connect, headers as natsHeaders, type JetStreamClient, type NatsConnection, type PubAck } from 'nats';
import { logSubject } from '../model/naming';
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
  /** Unique per step attempt; makes JetStream drop duplicates of a re-sent chunk. */
  key: string;
}

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
    private readonly warn: (message: string) => void,
  ) {}

  static async connect(url: string, warn: (message: string) => void): Promise<NatsLogPublisher> {
    const nc = await connect({ servers: url, name: 'ops-worker', maxReconnectAttempts: -1 });
    await ensureStream(nc, logStreamConfig());
    return new NatsLogPublisher(nc, nc.jetstream(), warn);
  }

  forStep(ctx: StepLogContext): LogSink {
    const subject = logSubject(ctx.runId, ctx.host);
    const pending: Array<Promise<PubAck | void>> = [];
    let seq = 0;
    return {
      publish: (stream, text) => {
        seq += 1;
        const h = natsHeaders();
        h.set('Ops-Task', ctx.task);
        h.set('Ops-Step', ctx.step);
        h.set('Ops-Host', ctx.host);
        h.set('Ops-Stream', stream);
        h.set('Ops-Attempt', String(ctx.attempt));
        pending.push(
          this.js
            .publish(subject, new TextEncoder().encode(text), { headers: h, msgID: `${ctx.key}.${ctx.attempt}.${seq}` })
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
}

/** Used when the worker has no NATS: output is kept only as the activity result's tail. */
export const noLogs: LogPublisher = {
  forStep: () => ({ publish: () => undefined, flush: async () => undefined }),
  close: async () => undefined,
};
