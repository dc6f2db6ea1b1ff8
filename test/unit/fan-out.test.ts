import { fanOut } from '../../workflows/fan-out';

/** A run whose items end when told, recording how many run at once. */
function recorder() {
  const pending = new Map<number, () => void>();
  const state = { running: 0, peak: 0, started: [] as number[] };
  const run = (item: number) =>
    new Promise<void>((resolve) => {
      state.started.push(item);
      state.running += 1;
      state.peak = Math.max(state.peak, state.running);
      pending.set(item, () => {
        state.running -= 1;
        resolve();
      });
    });
  const finish = async (item: number) => {
    pending.get(item)?.();
    pending.delete(item);
    await new Promise((r) => setImmediate(r));
  };
  return { state, run, finish };
}

describe('fanOut', () => {
  it('starts every item at once when the concurrency allows', async () => {
    const r = recorder();
    const done = fanOut([1, 2, 3], 5, () => false, r.run);
    expect(r.state.started).toEqual([1, 2, 3]);
    for (const i of [2, 1, 3]) await r.finish(i);
    await expect(done).resolves.toEqual([]);
  });

  it('runs at most `concurrency` at once, in order, the next starting as one ends', async () => {
    const r = recorder();
    const done = fanOut([1, 2, 3, 4, 5], 2, () => false, r.run);
    expect(r.state.started).toEqual([1, 2]);
    await r.finish(2);
    expect(r.state.started).toEqual([1, 2, 3]);
    for (const i of [1, 3, 4, 5]) await r.finish(i);
    await expect(done).resolves.toEqual([]);
    expect(r.state.peak).toBe(2);
  });

  it('starts nothing more once told to stop and returns the items it never started', async () => {
    const r = recorder();
    let stop = false;
    const done = fanOut([1, 2, 3, 4], 1, () => stop, r.run);
    stop = true;
    await r.finish(1);
    await expect(done).resolves.toEqual([2, 3, 4]);
    expect(r.state.started).toEqual([1]);
  });

  it('waits for every started item before failing with the first failure', async () => {
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    let settled = false;
    const done = fanOut([1, 2], 2, () => false, (i) => (i === 1 ? Promise.reject(new Error('host 1 broke')) : slow)).finally(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    release();
    await expect(done).rejects.toThrow('host 1 broke');
  });
});
