import { describe, expect, test } from '@jest/globals';
import { AppMetrics, DURATION_BUCKETS, DURATION_METRIC, REQUESTS_METRIC } from '../../../src/simulator/apps/app-metrics.js';
import { SyntheticTraffic } from '../../../src/simulator/apps/traffic.js';
import { parseExposition, valueOf } from './exposition.js';

const profile = (errorRate: number, latencyMs = 100) => ({ errorRate, latencyMs, healthy: true });

function run(rps: number, ticks: number, tickMs: number, errorRate: number, latencyMs = 100) {
  const metrics = new AppMetrics({ alloc_id: 'a1' });
  const traffic = new SyntheticTraffic(metrics, rps, 0.3);
  for (let i = 0; i < ticks; i++) traffic.advance(tickMs, profile(errorRate, latencyMs));
  return metrics;
}

describe('synthetic traffic', () => {
  test('accounts requestsPerSecond x elapsed time, fractions carried between ticks', () => {
    // 20 rps at 30 ms ticks is 0.6 request a tick: none is lost to rounding.
    expect(run(20, 1000, 30, 0).total()).toBe(600);
  });

  test.each([0, 0.01, 0.2, 0.5, 1])('error rate %p gives that share of 5xx, to within one request', (rate) => {
    const m = run(20, 100, 100, rate);
    expect(m.total()).toBe(200);
    expect(Math.abs(m.total('500') - 200 * rate)).toBeLessThanOrEqual(1);
  });

  test('every 10 s window at 20 % errors has a 5xx share of 0.2', () => {
    const metrics = new AppMetrics({});
    const traffic = new SyntheticTraffic(metrics, 20, 0);
    let before = { all: 0, errors: 0 };
    for (let window = 0; window < 6; window++) {
      for (let i = 0; i < 100; i++) traffic.advance(100, profile(0.2));
      const now = { all: metrics.total(), errors: metrics.total('500') };
      expect((now.errors - before.errors) / (now.all - before.all)).toBeCloseTo(0.2, 1);
      before = now;
    }
  });

  test('latencies spread over [0.5, 1.5] x latencyMs', () => {
    const series = parseExposition(run(100, 100, 100, 0, 100).render());
    const bucket = (le: string) => valueOf(series, `${DURATION_METRIC}_bucket`, { le });
    const count = valueOf(series, `${DURATION_METRIC}_count`);
    expect(count).toBe(1000);
    expect(bucket('0.05')).toBe(0);
    expect(bucket('0.15')).toBe(count);
    // Evenly spread: half below the typical latency.
    expect(bucket('0.1') / count).toBeCloseTo(0.5, 1);
    expect(valueOf(series, `${DURATION_METRIC}_sum`) / count).toBeCloseTo(0.1, 2);
  });

  test('the histogram is cumulative and ends with +Inf = _count = the request counters', () => {
    const series = parseExposition(run(50, 50, 100, 0.3, 3000).render());
    const buckets = series.filter((s) => s.name === `${DURATION_METRIC}_bucket`);
    expect(buckets.map((b) => b.labels.le)).toEqual([...DURATION_BUCKETS.map(String), '+Inf']);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    const all = valueOf(series, REQUESTS_METRIC, { code: '200' }) + valueOf(series, REQUESTS_METRIC, { code: '500' });
    expect(buckets.at(-1)!.value).toBe(all);
    expect(valueOf(series, `${DURATION_METRIC}_count`)).toBe(all);
    expect(all).toBe(250);
  });
});
