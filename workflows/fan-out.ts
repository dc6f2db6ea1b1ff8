/**
 * Runs `run` over items with at most `concurrency` at once, in order, and stops starting new
 * ones once `shouldStop` says so. Returns the items it never started.
 */
export async function fanOut<T>(items: readonly T[], concurrency: number, shouldStop: () => boolean, run: (item: T) => Promise<void>): Promise<T[]> {
  let next = 0;
  const startNext = (): Promise<void> => run(items[next++]);
  const lane = async (): Promise<void> => {
    while (next < items.length && !shouldStop()) await startNext();
  };
  const lanes: Array<Promise<void>> = [];
  // With room for every item, each starts at once, without a lane around it: every promise made
  // here costs a stack trace the SDK records (~0.1 ms), and a fan-out makes them by the host.
  if (concurrency >= items.length) while (next < items.length && !shouldStop()) lanes.push(startNext());
  else for (let i = 0; i < concurrency; i += 1) lanes.push(lane());
  // Every lane ends before this does, even when one fails or all are cancelled: a cancelled run
  // waits for each host's step to be killed and records every host as cancelled.
  const settled = await Promise.allSettled(lanes);
  const failed = settled.find((l): l is PromiseRejectedResult => l.status === 'rejected');
  if (failed) throw failed.reason;
  return items.slice(next);
}
