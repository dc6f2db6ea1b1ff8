/**
 * `ops run --watch` (cli/watch.ts) against a scripted run: what it prints while a stage's task waits
 * for a worker of its cluster.
 */
import { WAITING_SHOWN_AFTER_MS, watchRunFrom, type RunSource } from '../../cli/watch';
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
