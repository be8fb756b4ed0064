/** The targets of the watch at scale, each judged on the run it is about, per source. */
import type { RunResult } from './lifecycle.js';

const AT = 1000;
const IDLE_AT = 10_000;

interface Target {
  name: string;
  /** The runs it is judged on. */
  runs: (r: RunResult) => boolean;
  /** The figure of one run. */
  value: (r: RunResult) => number;
  unit: string;
  limit: number;
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(0.99 * sorted.length) - 1)] ?? NaN;
}

const TARGETS: Target[] = [
  { name: `spread p99 <= 50 ms at N=${AT}`, runs: (r) => r.shape === 'spread' && r.n === AT, value: (r) => p99(r.latenciesMs), unit: 'ms', limit: 50 },
  { name: `burst drained <= 5 s at N=${AT}`, runs: (r) => r.shape === 'burst' && r.n === AT, value: (r) => (r.drainMs ?? NaN) / 1000, unit: 's', limit: 5 },
  { name: '<= 20 KB read per deployment (worst run)', runs: (r) => r.shape !== 'idle', value: (r) => r.bytesPerDeployment / 1024, unit: 'KB', limit: 20 },
  { name: '<= 4 requests per deployment (worst run)', runs: (r) => r.shape !== 'idle', value: (r) => r.requestsPerDeployment, unit: '', limit: 4 },
  { name: '<= 2 connections (worst run)', runs: () => true, value: (r) => r.maxConnections, unit: '', limit: 2 },
  { name: `RSS <= 150 MB at ${IDLE_AT} tracked`, runs: (r) => r.shape === 'idle' && r.n === IDLE_AT, value: (r) => r.rssBytes / 2 ** 20, unit: 'MB', limit: 150 },
];

export function targetRows(results: RunResult[]): string[][] {
  const rows: string[][] = [];
  const sources = [...new Set(results.map((r) => r.source))];
  for (const t of TARGETS) {
    for (const source of sources) {
      const runs = results.filter((r) => r.source === source && t.runs(r));
      if (runs.length === 0) {
        rows.push([t.name, source, 'not run', '-']);
        continue;
      }
      const worst = Math.max(...runs.map(t.value));
      rows.push([t.name, source, `${worst.toFixed(t.unit === 's' ? 2 : Number.isInteger(worst) ? 0 : 1)}${t.unit ? ` ${t.unit}` : ''}`, worst <= t.limit ? 'met' : 'NOT MET']);
    }
  }
  return rows;
}
