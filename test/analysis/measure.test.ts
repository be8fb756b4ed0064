import { describe, expect, test } from '@jest/globals';
import { evaluate as cel } from '@marcbachmann/cel-js';
import type { Observation } from '../../src/domain/analysis.js';
import type { CheckSpec } from '../../src/domain/policy.js';
import { toMeasurement, type Evaluate } from '../../src/analysis/measure.js';

/** A real CEL evaluator stands in for the one the policy module injects. */
const evaluate: Evaluate = (expr, vars) => {
  try {
    const value = cel(expr, vars);
    return typeof value === 'boolean' ? { ok: true, value } : { ok: false, error: `not a bool: ${String(value)}` };
  } catch (err) {
    return { ok: false, error: (err as Error).message.split('\n')[0] ?? 'error' };
  }
};

const spec: CheckSpec = {
  name: 'error-rate',
  scope: 'deployment',
  source: { kind: 'prometheus', query: 'q', timeoutMs: 1000 },
  pass: 'result < 0.01',
  fail: 'result >= 0.05',
  intervalMs: 30_000,
  count: 5,
  initialDelayMs: 0,
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
  noData: 'inconclusive',
};

const value = (result: number): Observation => ({ kind: 'data', variables: { result, results: [{ labels: {}, value: result }] }, value: result, noData: false });
const AT = 1_700_000_000_000;

describe('toMeasurement follows the contract', () => {
  test.each([
    { name: 'provider error -> error', o: { kind: 'error', message: 'connect ECONNREFUSED' } as Observation, s: spec, result: 'error', message: 'connect ECONNREFUSED' },
    { name: 'pass holds -> pass', o: value(0.001), s: spec, result: 'pass', message: 'pass held: result < 0.01' },
    { name: 'fail holds -> fail', o: value(0.07), s: spec, result: 'fail', message: 'fail held: result >= 0.05' },
    { name: 'neither holds -> inconclusive', o: value(0.02), s: spec, result: 'inconclusive', message: 'neither pass nor fail held' },
    { name: 'no fail given, pass does not hold -> fail', o: value(0.02), s: { ...spec, fail: undefined }, result: 'fail', message: 'pass did not hold: result < 0.01' },
    { name: '+Inf is no data', o: value(Number.POSITIVE_INFINITY), s: spec, result: 'inconclusive', message: 'no data: +Inf is not a finite number -> inconclusive' },
    { name: '-Inf is no data, not a low error rate', o: value(Number.NEGATIVE_INFINITY), s: spec, result: 'inconclusive', message: 'no data: -Inf is not a finite number -> inconclusive' },
    { name: 'NaN is no data', o: value(Number.NaN), s: { ...spec, noData: 'fail' }, result: 'fail', message: 'no data: NaN is not a finite number -> fail' },
    {
      name: 'a non-finite number in an HTTP body (JSON 1e999) is no data',
      o: { kind: 'data', variables: { response: { status: 200, body: { rates: [0.001, JSON.parse('1e999') as number] }, headers: {}, ms: 3 } }, noData: false } as Observation,
      s: { ...spec, pass: 'response.status == 200', fail: undefined },
      result: 'inconclusive',
      message: 'no data: +Inf is not a finite number -> inconclusive',
    },
  ] as const)('$name', ({ o, s, result, message }) => {
    expect(toMeasurement(o, s, evaluate, AT)).toMatchObject({ check: 'error-rate', result, message, at: AT });
  });

  test.each(['pass', 'fail', 'inconclusive'] as const)('no data -> noData outcome %s, expressions not evaluated', (outcome) => {
    const noData: Observation = { kind: 'data', variables: { results: [] }, noData: true };
    const never: Evaluate = () => {
      throw new Error('must not be evaluated');
    };
    expect(toMeasurement(noData, { ...spec, noData: outcome }, never, AT)).toEqual({ check: 'error-rate', result: outcome, at: AT, message: `no data -> ${outcome}` });
  });

  test('an expression that cannot be evaluated -> error, with the reason', () => {
    const several: Observation = { kind: 'data', variables: { results: [{ labels: { k: 'a' }, value: 1 }, { labels: { k: 'b' }, value: 2 }] }, noData: false };
    const m = toMeasurement(several, spec, evaluate, AT);
    expect(m.result).toBe('error');
    expect(m.message).toMatch(/^pass expression: .*result/);
  });

  test('an error in the fail expression -> error', () => {
    const m = toMeasurement(value(0.02), { ...spec, fail: 'nope > 1' }, evaluate, AT);
    expect(m).toMatchObject({ result: 'error', message: expect.stringMatching(/^fail expression: /) });
  });

  test('an evaluator that throws or returns a non-bool -> error, never a throw', () => {
    const throwing: Evaluate = () => {
      throw new Error('boom');
    };
    expect(toMeasurement(value(0), spec, throwing, AT)).toMatchObject({ result: 'error', message: 'pass expression: boom' });
    const weird = (() => ({ ok: true, value: 1 })) as unknown as Evaluate;
    expect(toMeasurement(value(0), spec, weird, AT)).toMatchObject({ result: 'error' });
  });

  test('value, allocId and warnings are carried', () => {
    const o: Observation = { ...value(0.001), warnings: ['remote_read: down'] } as Observation;
    expect(toMeasurement(o, spec, evaluate, AT, 'alloc-1')).toEqual({
      check: 'error-rate',
      allocId: 'alloc-1',
      result: 'pass',
      value: 0.001,
      at: AT,
      message: 'pass held: result < 0.01; warnings: remote_read: down',
    });
  });

  test('http and nomad variables reach the evaluator', () => {
    const http: Observation = { kind: 'data', variables: { response: { status: 503, body: 'x', headers: {}, ms: 3 } }, noData: false };
    expect(toMeasurement(http, { ...spec, pass: 'response.status == 200', fail: undefined }, evaluate, AT).result).toBe('fail');
    const nomad: Observation = { kind: 'data', variables: { checks: [{ name: 'a', status: 'success', mode: 'healthiness', output: '' }] }, noData: false };
    expect(toMeasurement(nomad, { ...spec, pass: "checks.all(c, c.status == 'success')", fail: undefined }, evaluate, AT).result).toBe('pass');
  });
});
