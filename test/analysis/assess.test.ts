import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import type { Measurement, MeasurementResult } from '../../src/domain/analysis.js';
import { assessAllocationCheck, assessCheck, isTerminalPhase, nextMeasurementDue, trimErrorRuns, type Limits } from '../../src/analysis/assess.js';

const limits = (o: Partial<Limits> = {}): Limits => ({ count: 1, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 0, ...o });
const seq = (...results: MeasurementResult[]): Measurement[] => results.map((result, i) => ({ check: 'c', result, at: 1000 * (i + 1) }));
const P = 'pass', F = 'fail', I = 'inconclusive', E = 'error';

describe('assessCheck', () => {
  test.each([
    { name: 'no measurements -> pending', l: limits({ count: 3 }), s: seq(), phase: 'pending', taken: 0 },
    { name: 'fewer measurements than count -> running', l: limits({ count: 3 }), s: seq(P, P), phase: 'running', taken: 2 },
    { name: 'count passes -> passed', l: limits({ count: 3 }), s: seq(P, P, P), phase: 'passed', taken: 3 },
    { name: 'fails > failureLimit -> failed', l: limits({ count: 3 }), s: seq(P, F), phase: 'failed', taken: 2 },
    { name: 'policy.md: count 5, failureLimit 1: pass, fail, pass, pass, pass -> passed', l: limits({ count: 5, failureLimit: 1 }), s: seq(P, F, P, P, P), phase: 'passed', taken: 5 },
    { name: 'a tolerated fail is a measurement taken: counts toward count', l: limits({ count: 3, failureLimit: 1 }), s: seq(F, P, P), phase: 'passed', taken: 3 },
    { name: 'tolerated fails count toward count', l: limits({ count: 3, failureLimit: 2 }), s: seq(P, F, P, F), phase: 'passed', taken: 3 },
    { name: 'second fail beyond limit 1 -> failed', l: limits({ count: 5, failureLimit: 1 }), s: seq(F, P, F), phase: 'failed', taken: 3 },
    { name: 'limits are checked first: the measurement reaching count and tripping a limit fails', l: limits({ count: 2 }), s: seq(P, F), phase: 'failed', taken: 2 },
    { name: 'limits first for inconclusive too', l: limits({ count: 2 }), s: seq(P, I), phase: 'inconclusive', taken: 2 },
    { name: 'inconclusives > limit -> inconclusive', l: limits(), s: seq(I), phase: 'inconclusive', taken: 1 },
    { name: 'a tolerated inconclusive is a measurement taken', l: limits({ count: 2, inconclusiveLimit: 1 }), s: seq(I, P), phase: 'passed', taken: 2 },
    { name: 'tolerated outcomes alone never pass: count reached without a pass keeps running', l: limits({ count: 2, failureLimit: 1, inconclusiveLimit: 1 }), s: seq(F, I), phase: 'running', taken: 2 },
    { name: 'then the first pass ends it as passed', l: limits({ count: 2, failureLimit: 1, inconclusiveLimit: 1 }), s: seq(F, I, P), phase: 'passed', taken: 3 },
    { name: 'or a limit trips', l: limits({ count: 1, inconclusiveLimit: 1 }), s: seq(I, I), phase: 'inconclusive', taken: 2 },
    { name: 'consecutive errors > limit -> errored', l: limits({ consecutiveErrorLimit: 2 }), s: seq(E, E, E), phase: 'errored', taken: 3 },
    { name: 'errored is a hold: the first non-error measurement returns the check to running', l: limits({ count: 3, consecutiveErrorLimit: 1 }), s: seq(P, E, E, E, P), phase: 'running', taken: 5 },
    { name: 'an errored check that recovers still passes on count', l: limits({ count: 2, consecutiveErrorLimit: 1 }), s: seq(P, E, E, P), phase: 'passed', taken: 4 },
    { name: 'an errored check that recovers still fails on a bad measurement', l: limits({ count: 3, consecutiveErrorLimit: 0 }), s: seq(P, E, F), phase: 'failed', taken: 3 },
    { name: 'errors separated by a measurement do not add up', l: limits({ count: 3, consecutiveErrorLimit: 1 }), s: seq(E, P, E, P, E), phase: 'running', taken: 5 },
    { name: 'errors are no measurements of the canary: they do not count toward count', l: limits({ count: 2, consecutiveErrorLimit: 5 }), s: seq(E, P, E), phase: 'running', taken: 3 },
    { name: 'errors in between, then count measurements -> passed', l: limits({ count: 2, consecutiveErrorLimit: 5 }), s: seq(E, P, E, P), phase: 'passed', taken: 4 },
    { name: 'errors in between, tolerated fail -> passed', l: limits({ count: 2, failureLimit: 1, consecutiveErrorLimit: 5 }), s: seq(E, P, E, F), phase: 'passed', taken: 4 },
    { name: 'passed sticks', l: limits({ count: 1 }), s: seq(P, F, F, E), phase: 'passed', taken: 1 },
    { name: 'failed sticks', l: limits({ count: 2 }), s: seq(F, P, P, P), phase: 'failed', taken: 1 },
    { name: 'count 0 still needs one measurement', l: limits({ count: 0 }), s: seq(), phase: 'pending', taken: 0 },
    { name: 'count 0 is count 1', l: limits({ count: 0, consecutiveErrorLimit: 3 }), s: seq(E, P, P), phase: 'passed', taken: 2 },
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
      measured: 4,
      consecutiveErrors: 1,
      taken: 7,
    });
  });
});

/**
 * An independent reading of the contract, measurement by measurement: where the check ended
 * (failed, inconclusive, passed), else undefined. Errored is no end: it holds while errors run.
 */
function firstEnd(l: Limits, results: MeasurementResult[]): { at: number; phase: string } | undefined {
  let n = 0, f = 0, i = 0, p = 0, run = 0;
  for (let k = 0; k < results.length; k++) {
    const r = results[k];
    if (r !== 'error') n++;
    if (r === 'pass') p++;
    if (r === 'pass') run = 0;
    if (r === 'fail') (f++, (run = 0));
    if (r === 'inconclusive') (i++, (run = 0));
    if (r === 'error') run++;
    if (f > l.failureLimit) return { at: k + 1, phase: 'failed' };
    if (i > l.inconclusiveLimit) return { at: k + 1, phase: 'inconclusive' };
    if (run > l.consecutiveErrorLimit) continue;
    if (n >= Math.max(1, l.count) && p > 0) return { at: k + 1, phase: 'passed' };
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

const measurementsOf = (rs: readonly MeasurementResult[]) => rs.filter((r) => r !== E).length;

describe('properties', () => {
  test('passed exactly when count measurements (pass, fail, inconclusive), at least one a pass, were taken and no fail or inconclusive limit tripped', () => {
    fc.assert(
      fc.property(arbLimits, arbResults, (l, results) => {
        const a = assessCheck(l, seq(...results));
        if (a.phase !== 'passed') return;
        const prefix = results.slice(0, a.taken);
        // The check passed at the measurement that reached count, or at the first pass after it.
        const last = prefix[prefix.length - 1];
        expect(last).not.toBe(E);
        if (measurementsOf(prefix) > Math.max(1, l.count)) expect(last).toBe(P);
        else expect(measurementsOf(prefix)).toBe(Math.max(1, l.count));
        expect(a.measured).toBe(measurementsOf(prefix));
        expect(a.passes).toBeGreaterThan(0);
        expect(prefix.filter((r) => r === F).length).toBeLessThanOrEqual(l.failureLimit);
        expect(prefix.filter((r) => r === I).length).toBeLessThanOrEqual(l.inconclusiveLimit);
        // An error streak beyond consecutiveErrorLimit held the check but ended on a measurement.
        // Hence: at least count - failureLimit - inconclusiveLimit passes, and never none.
        expect(a.passes).toBeGreaterThanOrEqual(Math.max(1, Math.max(1, l.count) - l.failureLimit - l.inconclusiveLimit));
      }),
    );
  });

  test('a limit tripped by the measurement that reaches count wins over passed', () => {
    fc.assert(
      fc.property(arbLimits, arbResults, fc.nat(), (l, rest, seed) => {
        // limit+1 inconclusives and passes up to count (at least one), in any order, then
        // anything. When the limit trips at or before the count-th measurement, inconclusive;
        // else a pass after count tolerated measurements ended the check as passed.
        const count = Math.max(1, l.count);
        const passes = Math.max(1, count - (l.inconclusiveLimit + 1));
        const head: MeasurementResult[] = [...Array<MeasurementResult>(l.inconclusiveLimit + 1).fill(I), ...Array<MeasurementResult>(passes).fill(P)];
        const shuffled = head.map((r, k) => ({ r, key: (seed * 31 + k * 17) % 101 })).sort((a, b) => a.key - b.key).map((x) => x.r);
        const tripIndex = shuffled.reduce((at, r, k) => (at < 0 && shuffled.slice(0, k + 1).filter((x) => x === I).length > l.inconclusiveLimit ? k : at), -1);
        const passIndex = shuffled.findIndex((_r, k) => k + 1 >= count && shuffled.slice(0, k + 1).includes(P));
        const expected = passIndex >= 0 && (tripIndex < 0 || passIndex < tripIndex) ? 'passed' : 'inconclusive';
        expect(assessCheck(l, seq(...shuffled, ...rest)).phase).toBe(expected);
      }),
    );
  });

  test('agrees with a step-by-step reading of the contract; terminal phases stick, errored does not', () => {
    fc.assert(
      fc.property(arbLimits, arbResults, arbResults, (l, results, more) => {
        const a = assessCheck(l, seq(...results));
        const end = firstEnd(l, results);
        if (end) {
          expect(a.phase).toBe(end.phase);
          expect(a.taken).toBe(end.at);
          expect(assessCheck(l, seq(...results, ...more)).phase).toBe(end.phase);
        } else {
          let run = 0;
          for (const r of results) run = r === E ? run + 1 : 0;
          expect(a.phase).toBe(results.length === 0 ? 'pending' : run > l.consecutiveErrorLimit ? 'errored' : 'running');
          expect(a.taken).toBe(results.length);
          expect(isTerminalPhase(a.phase)).toBe(false);
        }
      }),
    );
  });

  test('errors never complete a check: without a limit on them, dropping them changes no outcome', () => {
    fc.assert(
      fc.property(arbLimits, arbResults, (l, results) => {
        const tolerant = { ...l, consecutiveErrorLimit: results.length };
        const withErrors = assessCheck(tolerant, seq(...results));
        const without = assessCheck(tolerant, seq(...results.filter((r) => r !== E)));
        expect(isTerminalPhase(withErrors.phase) ? withErrors.phase : 'not ended').toBe(isTerminalPhase(without.phase) ? without.phase : 'not ended');
        expect(withErrors.measured).toBe(without.measured);
      }),
    );
  });

  test('only errors never pass', () => {
    fc.assert(
      fc.property(arbLimits, fc.array(fc.constant<MeasurementResult>(E), { maxLength: 40 }), (l, results) => {
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
    expect(nextMeasurementDue(spec, seq(F), 0)).toBeUndefined();
  });
  test('errored keeps measuring, backing off from one interval up to 5 x interval', () => {
    // consecutiveErrorLimit 1: the second error makes the check errored.
    expect(nextMeasurementDue(spec, seq(E), 0)).toBe(1_000 + 30_000);
    expect(nextMeasurementDue(spec, seq(E, E), 0)).toBe(2_000 + 30_000);
    expect(nextMeasurementDue(spec, seq(E, E, E), 0)).toBe(3_000 + 60_000);
    expect(nextMeasurementDue(spec, seq(E, E, E, E), 0)).toBe(4_000 + 120_000);
    expect(nextMeasurementDue(spec, seq(E, E, E, E, E, E, E), 0)).toBe(7_000 + 150_000);
    // Back to running: the interval again.
    expect(nextMeasurementDue(spec, seq(E, E, E, E, P), 0)).toBe(5_000 + 30_000);
  });
  test('tolerated fails and inconclusives count toward count: no measurement after the count-th', () => {
    const tolerant = { ...spec, failureLimit: 1, inconclusiveLimit: 1 };
    expect(nextMeasurementDue(tolerant, seq(P, F), 0)).toBe(2_000 + 30_000);
    expect(nextMeasurementDue(tolerant, seq(P, F, I), 0)).toBeUndefined();
  });
  test('an error is no measurement taken: one more is due', () => {
    const tolerant = { ...spec, count: 2, consecutiveErrorLimit: 3 };
    expect(nextMeasurementDue(tolerant, seq(P, E), 0)).toBe(2_000 + 30_000);
  });
});

describe('trimErrorRuns', () => {
  test('a provider down for a long time: the history stays bounded, the check errored and its backoff at the cap', () => {
    const l = limits({ count: 3, consecutiveErrorLimit: 2 });
    let kept: Measurement[] = [];
    const all = seq(P, ...Array<MeasurementResult>(1000).fill(E));
    for (const m of all) kept = trimErrorRuns(l, [...kept, m]);
    expect(kept.length).toBeLessThanOrEqual(1 + 2 + 1 + 3);
    expect(kept[0]?.result).toBe(P);
    expect(assessCheck(l, kept).phase).toBe('errored');
    expect(nextMeasurementDue({ ...l, intervalMs: 1000, initialDelayMs: 0 }, kept, 0)).toBe(nextMeasurementDue({ ...l, intervalMs: 1000, initialDelayMs: 0 }, all, 0));
  });

  test('changes neither the phase nor the next due time of any history, measured one at a time, per allocation', () => {
    const arbAlloc = fc.constantFrom(undefined, 'a', 'b');
    fc.assert(
      fc.property(arbLimits, fc.array(fc.tuple(fc.constantFrom<MeasurementResult>(P, F, I, E, E, E), arbAlloc), { maxLength: 60 }), (l, steps) => {
        const spec = { ...l, intervalMs: 1000, initialDelayMs: 0 };
        const all: Measurement[] = steps.map(([result, allocId], i) => ({ check: 'c', result, at: 1000 * (i + 1), ...(allocId ? { allocId } : {}) }));
        let kept: Measurement[] = [];
        for (const m of all) kept = trimErrorRuns(l, [...kept, m]);
        for (const id of [undefined, 'a', 'b']) {
          const mine = (ms: Measurement[]) => ms.filter((m) => m.allocId === id);
          expect(assessCheck(l, mine(kept)).phase).toBe(assessCheck(l, mine(all)).phase);
          expect(nextMeasurementDue(spec, mine(kept), 0)).toBe(nextMeasurementDue(spec, mine(all), 0));
        }
      }),
    );
  });
});
