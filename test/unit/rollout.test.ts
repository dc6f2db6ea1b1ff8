import { failureBudget, planBatches, resolveCount } from '../../model/rollout';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('planBatches', () => {
  it('without batch runs every host in one batch, and nothing for no hosts', () => {
    expect(planBatches(7)).toEqual([7]);
    expect(planBatches(0)).toEqual([]);
  });

  it('splits by a count, the last batch taking the remainder', () => {
    expect(planBatches(10, { size: 3 })).toEqual([3, 3, 3, 1]);
    expect(planBatches(9, { size: 3 })).toEqual([3, 3, 3]);
    expect(planBatches(2, { size: 5 })).toEqual([2]);
  });

  it('puts the canary first, then batches of size', () => {
    expect(planBatches(10, { canary: 1, size: 3 })).toEqual([1, 3, 3, 3]);
    expect(planBatches(10, { canary: 2, size: 5 })).toEqual([2, 5, 3]);
  });

  it('without a size, the rest go at once after the canary', () => {
    expect(planBatches(10, { canary: 2 })).toEqual([2, 8]);
  });

  it('a canary as large as the fleet takes all of it', () => {
    expect(planBatches(3, { canary: 5, size: 2 })).toEqual([3]);
    expect(planBatches(3, { canary: 3, size: 2 })).toEqual([3]);
  });

  it('resolves a percentage against all targets, rounding up', () => {
    expect(planBatches(10, { size: '25%' })).toEqual([3, 3, 3, 1]);
    expect(planBatches(8, { size: '25%' })).toEqual([2, 2, 2, 2]);
    expect(planBatches(10, { canary: 1, size: '50%' })).toEqual([1, 5, 4]);
    expect(planBatches(200, { canary: 1, size: '10%' })).toEqual([1, ...Array(9).fill(20), 19]);
  });

  it('a small percentage of a small fleet is still one host at a time', () => {
    expect(planBatches(3, { size: '10%' })).toEqual([1, 1, 1]);
    expect(planBatches(3, { size: '0.5%' })).toEqual([1, 1, 1]);
  });

  it('never makes an empty or endless plan from a zero size', () => {
    expect(planBatches(3, { size: 0 })).toEqual([1, 1, 1]);
    expect(planBatches(3, { size: '0%' })).toEqual([1, 1, 1]);
  });

  it('a 100% batch runs everything after the canary at once', () => {
    expect(planBatches(5, { canary: 1, size: '100%' })).toEqual([1, 4]);
  });

  it('no host is planned twice or left out, for any fleet size', () => {
    for (let total = 0; total <= 40; total += 1) {
      for (const batch of [{ size: 1 }, { size: 7 }, { canary: 2, size: '30%' }, { canary: 1, size: '1%' }]) {
        const plan = planBatches(total, batch);
        expect(sum(plan)).toBe(total);
        expect(plan.every((n) => n > 0)).toBe(true);
      }
    }
  });
});

describe('resolveCount', () => {
  it('returns counts as they are and resolves percentages', () => {
    expect(resolveCount(4, 100)).toBe(4);
    expect(resolveCount('25%', 10)).toBe(3);
    expect(resolveCount('1%', 10)).toBe(1);
    expect(resolveCount('0%', 10)).toBe(0);
    expect(resolveCount('12.5%', 16)).toBe(2);
  });
});

describe('failureBudget', () => {
  it('returns a count as it is', () => {
    expect(failureBudget(0, 10)).toBe(0);
    expect(failureBudget(3, 10)).toBe(3);
  });

  it('rounds a percentage down, so the budget is never more than the share allows', () => {
    expect(failureBudget('10%', 100)).toBe(10);
    expect(failureBudget('10%', 19)).toBe(1);
    expect(failureBudget('10%', 9)).toBe(0);
    expect(failureBudget('50%', 3)).toBe(1);
    expect(failureBudget('100%', 7)).toBe(7);
    expect(failureBudget('0%', 7)).toBe(0);
    expect(failureBudget('2.5%', 80)).toBe(2);
  });
});
