import { headers as natsHeaders, type JetStreamClient, type JetStreamManager, type NatsConnection, type PubAck } from 'nats';
import { connectNats } from './nats';
import { LOGS_STREAM, logSubject } from '../model/naming';
import { ensureStream, logStreamConfig } from './streams';
import { outputKeptOnHost } from './remote-step';

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
  /**
   * Set when this try continues an earlier try's step on its host (a retry after the host was
   * unreachable, under the same key): this try's own activity id, which keeps its chunks apart
   * from the earlier try's, whose attempts it numbers again from 1.
   */
  tryId?: string;
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
 * The step does not wait for its output to be stored as it goes (ChunkSender); it waits at its end.
 */
export class NatsLogPublisher implements LogPublisher {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly warn: (message: string) => void,
  ) {}

  static async connect(url: string, warn: (message: string) => void): Promise<NatsLogPublisher> {
    const nc = await connectNats(url, { name: 'ops-worker', maxReconnectAttempts: -1 });
    await ensureStream(nc, logStreamConfig());
    return new NatsLogPublisher(nc, nc.jetstream(), await nc.jetstreamManager(), warn);
  }

  forStep(ctx: StepLogContext): LogSink {
    const subject = logSubject(ctx.runId, ctx.host);
    // A step that republishes has its records on its host, which keep all it printed: a gap in the
    // published output says where to read it.
    const keptAt = ctx.republishes ? outputKeptOnHost(ctx.key) : undefined;
    const chunks = new ChunkSender(subject, this.warn, keptAt, (chunk, seq) => {
      const h = natsHeaders();
      h.set('Ops-Task', ctx.task);
      h.set('Ops-Step', ctx.step);
      h.set('Ops-Host', ctx.host);
      h.set('Ops-Stream', chunk.stream);
      h.set('Ops-Attempt', String(ctx.attempt));
      h.set('Ops-Key', ctx.key);
      if (chunk.offsets) h.set(OFFSETS_HEADER, chunk.offsets);
      // The same id on every re-send: JetStream stores a chunk once however often it is sent.
      return this.js.publish(subject, new TextEncoder().encode(chunk.text), { headers: h, msgID: `${ctx.tryId ? `${ctx.tryId}:` : ''}${ctx.key}.${ctx.attempt}.${seq}` });
    });
    if (!ctx.republishes) return { publish: (stream, text) => chunks.add({ stream, text }), flush: () => chunks.flush() };
    // Where this attempt's output starts to be new; chunks wait for it, and stay in order.
    const published = ctx.attempt > 1 || ctx.tryId ? this.publishedBefore(subject, ctx.key) : Promise.resolve({ stdout: 0, stderr: 0 });
    const position = { stdout: 0, stderr: 0 };
    return {
      publish: (stream, text) => {
        chunks.waitFor(
          published.then((before) => {
            if (stream === 'status') return chunks.add({ stream, text });
            const start = position[stream];
            position[stream] += text.length;
            const fresh = text.slice(Math.max(0, Math.min(text.length, before[stream] - start)));
            if (fresh) chunks.add({ stream, text: fresh, offsets: `${Math.max(position.stdout, before.stdout)} ${Math.max(position.stderr, before.stderr)}` });
          }),
        );
      },
      flush: () => chunks.flush(),
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

/**
 * How long a step re-sends output NATS did not store (a restart, an outage) before it gives the
 * rest up: within JetStream's duplicate window (activities/streams.ts), so no re-send of a chunk
 * whose acknowledgement alone was lost stores it twice.
 */
const RESEND_FOR_MS = 60_000;
const RESEND_PAUSE_MS = 1_000;
/** Chunks waiting behind one being sent are sent as one message, up to this size (NATS takes 1 MB). */
const MERGED_MAX_CHARS = 256 * 1024;
/** What a step keeps waiting while NATS does not take it; beyond, output is dropped (the host keeps all of it). */
const QUEUED_MAX_CHARS = 32 * 1024 * 1024;
const GIVEN_UP_BECAUSE = `NATS did not take them in ${RESEND_FOR_MS / 1000}s, or ${QUEUED_MAX_CHARS / 1024 / 1024} MB waited already`;

export interface Chunk {
  stream: 'stdout' | 'stderr' | 'status';
  text: string;
  /** For a step that republishes: how far into stdout and stderr its output is published with this chunk. */
  offsets?: string;
  /** Not output: where output that could not wait was dropped, noted when the sender reaches it. */
  gap?: { chunks: number; chars: number };
}

/**
 * Sends one step's chunks one at a time, each once NATS has stored the one before: so they are
 * stored in order, and a chunk NATS did not take (it restarted, or could not be reached) is sent
 * again, up to RESEND_FOR_MS, before anything after it. What the step prints meanwhile waits,
 * merged into as few messages as it fits in. Output given up leaves a gap that readers are told
 * of: a `status` chunk in its place, stored once NATS takes chunks again.
 */
export class ChunkSender {
  private readonly queue: Chunk[] = [];
  private readonly preparing: Array<Promise<void>> = [];
  private sending?: Promise<void>;
  private seq = 0;
  private queuedChars = 0;
  private failingSince?: number;
  private dropped = 0;
  /** Output given up since the last gap note was stored. */
  private readonly gap = { chunks: 0, chars: 0 };
  /** The offsets of the latest chunk, stored or given up: a gap note carries them on. */
  private offsets?: string;

  constructor(
    private readonly subject: string,
    private readonly warn: (message: string) => void,
    /** Where the full output can still be read, for the gap note; undefined: nowhere. */
    private readonly keptAt: string | undefined,
    private readonly send: (chunk: Chunk, seq: number) => Promise<PubAck>,
  ) {}

  add(chunk: Chunk): void {
    // A step that prints fast through a long outage must not fill the worker's memory.
    if (this.queuedChars + chunk.text.length > QUEUED_MAX_CHARS) {
      this.dropped += 1;
      // The gap is noted where it is in the output: after what waits already.
      const last = this.queue[this.queue.length - 1];
      if (last?.gap) {
        last.gap.chunks += 1;
        last.gap.chars += chunk.text.length;
        last.offsets = chunk.offsets ?? last.offsets;
      } else {
        this.queue.push({ stream: 'status', text: '', gap: { chunks: 1, chars: chunk.text.length }, offsets: chunk.offsets });
      }
      this.sending ??= this.sendAll();
      return;
    }
    this.queuedChars += chunk.text.length;
    const last = this.queue[this.queue.length - 1];
    if (last && last.stream === chunk.stream && last.stream !== 'status' && last.text.length + chunk.text.length <= MERGED_MAX_CHARS) {
      last.text += chunk.text;
      last.offsets = chunk.offsets;
    } else {
      this.queue.push(chunk);
    }
    this.sending ??= this.sendAll();
  }

  /** Chunks added once `ready` resolves are flushed with the others. */
  waitFor(ready: Promise<void>): void {
    this.preparing.push(ready.catch((e: Error) => this.warn(`log chunk for ${this.subject} not stored: ${e.message}`)));
  }

  async flush(): Promise<void> {
    while (this.preparing.length) await Promise.all(this.preparing.splice(0));
    await this.sending;
    if (this.gap.chunks) await this.noteGap();
    if (this.dropped) this.warn(`${this.dropped} log chunk(s) for ${this.subject} not stored: ${GIVEN_UP_BECAUSE}`);
    this.dropped = 0;
  }

  private async sendAll(): Promise<void> {
    for (let chunk = this.queue.shift(); chunk; chunk = this.queue.shift()) {
      if (chunk.gap) {
        this.gap.chunks += chunk.gap.chunks;
        this.gap.chars += chunk.gap.chars;
      } else {
        if (this.gap.chunks) await this.noteGap();
        if (!(await this.untilStored(chunk, (this.seq += 1)))) {
          this.dropped += 1;
          this.gap.chunks += 1;
          this.gap.chars += chunk.text.length;
        }
        this.queuedChars -= chunk.text.length;
      }
      if (chunk.offsets) this.offsets = chunk.offsets;
    }
    this.sending = undefined;
  }

  /** Stores a note of the output given up, in its place; if NATS does not take it, a later chunk tries again. */
  private async noteGap(): Promise<void> {
    const { chunks, chars } = this.gap;
    const text = `${chunks} chunk(s) of this step's output (${chars} characters) were not stored: ${GIVEN_UP_BECAUSE}${this.keptAt ? `; all of it is in ${this.keptAt}` : ''}`;
    if (await this.untilStored({ stream: 'status', text, ...(this.offsets ? { offsets: this.offsets } : {}) }, (this.seq += 1))) {
      this.gap.chunks -= chunks;
      this.gap.chars -= chars;
    }
  }

  /** False when the chunk was given up. */
  private async untilStored(chunk: Chunk, seq: number): Promise<boolean> {
    for (;;) {
      try {
        await this.send(chunk, seq);
        this.failingSince = undefined;
        return true;
      } catch {
        this.failingSince ??= Date.now();
        // Given up: each chunk after this one is tried once, until NATS takes one again.
        if (Date.now() - this.failingSince > RESEND_FOR_MS) return false;
        await new Promise((resolve) => setTimeout(resolve, RESEND_PAUSE_MS));
      }
    }
  }
}

/** Used when the worker has no NATS: output is kept only as the activity result's tail. */
export const noLogs: LogPublisher = {
  forStep: () => ({ publish: () => undefined, flush: async () => undefined }),
  close: async () => undefined,
};
