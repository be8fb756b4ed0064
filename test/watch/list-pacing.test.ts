import { describe, expect, test } from '@jest/globals';

import { DEFAULT_LIST_PACING, listInterval } from '../../src/watch/list-pacing.js';

describe('pause between full lists', () => {
  const pacing = { floorMs: 200, capMs: 5000, costFactor: 8 };

  test('cheap lists are spaced by the floor', () => {
    expect(listInterval(0, pacing)).toBe(200);
    expect(listInterval(20, pacing)).toBe(200);
  });

  test('costly lists by a multiple of their cost, so they take at most 1/k of the time', () => {
    expect(listInterval(100, pacing)).toBe(800);
    expect(listInterval(180, pacing)).toBe(1440);
  });

  test('never longer than the cap, and never shorter than the floor even with a cap below it', () => {
    expect(listInterval(10_000, pacing)).toBe(5000);
    expect(listInterval(10_000, { ...pacing, capMs: 100 })).toBe(200);
  });

  test('defaults: floor 200 ms, cap 5 s, factor 8', () => {
    expect(DEFAULT_LIST_PACING).toEqual(pacing);
  });
});
