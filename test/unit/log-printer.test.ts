import type { LogChunk } from '../../api/logs';
import { LogPrinter } from '../../cli/log-printer';

let seq = 0;
const chunk = (host: string, text: string, more: Partial<LogChunk> = {}): LogChunk => ({
  seq: ++seq,
  time: `t${seq}`,
  host,
  task: 'task',
  step: 'step',
  stream: 'stdout',
  attempt: 1,
  text,
  ...more,
});

function printed(prefixOf: (c: LogChunk) => string, chunks: LogChunk[]): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  const printer = new LogPrinter(prefixOf, (output, text) => (out[output] += text));
  for (const c of chunks) printer.print(c);
  printer.end();
  return out;
}

const byHost = (c: LogChunk) => `${c.host} `;

describe('LogPrinter', () => {
  it('joins a line that arrived in two chunks, and keeps the hosts apart', () => {
    const out = printed(byHost, [chunk('a', 'one\ntw'), chunk('b', 'b-line\nb-'), chunk('a', 'o\nthree\n'), chunk('b', 'end\n')]);
    expect(out.stdout).toBe('a | one\nb | b-line\na | two\na | three\nb | b-end\n');
  });

  it('keeps stdout and stderr apart', () => {
    const out = printed(byHost, [chunk('a', 'par'), chunk('a', 'err\n', { stream: 'stderr' }), chunk('b', 'b\n'), chunk('a', 'tial\n')]);
    expect(out).toEqual({ stdout: 'b | b\na | partial\n', stderr: 'a | err\n' });
  });

  it("prints Ops' notes on the output (lost output) on stderr, ending the host's unfinished lines before them", () => {
    const note = "1 chunk(s) of this step's output (5 characters) were not stored";
    const out = printed(byHost, [chunk('a', 'par'), chunk('b', 'b-'), chunk('a', note, { stream: 'status' }), chunk('a', 'tial\n'), chunk('b', 'line\n')]);
    expect(out).toEqual({ stdout: 'a | par\na | tial\nb | b-line\n', stderr: `a | [ops] ${note}\n` });
    expect(printed(() => '', [chunk('a', 'x', { stream: 'status' })])).toEqual({ stdout: '', stderr: '[ops] x\n' });
  });

  it('gives a line the prefix of the chunk it began in', () => {
    const out = printed((c) => `${c.time} ${c.host} `, [chunk('a', 'x'), chunk('a', 'y'), chunk('a', 'z\nnext\n')]);
    expect(out.stdout).toMatch(/^(t\d+) a \| xyz\n(t\d+) a \| next\n$/);
    const [, first, second] = /^(t\d+) a \| xyz\n(t\d+)/.exec(out.stdout) ?? [];
    expect(first).not.toBe(second);
  });

  it('ends a line that never got its newline when the output ends, or when the next step prints', () => {
    expect(printed(byHost, [chunk('a', 'no newline')]).stdout).toBe('a | no newline\n');
    const steps = printed(byHost, [chunk('a', 'done', { step: 'first' }), chunk('a', 'second\n', { step: 'second' })]);
    expect(steps.stdout).toBe('a | done\na | second\n');
    const retry = printed(byHost, [chunk('a', 'half', { attempt: 1 }), chunk('a', 'again\n', { attempt: 2 })]);
    expect(retry.stdout).toBe('a | half\na | again\n');
  });

  it('without a prefix writes the text byte for byte, however it was cut', () => {
    const text = 'ünïcode line\n\nno newline at the end';
    const pieces = [text.slice(0, 3), text.slice(3, 14), text.slice(14)];
    const out = printed(() => '', pieces.map((p) => chunk('a', p)));
    expect(out.stdout).toBe(text);
  });
});
