import { StringDecoder } from 'node:string_decoder';
import { SecretMasker } from './masker';
import { parseResultLine, resultLineStart } from '../model/results';
import { CONTROL_PREFIX, type ControlEvent } from './remote-step';
import type { LogSink } from './logs';

export type StreamName = 'stdout' | 'stderr';

/** How much of the output the activity result keeps; the rest is only in the log stream. */
export const TAIL_BYTES = 2048;
const CHUNK_BYTES = 16 * 1024;
const FLUSH_MS = 100;
const PARTIAL_LIMIT = 4096;
/** A result value's limit: results travel in the run's history, to later stages and to the API. */
export const RESULT_MAX_BYTES = 16 * 1024;

/**
 * Takes a step's raw output: masks secrets, publishes it in chunks to the log stream, picks up
 * `::result` lines and wrapper control lines, counts bytes and keeps a short tail.
 */
export class StepOutput {
  readonly bytes = { stdout: 0, stderr: 0 };
  readonly results: Record<string, string> = {};
  /** Declared results last printed with a value over RESULT_MAX_BYTES: not kept. */
  readonly oversized = new Set<string>();
  readonly events = new Set<ControlEvent>();
  /** How long the step ran on its host, when the wrapper says (an attempt that replayed or attached to it). */
  ranSeconds?: number;
  private readonly streams: Record<StreamName, StreamState> = { stdout: new StreamState(), stderr: new StreamState() };
  private readonly masker: SecretMasker;
  private tailText = '';
  private readonly lastLines: Record<StreamName, string> = { stdout: '', stderr: '' };
  private timer?: NodeJS.Timeout;

  constructor(
    secrets: ReadonlyArray<string>,
    private readonly declaredResults: ReadonlyArray<string>,
    private readonly sink: LogSink,
  ) {
    this.masker = new SecretMasker(secrets);
  }

  write(stream: StreamName, chunk: Buffer): void {
    this.bytes[stream] += chunk.length;
    const state = this.streams[stream];
    for (const line of state.lines(state.decoder.write(chunk))) this.onLine(stream, line);
    if (state.partial.length > PARTIAL_LIMIT) this.emitPartial(stream);
    this.schedule();
  }

  /** The masked last TAIL_BYTES bytes of stdout and stderr together, in the order lines ended. */
  tail(): string {
    const bytes = Buffer.from(this.tailText);
    if (bytes.length <= TAIL_BYTES) return this.tailText;
    // A cut inside a multi-byte character leaves a replacement character at the start.
    return bytes.subarray(bytes.length - TAIL_BYTES).toString('utf8').replace(/^\uFFFD+/, '');
  }

  async close(): Promise<void> {
    for (const name of ['stdout', 'stderr'] as const) {
      const state = this.streams[name];
      const rest = state.partial + state.decoder.end();
      state.partial = '';
      if (rest) this.onLine(name, rest);
    }
    if (this.timer) clearTimeout(this.timer);
    this.flushChunks();
    await this.sink.flush();
  }

  private onLine(stream: StreamName, line: string): void {
    const text = line.replace(/\n$/, '');
    if (stream === 'stderr' && text.startsWith(CONTROL_PREFIX)) {
      const control = text.slice(CONTROL_PREFIX.length);
      const ran = /^ran (\d+)$/.exec(control);
      if (ran) this.ranSeconds = Number(ran[1]);
      else this.events.add(control as ControlEvent);
      return;
    }
    if (stream === 'stdout') {
      const result = parseResultLine(text);
      // Results travel on to later stages, the API and the CLI: a secret in one is masked like output.
      if (result && this.declaredResults.includes(result.name)) {
        if (Buffer.byteLength(result.value) > RESULT_MAX_BYTES) this.tooLong(result.name);
        else {
          this.results[result.name] = this.masker.all(result.value);
          this.oversized.delete(result.name);
        }
      }
    }
    const masked = this.masker.all(line);
    if (masked.trim()) this.lastLines[stream] = masked.trim();
    this.emit(stream, masked);
  }

  /** The last non-empty line a stream printed (masked): what a failure message quotes. */
  lastLine(stream: StreamName): string {
    return this.lastLines[stream];
  }

  private emit(stream: StreamName, text: string): void {
    if (!text) return;
    const state = this.streams[stream];
    state.buffered += text;
    // Characters are at most 4 bytes: this keeps enough for tail() to cut by bytes.
    this.tailText = (this.tailText + text).slice(-TAIL_BYTES * 4);
    if (state.buffered.length >= CHUNK_BYTES) this.flushChunks();
  }

  /** The last value printed for a name wins, so a value too long to keep also drops an earlier one. */
  private tooLong(name: string): void {
    delete this.results[name];
    this.oversized.add(name);
  }

  /** Output without a newline yet (a progress bar, a prompt) still streams, unless it may be a control or result line. */
  private emitPartial(stream: StreamName): void {
    const state = this.streams[stream];
    const result = stream === 'stdout' ? resultLineStart(state.partial) : undefined;
    // A result's line waits for its end while its value may still fit (characters are never more than bytes; +1 for a \r).
    const hold = result ? result.valueAt + RESULT_MAX_BYTES + 1 : PARTIAL_LIMIT;
    if (!state.partial || (state.partial.length <= hold && /^[:\x1e]/.test(state.partial))) return;
    // A result line this long streams before it ends: its value is over the limit.
    if (result && this.declaredResults.includes(result.name)) this.tooLong(result.name);
    const { masked, rest } = this.masker.prefix(state.partial);
    this.emit(stream, masked);
    state.partial = rest;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.emitPartial('stdout');
      this.emitPartial('stderr');
      this.flushChunks();
    }, FLUSH_MS);
  }

  private flushChunks(): void {
    for (const name of ['stdout', 'stderr'] as const) {
      const state = this.streams[name];
      if (state.buffered) this.sink.publish(name, state.buffered);
      state.buffered = '';
    }
  }
}

class StreamState {
  readonly decoder = new StringDecoder('utf8');
  /** Raw text after the last newline, not yet published. */
  partial = '';
  /** Masked text waiting to be published. */
  buffered = '';

  /** Complete lines (with their newline) from the text so far; the unfinished end waits. */
  lines(text: string): string[] {
    const all = (this.partial + text).split(/(?<=\n)/);
    const last = all[all.length - 1];
    if (last.endsWith('\n')) {
      this.partial = '';
      return all;
    }
    this.partial = last;
    return all.slice(0, -1);
  }
}
