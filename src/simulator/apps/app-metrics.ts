/**
 * The metrics of one simulated application: a request counter by status code and a latency
 * histogram. Both only ever grow, whatever the profile does.
 */
import { header, sample, type Labels } from './exposition.js';

export const REQUESTS_METRIC = 'http_requests_total';
export const DURATION_METRIC = 'http_request_duration_seconds';

/** Finer than the usual defaults between 50 ms and 1 s, so quantiles follow latencyMs closely. */
export const DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 2.5, 5, 10,
];

/** Both codes are exported from the start, so an error ratio is 0 (not "no data") for a clean app. */
export const CODES = ['200', '500'] as const;
export type Code = (typeof CODES)[number];

export class AppMetrics {
  private readonly requests: Record<Code, number> = { '200': 0, '500': 0 };
  private readonly bucketCounts = new Array<number>(DURATION_BUCKETS.length).fill(0);
  private count = 0;
  private sum = 0;

  constructor(private readonly labels: Labels) {}

  /** Accounts one request answered with `code` after `seconds`. */
  record(code: Code, seconds: number): void {
    this.requests[code] += 1;
    this.count += 1;
    this.sum += seconds;
    // Buckets are stored non-cumulative and summed on render.
    const index = DURATION_BUCKETS.findIndex((le) => seconds <= le);
    if (index >= 0) this.bucketCounts[index]! += 1;
  }

  total(code?: Code): number {
    return code ? this.requests[code] : this.requests['200'] + this.requests['500'];
  }

  render(): string {
    const lines = header(REQUESTS_METRIC, 'counter', 'Requests answered by the simulated application, by status code.');
    for (const code of CODES) lines.push(sample(REQUESTS_METRIC, { ...this.labels, code }, this.requests[code]));
    lines.push(...header(DURATION_METRIC, 'histogram', 'Latency of the requests answered by the simulated application.'));
    let cumulative = 0;
    DURATION_BUCKETS.forEach((le, i) => {
      cumulative += this.bucketCounts[i]!;
      lines.push(sample(`${DURATION_METRIC}_bucket`, { ...this.labels, le: String(le) }, cumulative));
    });
    lines.push(sample(`${DURATION_METRIC}_bucket`, { ...this.labels, le: '+Inf' }, this.count));
    lines.push(sample(`${DURATION_METRIC}_sum`, this.labels, this.sum));
    lines.push(sample(`${DURATION_METRIC}_count`, this.labels, this.count));
    return `${lines.join('\n')}\n`;
  }
}
