import { describe, expect, test } from '@jest/globals';
import { advanceIndex, blockingIndexParam } from '../../src/nomad/index-tracker.js';

describe('advanceIndex', () => {
  test('a full list sets the baseline to its index', () => {
    expect(advanceIndex(0, 42)).toEqual({ nextIndex: 42, reset: false, changed: true });
  });

  test('a full list with index 0 (fresh cluster) blocks on 1 next instead of spinning', () => {
    expect(advanceIndex(0, 0)).toEqual({ nextIndex: 1, reset: false, changed: true });
  });

  test('a blocking query that timed out returns the same index: no change', () => {
    expect(advanceIndex(42, 42)).toEqual({ nextIndex: 42, reset: false, changed: false });
  });

  test('a higher index moves forward', () => {
    expect(advanceIndex(42, 57)).toEqual({ nextIndex: 57, reset: false, changed: true });
  });

  test('an index going backwards resets to a full re-list', () => {
    expect(advanceIndex(57, 42)).toEqual({ nextIndex: 0, reset: true, changed: false });
  });

  test('index 0 or a missing index in a blocking answer resets', () => {
    expect(advanceIndex(57, 0)).toEqual({ nextIndex: 0, reset: true, changed: false });
    expect(advanceIndex(57, Number.NaN)).toEqual({ nextIndex: 0, reset: true, changed: false });
  });

  test('after a fresh-cluster baseline of 1, a 0 answer resets once rather than blocking on 0', () => {
    const first = advanceIndex(0, 0);
    const second = advanceIndex(first.nextIndex, 0);
    expect(second.reset).toBe(true);
  });
});

describe('blockingIndexParam', () => {
  test('never below 1, so Nomad really blocks', () => {
    expect(blockingIndexParam(0)).toBe(1);
    expect(blockingIndexParam(-3)).toBe(1);
    expect(blockingIndexParam(Number.NaN)).toBe(1);
    expect(blockingIndexParam(1)).toBe(1);
    expect(blockingIndexParam(987)).toBe(987);
  });
});
