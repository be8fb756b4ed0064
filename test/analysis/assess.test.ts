import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import type { Measurement, MeasurementResult } from '../../src/domain/analysis.js';
import { assessAllocationCheck, assessCheck, isTerminalPhase, nextMeasurementDue, type Limits } from '../../src/analysis/assess.js';

const limits = (o: Partial<Limits> = {}): Limits => ({ count: 1, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 0, ...o });
const seq = (...results: MeasurementResult[]): Measurement[] => results.map((result, i) => ({ check: 'c', result, at: 1000 * (i + 1) }));
const P = 'pass', F = 'fail', I = 'inconclusive', E = 'error';

describe('assessCheck', () => {
  test.each([
    { name: 'no measurements -> pending', l: limits({ count: 3 }), s: seq(), phase: 'pending', taken: 0 },
    { name: 'fewer passes than count -> running', l: limits({ count: 3 }), s: seq(P, P), phase: 'running', taken: 2 },
    { name: 'count passes -> passed', l: limits({ count: 3 }), s: seq(P, P, P), phase: 'passed', taken: 3 },
    { name: 'fails > failureLimit -> failed', l: limits({ count: 3 }), s: seq(P, F), phase: 'failed', taken: 2 },
    { name: 'tolerated fail, then count passes -> passed', l: limits({ count: 3, failureLimit: 1 }), s: seq(F, P, P, P), phase: 'passed', taken: 4 },
    { name: 'tolerated fails do not count toward count', l: limits({ count: 3, failureLimit: 2 }), s: seq(P, F, P, F), phase: 'running', taken: 4 },
    { name: 'second fail beyond limit 1 -> failed', l: limits({ count: 5, failureLimit: 1 }), s: seq(F, P, F), phase: 'failed', taken: 3 },
    { name: 'inconclusives > limit -> inconclusive', l: limits(), s: seq(I), phase: 'inconclusive', taken: 1 },
    { name: 'a tolerated inconclusive never completes a check', l: limits({ count: 1, inconclusiveLimit: 1 }), s: seq(I), phase: 'running', taken: 1 },
    { name: 'tolerated inconclusive, then a pass -> passed', l: limits({ count: 1, inconclusiveLimit: 1 }), s: seq(I, P), phase: 'passed', taken: 2 },
    { name: 'consecutive errors > limit -> errored', l: limits({ consecutiveErrorLimit: 2 }), s: seq(E, E, E), phase: 'errored', taken: 3 },
    { name: 'errors separated by a measurement do not add up', l: limits({ count: 3, consecutiveErrorLimit: 1 }), s: seq(E, P, E, P, E), phase: 'running', taken: 5 },
    { name: 'errors do not count toward count', l: limits({ count: 2, consecutiveErrorLimit: 5 }), s: seq(E, P, E), phase: 'running', taken: 3 },
    { name: 'passed sticks', l: limits({ count: 1 }), s: seq(P, F, F, E), phase: 'passed', taken: 1 },
    { name: 'failed sticks', l: limits({ count: 2 }), s: seq(F, P, P, P), phase: 'failed', taken: 1 },
    { name: 'count 0 still needs one pass', l: limits({ count: 0 }), s: seq(), phase: 'pending', taken: 0 },
  ] as const)('$name', ({ l, s, phase, taken }) => {
    const a = assessCheck(l, s);
    expect(a.phase).toBe(phase);
    expect(a.taken).toBe(taken);
  });

  test('counters', () => {
    expect(assessCheck(limits({ count: 9, failureLimit: 5, inconclusiveLimit: 5, consecutiveErrorLimit: 5 }), seq(P, F, I, E, E, P, E))).toEqual({
      phase: 'running',
      passes: 2,
      fails: 1,
      inconclusives: 1,
      errors: 3,
      consecutiveErrors: 1,
      taken: 7,
    });
  });
});

/** An independent reading of the contract, measurement by measurement. */
function firstEnd(l: Limits, results: MeasurementResult[]): { at: number; phase: string } | undefined {
  let p = 0, f = 0, i = 0, run = 0;
  for (let k = 0; k < results.length; k++) {
    const r = results[k];
    if (r === 'pass') (p++, (run = 0));
    if (r === 'fail') (f++, (run = 0));
    if (r === 'inconclusive') (i++, (run = 0));
    if (r === 'error') run++;
    if (f > l.failureLimit) return { at: k + 1, phase: 'failed' };
    if (i > l.inconclusiveLimit) return { at: k + 1, phase: 'inconclusive' };
    if (run > l.consecutiveErrorLimit) return { at: k + 1, phase: 'errored' };
    if (p >= Math.max(1, l.count)) return { at: k + 1, phase: 'passed' };
  }
  return undefined;
}

const arbLimits = fc.record({
  count: fc.integer({ min: 0, max: 6 }),
  failureLimit: fc.integer({ min: 0, max: 3 }),
  inconclusiveLimit: fc.integer({ min: 0, max: 3 }),
  consecutiveErrorLimit: fc.integer({ min: 0, max: 4 }),
});
const arbResults = fc.array(fc.constantFrom<MeasurementResult>(P, F, I, E), { maxLength: 40 });

describe('properties', () => {
  test('passed only when count passes came before any limit tripped', () => {
    fc.assert(
      fc.property(arbLimits, arbResults, (l, results) => {
        const a = assessCheck(l, seq(...results));
        if (a.phase !== 'passed') return;
        const prefix = results.slice(0, a.taken);
        expect(prefix.filter((r) => r === P).length).toBeGreaterThanOrEqual(Math.max(1, l.count));
        expect(prefix.filter((r) => r === F).length).toBeLessThanOrEqual(l.failureLimit);
        expect(prefix.filter((r) => r === I).length).toBeLessThanOrEqual(l.inconclusiveLimit);
        let run = 0;
        for (const r of prefix) {
          run = r === E ? run + 1 : 0;
          expect(run).toBeLessThanOrEqual(l.consecutiveErrorLimit);
        }
      }),
    );
  });

  test('inconclusives beyond the limit before count passes never yield passed', () => {
    fc.assert(
      fc.property(arbLimits, arbResults, fc.nat(), (l, rest, seed) => {
        // Put limit+1 inconclusives among fewer than `count` passes (and no other outcomes), then anything.
        const passes = Math.max(1, l.count) - 1;
        const head: MeasurementResult[] = [...Array<MeasurementResult>(l.inconclusiveLimit + 1).fill(I), ...Array<MeasurementResult>(passes).fill(P)];
        const shuffled = head.map((r, k) => ({ r, key: (seed * 31 + k * 17) % 101 })).sort((a, b) => a.key - b.key).map((x) => x.r);
        expect(assessCheck(l, seq(...shuffled, ...rest)).phase).toBe('inconclusive');
      }),
    );
  });

  test('agrees with a step-by-step reading of the contract; terminal phases stick', () => {
    fc.assert(
      fc.property(arbLimits, arbResults, arbResults, (l, results, more) => {
        const a = assessCheck(l, seq(...results));
        const end = firstEnd(l, results);
        if (end) {
          expect(a.phase).toBe(end.phase);
          expect(a.taken).toBe(end.at);
          expect(assessCheck(l, seq(...results, ...more)).phase).toBe(end.phase);
        } else {
          expect(a.phase).toBe(results.length === 0 ? 'pending' : 'running');
          expect(isTerminalPhase(a.phase)).toBe(false);
        }
      }),
    );
  });

  test('no pass measurement, no passed', () => {
    fc.assert(
      fc.property(arbLimits, fc.array(fc.constantFrom<MeasurementResult>(F, I, E), { maxLength: 40 }), (l, results) => {
        expect(assessCheck(l, seq(...results)).phase).not.toBe('passed');
      }),
    );
  });
});

describe('assessAllocationCheck', () => {
  const l = limits({ count: 2 });
  test.each([
    { name: 'no allocation in scope -> pending, never passed', by: {}, ids: [], phase: 'pending' },
    { name: 'not measured yet -> pending', by: {}, ids: ['a', 'b'], phase: 'pending' },
    { name: 'some measured -> running', by: { a: seq(P) }, ids: ['a', 'b'], phase: 'running' },
    { name: 'one passed, one not measured -> running', by: { a: seq(P, P) }, ids: ['a', 'b'], phase: 'running' },
    { name: 'every allocation passed -> passed', by: { a: seq(P, P), b: seq(P, P) }, ids: ['a', 'b'], phase: 'passed' },
    { name: 'one failed -> failed at once', by: { a: seq(F), b: seq(P) }, ids: ['a', 'b'], phase: 'failed' },
    { name: 'failed beats a passed one and a held one', by: { a: seq(P, P), b: seq(I), c: seq(F) }, ids: ['a', 'b', 'c'], phase: 'failed' },
    { name: 'one inconclusive -> inconclusive', by: { a: seq(P, P), b: seq(I) }, ids: ['a', 'b'], phase: 'inconclusive' },
    { name: 'one errored -> errored', by: { a: seq(P, P), b: seq(E) }, ids: ['a', 'b'], phase: 'errored' },
    { name: 'allocations out of scope are ignored', by: { a: seq(P, P), gone: seq(F) }, ids: ['a'], phase: 'passed' },
  ] as { name: string; by: Record<string, Measurement[]>; ids: string[]; phase: string }[])('$name', ({ by, ids, phase }) => {
    const a = assessAllocationCheck(l, by, ids);
    expect(a.phase).toBe(phase);
    expect(Object.keys(a.byAlloc).sort()).toEqual([...ids].sort());
  });
});

describe('nextMeasurementDue', () => {
  const spec = { ...limits({ count: 3, consecutiveErrorLimit: 1 }), intervalMs: 30_000, initialDelayMs: 10_000 };
  test('first after the initial delay', () => {
    expect(nextMeasurementDue(spec, [], 5_000)).toBe(15_000);
  });
  test('then one interval after the latest measurement', () => {
    expect(nextMeasurementDue(spec, [{ check: 'c', result: 'pass', at: 20_000 }, { check: 'c', result: 'error', at: 50_000 }], 5_000)).toBe(80_000);
  });
  test('none once the check has ended', () => {
    expect(nextMeasurementDue(spec, seq(P, P, P), 0)).toBeUndefined();
    expect(nextMeasurementDue(spec, seq(E, E), 0)).toBeUndefined();
  });
});
