import type { Client } from '@temporalio/client';
import { taskQueueWorkers } from '../../workers/cluster-workers';

/** Temporal's task-queue description: pollers with the time each last polled (it keeps stopped ones for minutes). */
function fakeClient(pollers: Array<{ identity: string; secondsAgo: number }>, now: Date): Client {
  const described = { pollers: pollers.map((p) => ({ identity: p.identity, lastAccessTime: { seconds: Math.floor(now.getTime() / 1000) - p.secondsAgo } })) };
  return { options: { namespace: 'default' }, workflowService: { describeTaskQueue: async () => described } } as unknown as Client;
}

describe('taskQueueWorkers', () => {
  const now = new Date('2026-12-03T03:00:00Z');

  it('lists only the workers that polled within 90 s: a stopped one Temporal still lists is not counted', async () => {
    const status = await taskQueueWorkers(fakeClient([{ identity: 'host/1/local', secondsAgo: 20 }, { identity: 'host/2/local', secondsAgo: 250 }], now), 'ops.cluster.local', now);
    expect(status.online).toBe(true);
    expect(status.workers.map((w) => w.identity)).toEqual(['host/1/local']);
  });

  it('is offline when every poller Temporal lists has stopped', async () => {
    const status = await taskQueueWorkers(fakeClient([{ identity: 'host/2/local', secondsAgo: 250 }], now), 'ops.cluster.local', now);
    expect(status).toMatchObject({ online: false, workers: [] });
  });
});
