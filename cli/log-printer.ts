import type { LogChunk } from '../api/logs';

type Output = 'stdout' | 'stderr';

interface Unfinished {
  output: Output;
  prefix: string;
  text: string;
  /** The step attempt it came from: another one's output starts a line of its own. */
  from: string;
}

/**
 * Prints a run's output chunks. With a prefix (`host | `, a timestamp) they are printed as lines,
 * each with the prefix. A chunk may end inside a line: a step's output streams even before its
 * newline (activities/output.ts), so the rest of the line comes in a later chunk of the same host
 * and stream; that end waits for it, rather than being printed as a line of its own. Without a
 * prefix the text is written as it came, byte for byte.
 */
export class LogPrinter {
  private readonly unfinished = new Map<string, Unfinished>();

  constructor(
    private readonly prefixOf: (chunk: LogChunk) => string,
    private readonly write: (output: Output, text: string) => void = (output, text) => void process[output].write(text),
  ) {}

  print(chunk: LogChunk): void {
    const prefix = this.prefixOf(chunk);
    if (chunk.stream === 'status') {
      // Ops' own word on the output (output that was lost): the host's unfinished lines end before it.
      for (const output of ['stdout', 'stderr'] as const) this.endLine(lineKey(chunk.host, output));
      this.write('stderr', `${prefix ? `${prefix}| ` : ''}[ops] ${chunk.text}\n`);
      return;
    }
    const output = chunk.stream;
    if (!prefix) return this.write(output, chunk.text);
    const key = lineKey(chunk.host, output);
    const from = `${chunk.step}\n${chunk.attempt}`;
    let pending = this.unfinished.get(key);
    if (pending && pending.from !== from) {
      this.write(pending.output, `${pending.prefix}| ${pending.text}\n`);
      pending = undefined;
    }
    const text = (pending?.text ?? '') + chunk.text;
    const end = text.lastIndexOf('\n') + 1;
    const lines = text.slice(0, end).split('\n').slice(0, -1);
    lines.forEach((line, i) => this.write(output, `${i === 0 && pending ? pending.prefix : prefix}| ${line}\n`));
    const rest = text.slice(end);
    if (rest) this.unfinished.set(key, { output, prefix: lines.length || !pending ? prefix : pending.prefix, text: rest, from });
    else this.unfinished.delete(key);
  }

  /** Prints the lines that never got their newline: the output has ended. */
  end(): void {
    for (const key of [...this.unfinished.keys()]) this.endLine(key);
  }

  private endLine(key: string): void {
    const pending = this.unfinished.get(key);
    if (!pending) return;
    this.write(pending.output, `${pending.prefix}| ${pending.text}\n`);
    this.unfinished.delete(key);
  }
}

/** A host's stream: where an unfinished line waits for the rest. */
function lineKey(host: string, output: Output): string {
  return `${host}\n${output}`;
}
