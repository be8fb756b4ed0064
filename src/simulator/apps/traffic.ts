/**
 * Synthetic traffic for one application: each tick accounts the requests that the elapsed time
 * is worth at the configured rate. Fractions carry over between ticks, both for the request count
 * and for the error share, so an error rate of 0.2 yields exactly one error in five requests
 * (give or take one) instead of a coin flip per request: the 5xx ratio over a short Prometheus
 * window is then close to the profile's, which the promoter's checks rely on.
 */
import type { AppMetrics } from './app-metrics.js';
import type { AppProfile } from './profile.js';

/** Golden-ratio steps spread latency samples evenly over their range without randomness. */
const GOLDEN = 0.6180339887498949;

export class SyntheticTraffic {
  private requestCarry = 0;
  private errorCarry = 0;
  private phase: number;

  constructor(
    private readonly metrics: AppMetrics,
    private readonly requestsPerSecond: number,
    seed = 0,
  ) {
    this.phase = seed % 1;
  }

  /** Accounts the requests of `elapsedMs` with the current profile; returns how many. */
  advance(elapsedMs: number, profile: AppProfile): number {
    if (!(elapsedMs > 0)) return 0;
    this.requestCarry += (this.requestsPerSecond * elapsedMs) / 1000;
    const requests = wholePart(this.requestCarry);
    this.requestCarry -= requests;
    this.errorCarry += requests * profile.errorRate;
    const errors = Math.min(requests, wholePart(this.errorCarry));
    this.errorCarry -= errors;
    for (let i = 0; i < requests; i++) {
      this.metrics.record(i < errors ? '500' : '200', this.nextLatencySeconds(profile));
    }
    return requests;
  }

  private nextLatencySeconds(profile: AppProfile): number {
    this.phase = (this.phase + GOLDEN) % 1;
    return latencySeconds(profile.latencyMs, this.phase);
  }
}

/** floor() that forgives float drift: 0.6 added five times is 2.9999999999999996, meant as 3. */
function wholePart(x: number): number {
  return Math.floor(x + 1e-9);
}

/** A latency for `u` in [0, 1): uniform over [0.5, 1.5] x latencyMs, in seconds. */
export function latencySeconds(latencyMs: number, u: number): number {
  return (latencyMs * (0.5 + u)) / 1000;
}
