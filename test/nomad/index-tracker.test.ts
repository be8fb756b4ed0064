import { describe, expect, test } from '@jest/globals';
import { advanceIndex, blockingIndexParam, blockingTimeoutMs } from '../../src/nomad/index-tracker.js';

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

  test('index 0 or a missing index counts as 1: after a higher index it went backwards and resets', () => {
    expect(advanceIndex(57, 0)).toEqual({ nextIndex: 0, reset: true, changed: false });
    expect(advanceIndex(57, Number.NaN)).toEqual({ nextIndex: 0, reset: true, changed: false });
  });

  test('after a fresh-cluster baseline of 1, a 0 answer is no change: keep blocking on 1, no re-list', () => {
    const first = advanceIndex(0, 0);
    expect(advanceIndex(first.nextIndex, 0)).toEqual({ nextIndex: 1, reset: false, changed: false });
    expect(advanceIndex(1, Number.NaN)).toEqual({ nextIndex: 1, reset: false, changed: false });
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

describe('blockingTimeoutMs', () => {
  test('outlasts the wait plus Nomad’s jitter (up to wait/16)', () => {
    expect(blockingTimeoutMs(400, 0)).toBeGreaterThanOrEqual(400 + 400 / 16);
    expect(blockingTimeoutMs(300_000, 5000)).toBe(300_000 + 18_750 + 5000);
  });

  test('a wait above 300 s is clamped by Nomad, so the limit follows the clamp', () => {
    expect(blockingTimeoutMs(600_000, 5000)).toBe(blockingTimeoutMs(300_000, 5000));
  });
});
