/**
 * `ops run --watch` (cli/watch.ts) against a scripted run: what it prints while a stage's task waits
 * for a worker of its cluster.
 */
import { ServiceError, type Client } from '@temporalio/client';
import { CliError } from '../../cli/exit-codes';
import { temporalRunSource, WAITING_SHOWN_AFTER_MS, watchRunFrom, type RunSource } from '../../cli/watch';
import type { RunOutcome, RunTree } from '../../workers/runs';

const WAITING = 'waiting for a worker of cluster "north" (task queue ops.cluster.north)';

function tree(task: 'waiting' | 'running'): RunTree {
  return {
    runId: 'p-1',
    kind: 'pipeline',
    closed: false,
    pipeline: {
      status: 'running',
      stages: [{ name: 'probe', cluster: 'north', finally: false, status: 'running', tasks: [{ name: 'probe', workflowId: 'p-1-probe', status: task, ...(task === 'waiting' ? { reason: WAITING } : {}) }] }],
    },
    tasks: [],
  };
}

/** A pipeline run whose one task waits `waitMs` for a worker, then runs and succeeds. */
function run(waitMs: number): RunSource {
  const t0 = Date.now();
  const outcome: RunOutcome = {
    kind: 'pipeline',
    result: { status: 'succeeded', stages: [{ name: 'probe', status: 'succeeded', tasks: [{ name: 'probe', status: 'succeeded', hosts: [], results: {} }] }] },
  };
  return {
    tree: async () => tree(Date.now() - t0 < waitMs ? 'waiting' : 'running'),
    outcome: () => new Promise((resolve) => setTimeout(() => resolve(outcome), waitMs + 700)),
  };
}

async function watched(source: RunSource): Promise<string[]> {
  const lines: string[] = [];
  await watchRunFrom(source, (line) => lines.push(line));
  return lines;
}

describe('watching a stage whose task waits for a worker', () => {
  it('says nothing of the moment every task waits for its worker to pick it up', async () => {
    expect(await watched(run(800))).toEqual(['stage probe on cluster north: probe', 'run succeeded (0 succeeded, 0 failed host results)']);
  });

  it('says which worker a task waits for once the wait lasts, once', async () => {
    const lines = await watched(run(WAITING_SHOWN_AFTER_MS + 1500));
    expect(lines).toEqual(['stage probe on cluster north: probe', `  … probe: ${WAITING}`, 'run succeeded (0 succeeded, 0 failed host results)']);
  });
});

describe('watching a stage whose task ends without running a host', () => {
  it('says why under the stage, before the run ends', async () => {
    const reason = 'not started: Pipeline/p: spec.stages[0].tasks[0].variables.v: is required and has no value';
    const failed: RunTree = {
      runId: 'p-2',
      kind: 'pipeline',
      closed: false,
      pipeline: { status: 'running', stages: [{ name: 'use', cluster: 'local', finally: false, status: 'failed', tasks: [{ name: 'consume', workflowId: 'p-2-consume', status: 'failed', reason }] }] },
      tasks: [],
    };
    const outcome: RunOutcome = {
      kind: 'pipeline',
      result: { status: 'failed', reason: `stage use failed: consume: ${reason}`, stages: [{ name: 'use', status: 'failed', tasks: [{ name: 'consume', status: 'failed', reason, hosts: [], results: {} }] }] },
    };
    const source: RunSource = { tree: async () => failed, outcome: () => new Promise((resolve) => setTimeout(() => resolve(outcome), 1200)) };
    expect(await watched(source)).toEqual([
      'stage use on cluster local: consume',
      `  ✗ consume: ${reason}`,
      `run failed (0 succeeded, 0 failed host results): stage use failed: consume: ${reason}`,
    ]);
  });
});

describe('watching a run while Temporal does not answer', () => {
  /** What the client throws while the server is down: the SDK's ServiceError around gRPC UNAVAILABLE. */
  const down = () => new ServiceError('Failed to get Workflow execution history', { cause: Object.assign(new Error('14 UNAVAILABLE: tcp connect error'), { code: 14, details: 'tcp connect error', metadata: {} }) });
  const ended: RunOutcome = { kind: 'task', result: { name: 't', status: 'succeeded', hosts: [], results: {} } };
  /** A client whose server is down for the first `failures` waits on the run's end. */
  function client(failures: number): Client {
    let calls = 0;
    const handle = {
      result: async () => {
        calls += 1;
        if (calls <= failures) throw down();
        return ended.result;
      },
      query: async () => {
        throw down();
      },
    };
    return { workflow: { getHandle: () => handle } } as unknown as Client;
  }

  it('keeps following the run, which goes on, until Temporal answers again', async () => {
    expect(await watched(temporalRunSource(client(2), 't-1', 'task'))).toEqual(['run succeeded (0 succeeded, 0 failed host results)']);
  });

  it('gives up, saying the run goes on, once Temporal has not answered for long', async () => {
    const watching = watched(temporalRunSource(client(Infinity), 't-2', 'task', 1000));
    await expect(watching).rejects.toThrow(CliError);
    await expect(watching).rejects.toThrow('Temporal has not answered for 1s (tcp connect error); run t-2 goes on: "ops watch t-2" follows it again');
  });
});

describe('watching a run that ends between polls', () => {
  const host = (name: string) => ({ host: name, status: 'succeeded' as const, steps: [], results: {} });
  const outcome: RunOutcome = {
    kind: 'pipeline',
    result: {
      status: 'succeeded',
      stages: [
        { name: 'facts', status: 'succeeded', tasks: [{ name: 'collect', status: 'succeeded', hosts: [host('web-1')], results: {} }] },
        { name: 'report', status: 'succeeded', tasks: [{ name: 'report', status: 'succeeded', hosts: [host('web-1')], results: {} }] },
      ],
    },
  };
  const closed: RunTree = { runId: 'p-3', kind: 'pipeline', closed: true, tasks: [] };
  const lines = (text: string) => text.split('\n').map((l) => l.replace(/\s+/g, ' ').trim());

  it('lists each stage over its hosts, where the last poll saw it, when the closed run shows no stages (through the server)', async () => {
    let polls = 0;
    const pending: RunTree = {
      runId: 'p-3',
      kind: 'pipeline',
      closed: false,
      pipeline: {
        status: 'running',
        stages: [
          { name: 'facts', cluster: 'local', finally: false, status: 'running', tasks: [{ name: 'collect', workflowId: 'p-3.collect', status: 'running' }] },
          { name: 'report', cluster: 'local', finally: true, status: 'pending', tasks: [{ name: 'report', workflowId: 'p-3.report', status: 'pending' }] },
        ],
      },
      tasks: [],
    };
    const source: RunSource = {
      tree: async () => (polls++ === 0 ? pending : closed),
      outcome: () => new Promise((resolve) => setTimeout(() => resolve(outcome), 100)),
    };
    expect(lines((await watched(source)).join('\n'))).toEqual([
      'stage facts on cluster local: collect',
      '✓ web-1 succeeded [collect]',
      'stage report (finally) on cluster local: report',
      '✓ web-1 succeeded [report]',
      'run succeeded (2 succeeded, 0 failed host results)',
    ]);
  });

  it('still names each stage when no poll saw the run running', async () => {
    const source: RunSource = { tree: async () => closed, outcome: async () => outcome };
    expect(lines((await watched(source)).join('\n'))).toEqual(['stage facts: collect', '✓ web-1 succeeded [collect]', 'stage report: report', '✓ web-1 succeeded [report]', 'run succeeded (2 succeeded, 0 failed host results)']);
  });
});

describe('how often a watch asks', () => {
  afterEach(() => jest.useRealTimers());

  /** A task run whose hosts finish at the given times (ms after the watch starts); it ends with the last. */
  function taskRun(finishAt: number[], polledAt: number[]): RunSource {
    const t0 = Date.now();
    const hosts = (now: number) => finishAt.map((at, i) => ({ host: `web-${i + 1}`, status: now - t0 >= at ? ('succeeded' as const) : ('running' as const), step: 'uptime' }));
    const end = Math.max(...finishAt);
    return {
      tree: async () => {
        polledAt.push(Date.now() - t0);
        return { runId: 't-1', kind: 'task', closed: false, tasks: [{ name: 'uptime', workflowId: 't-1', status: 'running', total: finishAt.length, hosts: hosts(Date.now()), groups: [] }] };
      },
      outcome: () =>
        new Promise((resolve) =>
          setTimeout(() => resolve({ kind: 'task', result: { name: 'uptime', status: 'succeeded', hosts: finishAt.map((_, i) => ({ host: `web-${i + 1}`, status: 'succeeded', steps: [], results: {} })), results: {} } } as RunOutcome), end + 50),
        ),
    };
  }

  async function follow(makeSource: () => RunSource, forMs: number): Promise<Array<{ line: string; at: number }>> {
    jest.useFakeTimers();
    const source = makeSource();
    const t0 = Date.now();
    const shown: Array<{ line: string; at: number }> = [];
    const watching = watchRunFrom(source, (line) => shown.push({ line, at: Date.now() - t0 }));
    await jest.advanceTimersByTimeAsync(forMs);
    await watching;
    return shown;
  }

  it('asks less often while nothing changes, at most 2 s apart, and every 0.5 s again once hosts finish', async () => {
    const polledAt: number[] = [];
    const shown = await follow(() => taskRun([6000, 6200, 6900, 7300, 8000, 9000], polledAt), 9100);
    // At a fixed 0.5 s, 12 polls before the first host finishes; backing off from 0.5 s to 2 s at most, 6.
    const quiet = polledAt.filter((t) => t < 6000);
    expect(quiet).toEqual([0, 500, 1250, 2375, 4063, 6063].filter((t) => t < 6000));
    // Each host is shown within 2 s of finishing, and once hosts finish the next poll comes 0.5 s later.
    const at = (host: string) => shown.find((s) => s.line.includes(host))?.at ?? Infinity;
    expect(at('web-1') - 6000).toBeLessThanOrEqual(2000);
    const afterFirst = polledAt.filter((t) => t >= at('web-1'));
    expect(afterFirst[1] - afterFirst[0]).toBe(500);
    expect(shown.map((s) => s.line).at(-1)).toBe('run succeeded (6 succeeded, 0 failed host results)');
  });
});
