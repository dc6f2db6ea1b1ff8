/** Rolling batches and the failure budget of a task run; pure arithmetic shared by edge and workflows. */

export type CountOrPercent = number | string;

/** Resolves "25%" against a total (rounded up, at least 1 when the share is above 0) or returns the count. */
export function resolveCount(value: CountOrPercent, total: number): number {
  if (typeof value === 'number') return value;
  const share = Number(value.slice(0, -1));
  return share === 0 ? 0 : Math.max(1, Math.ceil((share / 100) * total));
}

/** Sizes of the successive batches over `total` hosts: the canary first, then `size` at a time. */
export function planBatches(total: number, batch?: { canary?: number; size?: CountOrPercent }): number[] {
  if (!batch) return total > 0 ? [total] : [];
  const sizes: number[] = [];
  let left = total;
  if (batch.canary && left > 0) {
    sizes.push(Math.min(batch.canary, left));
    left -= sizes[0];
  }
  const size = batch.size === undefined ? left : Math.max(1, resolveCount(batch.size, total));
  while (left > 0) {
    sizes.push(Math.min(size, left));
    left -= size;
  }
  return sizes;
}

/** How many failed hosts a run tolerates before it stops starting new ones. */
export function failureBudget(maxFailures: CountOrPercent, total: number): number {
  if (typeof maxFailures === 'number') return maxFailures;
  const share = Number(maxFailures.slice(0, -1));
  return Math.floor((share / 100) * total);
}
