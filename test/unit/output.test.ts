import { RESULT_MAX_BYTES, StepOutput, TAIL_BYTES } from '../../activities/output';
import { CONTROL_PREFIX } from '../../activities/remote-step';
import type { LogSink } from '../../activities/logs';

class FakeSink implements LogSink {
  readonly published: Array<{ stream: string; text: string }> = [];
  flushed = 0;
  publish(stream: 'stdout' | 'stderr' | 'status', text: string): void {
    this.published.push({ stream, text });
  }
  async flush(): Promise<void> {
    this.flushed += 1;
  }
  text(stream: string): string {
    return this.published
      .filter((p) => p.stream === stream)
      .map((p) => p.text)
      .join('');
  }
}

const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s));

function setup(secrets: string[] = [], declared: string[] = []) {
  const sink = new FakeSink();
  const output = new StepOutput(secrets, declared, sink);
  return { sink, output };
}

afterEach(() => {
  jest.useRealTimers();
});

describe('StepOutput', () => {
  it('publishes stdout and stderr separately and flushes the sink on close', async () => {
    const { sink, output } = setup();
    output.write('stdout', b('hello\n'));
    output.write('stderr', b('warning: x\n'));
    output.write('stdout', b('world\n'));
    await output.close();
    expect(sink.text('stdout')).toBe('hello\nworld\n');
    expect(sink.text('stderr')).toBe('warning: x\n');
    expect(sink.flushed).toBe(1);
  });

  it('masks secrets in published output and in the tail, also when split across chunks', async () => {
    const { sink, output } = setup(['hunter2', 'tok-99']);
    output.write('stdout', b('pass=hun'));
    output.write('stdout', b('ter2\nand tok'));
    output.write('stderr', b('error: tok-99 rejected\n'));
    output.write('stdout', b('-99\n'));
    await output.close();
    expect(sink.text('stdout')).toBe('pass=***\nand ***\n');
    expect(sink.text('stderr')).toBe('error: *** rejected\n');
    const all = sink.published.map((p) => p.text).join('') + output.tail();
    expect(all).not.toContain('hunter2');
    expect(all).not.toContain('tok-99');
    expect(output.tail()).toContain('***');
  });

  it('keeps lines whole in the tail when secrets are masked', async () => {
    const { output } = setup(['hunter2']);
    output.write('stdout', b('pass=hunter2\n'));
    output.write('stderr', b('error: bad\n'));
    await output.close();
    expect(output.tail()).toBe('pass=***\nerror: bad\n');
  });

  it('keeps only declared ::result lines from stdout, the last value winning, and still shows them', async () => {
    const { sink, output } = setup([], ['version', 'freed']);
    output.write('stdout', b('::result version=1.0\n::result other=x\nsome text\n::result version=1.1\n'));
    output.write('stderr', b('::result freed=99\n'));
    output.write('stdout', b('::result freed=12'));
    await output.close();
    expect(output.results).toEqual({ version: '1.1', freed: '12' });
    expect(sink.text('stdout')).toContain('::result version=1.0\n');
  });

  it('masks secrets in results as in output: results travel to later stages, the API and the CLI', async () => {
    const { output } = setup(['hunter2'], ['dsn']);
    output.write('stdout', b('::result dsn=postgres://ops:hunter2@db\n'));
    await output.close();
    expect(output.results).toEqual({ dsn: 'postgres://ops:***@db' });
  });

  it('reads a ::result line split across chunks', async () => {
    const { output } = setup([], ['v']);
    output.write('stdout', b('::res'));
    output.write('stdout', b('ult v=4'));
    output.write('stdout', b('2\r\n'));
    await output.close();
    expect(output.results).toEqual({ v: '42' });
  });

  it('keeps a result of up to RESULT_MAX_BYTES however the network splits its line', async () => {
    const { sink, output } = setup([], ['cert']);
    const value = 'é'.repeat(RESULT_MAX_BYTES / 2);
    const line = b(`::result cert=${value}\n`);
    for (let at = 0; at < line.length; at += 1000) output.write('stdout', line.subarray(at, at + 1000));
    await output.close();
    expect(output.results).toEqual({ cert: value });
    expect(output.oversized.size).toBe(0);
    expect(sink.text('stdout')).toBe(`::result cert=${value}\n`);
  });

  it('keeps no result over RESULT_MAX_BYTES, says which, and still shows the line', async () => {
    const { sink, output } = setup([], ['small', 'big', 'later']);
    const big = 'z'.repeat(RESULT_MAX_BYTES + 1);
    output.write('stdout', b('::result big=short\n::result small=ok\n'));
    output.write('stdout', b(`::result big=${big}\n`));
    // Streamed in pieces before its end: the line outgrows the limit on the way.
    for (let i = 0; i < 5; i += 1) output.write('stdout', b(i ? 'y'.repeat(5000) : '::result later='));
    output.write('stdout', b('\n'));
    await output.close();
    expect(output.results).toEqual({ small: 'ok' });
    expect([...output.oversized].sort()).toEqual(['big', 'later']);
    expect(sink.text('stdout')).toContain(big);
    expect(sink.text('stdout')).toContain(`::result later=${'y'.repeat(20000)}\n`);
  });

  it('lets a later value that fits replace one that was too long', async () => {
    const { output } = setup([], ['v']);
    output.write('stdout', b(`::result v=${'x'.repeat(RESULT_MAX_BYTES + 10)}\n::result v=fits\n`));
    await output.close();
    expect(output.results).toEqual({ v: 'fits' });
    expect(output.oversized.size).toBe(0);
  });

  it('records control lines on stderr and removes them from the output and tail', async () => {
    const { sink, output } = setup();
    output.write('stderr', b(`${CONTROL_PREFIX}replayed\nreal error\n`));
    output.write('stdout', b('out\n'));
    output.write('stderr', b(`${CONTROL_PREFIX}atta`));
    output.write('stderr', b(`ched\n${CONTROL_PREFIX}ran 12\n`));
    await output.close();
    expect([...output.events].sort()).toEqual(['attached', 'replayed']);
    expect(output.ranSeconds).toBe(12);
    expect(sink.text('stderr')).toBe('real error\n');
    expect(output.tail()).not.toContain('\x1e');
    expect(output.tail()).not.toContain('ops:');
  });

  it('does not take control lines from stdout', async () => {
    const { sink, output } = setup();
    output.write('stdout', b(`${CONTROL_PREFIX}replayed\n`));
    await output.close();
    expect(output.events.size).toBe(0);
    expect(sink.text('stdout')).toBe(`${CONTROL_PREFIX}replayed\n`);
  });

  it('counts raw bytes per stream, multi-byte characters and control lines included', async () => {
    const { output } = setup(['secret']);
    output.write('stdout', b('€uro secret\n')); // € is 3 bytes
    output.write('stderr', b(`${CONTROL_PREFIX}replayed\n`));
    output.write('stderr', b('é'));
    await output.close();
    expect(output.bytes).toEqual({ stdout: 14, stderr: Buffer.byteLength(`${CONTROL_PREFIX}replayed\n`) + 2 });
  });

  it('decodes multi-byte UTF-8 characters split across chunks', async () => {
    const { sink, output } = setup();
    const text = 'GPU 温度 ok — 😀\n';
    const bytes = b(text);
    for (let i = 0; i < bytes.length; i += 1) output.write('stdout', bytes.subarray(i, i + 1));
    await output.close();
    expect(sink.text('stdout')).toBe(text);
    expect(output.tail()).toBe(text);
  });

  it('keeps the last TAIL_BYTES of stdout and stderr together', async () => {
    const { output } = setup();
    const lines = Array.from({ length: 400 }, (_, i) => `line ${String(i).padStart(4, '0')}\n`);
    lines.forEach((line, i) => output.write(i % 2 ? 'stderr' : 'stdout', b(line)));
    await output.close();
    const all = lines.join('');
    expect(TAIL_BYTES).toBe(2048);
    expect(output.tail()).toHaveLength(TAIL_BYTES);
    expect(output.tail()).toBe(all.slice(-TAIL_BYTES));
    expect(output.tail().endsWith('line 0399\n')).toBe(true);
  });

  it('keeps short output whole in the tail', async () => {
    const { output } = setup();
    output.write('stdout', b('a\n'));
    output.write('stderr', b('b\n'));
    await output.close();
    expect(output.tail()).toBe('a\nb\n');
  });

  it('limits the tail to TAIL_BYTES bytes with multi-byte output', async () => {
    const { output } = setup();
    output.write('stdout', b('温'.repeat(3000) + '\n'));
    await output.close();
    expect(Buffer.byteLength(output.tail())).toBeLessThanOrEqual(TAIL_BYTES);
  });

  it('publishes a long line without newline before the step ends, even one starting with ":"', async () => {
    jest.useFakeTimers();
    const { sink, output } = setup();
    output.write('stdout', b('x'.repeat(5000)));
    output.write('stderr', b(':'.repeat(5000)));
    jest.advanceTimersByTime(150);
    expect(sink.text('stdout')).toHaveLength(5000);
    expect(sink.text('stderr')).toHaveLength(5000);
    await output.close();
    expect(sink.text('stdout')).toBe('x'.repeat(5000));
  });

  it('streams an endless line in pieces without waiting for a newline or a timer', () => {
    const { sink, output } = setup();
    for (let i = 0; i < 10; i += 1) output.write('stdout', b('z'.repeat(4000)));
    expect(sink.text('stdout').length).toBeGreaterThan(16 * 1024);
    return output.close().then(() => expect(sink.text('stdout')).toHaveLength(40000));
  });

  it('publishes a short line without newline (a prompt, a progress bar) after a moment', async () => {
    jest.useFakeTimers();
    const { sink, output } = setup();
    output.write('stdout', b('progress 42%'));
    expect(sink.text('stdout')).toBe('');
    jest.advanceTimersByTime(150);
    expect(sink.text('stdout')).toBe('progress 42%');
    output.write('stdout', b(' 100%\n'));
    await output.close();
    expect(sink.text('stdout')).toBe('progress 42% 100%\n');
  });

  it('holds back a partial line that may be a ::result or control line, and reads it when complete', async () => {
    jest.useFakeTimers();
    const { sink, output } = setup([], ['v']);
    output.write('stdout', b('::result v='));
    output.write('stderr', b(CONTROL_PREFIX));
    jest.advanceTimersByTime(500);
    expect(sink.published).toEqual([]);
    output.write('stdout', b('7\n'));
    output.write('stderr', b('interrupted\n'));
    await output.close();
    expect(output.results).toEqual({ v: '7' });
    expect(output.events.has('interrupted')).toBe(true);
    expect(sink.text('stderr')).toBe('');
  });

  it('masks a secret split between a published partial line and its end', async () => {
    jest.useFakeTimers();
    const { sink, output } = setup(['hunter2']);
    output.write('stdout', b('password: hunt'));
    jest.advanceTimersByTime(150);
    output.write('stdout', b('er2\n'));
    await output.close();
    expect(sink.text('stdout')).toBe('password: ***\n');
  });

  it('publishes large output in several ordered chunks that add up to all of it', async () => {
    const { sink, output } = setup();
    const line = 'y'.repeat(99) + '\n';
    for (let i = 0; i < 1000; i += 1) output.write('stdout', b(line));
    expect(sink.published.length).toBeGreaterThan(1); // streamed before the end, not only at close
    await output.close();
    expect(sink.text('stdout')).toBe(line.repeat(1000));
    expect(sink.published.every((p) => p.text.length > 0)).toBe(true);
  });

  it('keeps the last unterminated line at close', async () => {
    const { sink, output } = setup();
    output.write('stdout', b('no newline at end'));
    await output.close();
    expect(sink.text('stdout')).toBe('no newline at end');
  });

  it('keeps the order of a pending line and a truncated character at close', async () => {
    const { sink, output } = setup();
    output.write('stdout', b('abc'));
    output.write('stdout', b([0xe2]));
    await output.close();
    expect(sink.text('stdout')).toBe('abc\uFFFD');
  });
});
