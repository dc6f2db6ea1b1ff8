/** Limits how many holders may proceed at once; waiters are served in order. */
export class Semaphore {
  private readonly waiters: Array<() => void> = [];

  constructor(private available: number) {}

  async acquire(): Promise<() => void> {
    if (this.available > 0) this.available -= 1;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.available += 1;
    };
  }
}

/** Maps over items with at most `limit` calls in flight, keeping the items' order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const gate = new Semaphore(limit);
  return Promise.all(
    items.map(async (item) => {
      const release = await gate.acquire();
      try {
        return await fn(item);
      } finally {
        release();
      }
    }),
  );
}
