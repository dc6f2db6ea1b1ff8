/**
 * Runs `run` over items with at most `concurrency` at once, in order, and stops starting new
 * ones once `shouldStop` says so. Returns the items it never started.
 */
export async function fanOut<T>(items: readonly T[], concurrency: number, shouldStop: () => boolean, run: (item: T) => Promise<void>): Promise<T[]> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && !shouldStop()) {
      const item = items[next];
      next += 1;
      await run(item);
    }
  };
  // Every lane ends before this does, even when one fails or all are cancelled: a cancelled run
  // waits for each host's step to be killed and records every host as cancelled.
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  const failed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
  if (failed) throw failed.reason;
  return items.slice(next);
}
