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
