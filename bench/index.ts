/**
 * `npm run bench [-- options]`: the watch at scale, stream source beside blocking source, each
 * run with the simulator and the daemon in processes of their own (see lifecycle.ts), then the
 * targets beside the figures; plus a real-size full list and one machine step. Options: options.ts.
 */
import { listCost } from './list-cost.js';
import { runIdle, runLifecycle, type RunResult } from './lifecycle.js';
import { machineStepMicros } from './machine-step.js';
import { parseBenchOptions, USAGE, type BenchOptions } from './options.js';
import { printTable } from './table.js';
import { targetRows } from './targets.js';

let options: BenchOptions;
try {
  options = parseBenchOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}\n`);
  process.exit(2);
}

/** Nearest-rank quantile of the measured values (ms). */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

const ms = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(0));
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

function runRow(r: RunResult): string[] {
  const sorted = [...r.latenciesMs].sort((a, b) => a - b);
  const q = (p: number) => (sorted.length > 0 ? ms(quantile(sorted, p)) : '-');
  return [r.source, String(r.n), r.shape, q(0.5), q(0.99), q(1), ms(r.shape === 'burst' ? r.drainMs : undefined), r.requestsPerDeployment.toFixed(1), (r.bytesPerDeployment / 1024).toFixed(1), String(r.maxConnections), r.cpuMsPerDeployment.toFixed(1), mb(r.rssBytes), mb(r.peakRssBytes)];
}

const results: RunResult[] = [];
for (const n of options.sizes) {
  for (const shape of options.shapes) {
    for (const source of options.sources) {
      process.stderr.write(`bench: ${source}, ${n} deployments, ${shape}...\n`);
      results.push(await runLifecycle(source, n, shape, options));
    }
  }
}
if (options.idle > 0) {
  for (const source of options.sources) {
    process.stderr.write(`bench: ${source}, ${options.idle} deployments tracked, idle...\n`);
    results.push(await runIdle(source, options.idle, options));
  }
}

console.log(`nomad-promoter bench, ${new Date().toISOString()}: bake end -> promote acknowledged (ms), per deployment`);
printTable(
  ['source', 'N', 'shape', 'p50 ms', 'p99 ms', 'max ms', 'drain ms', 'req/dep', 'KB/dep', 'max conns', 'CPU ms/dep', 'RSS MB', 'peak RSS MB'],
  results.map(runRow),
);
console.log('');
console.log('KB read per deployment, by route (the three largest)');
printTable(
  ['source', 'N', 'shape', 'routes'],
  results.map((r) => [
    r.source,
    String(r.n),
    r.shape,
    Object.entries(r.bytesPerDeploymentByRoute)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([route, bytes]) => `${route} ${(bytes / 1024).toFixed(1)}`)
      .join(', '),
  ]),
);
console.log('');
printTable(['target', 'source', 'measured', 'met'], targetRows(results));
console.log('');
const list = await listCost();
printTable(
  ['benchmark', 'result'],
  [
    [`full allocation list, ${list.allocations} allocations (${list.bytesPerAllocation.toFixed(0)} B each, ${(list.gzipBytes / 1024).toFixed(0)} KB gzip): gunzip + parse + absorb`, `${list.msPerList.toFixed(0)} ms`],
    ['machine step (2 canary groups, baking)', `${machineStepMicros().toFixed(1)} µs`],
    ...results
      .filter((r) => r.scrape)
      .map((r) => [`GET /metrics with ${r.n} deployments tracked (${r.source})`, `${r.scrape!.ms.toFixed(0)} ms, ${(r.scrape!.bytes / 2 ** 20).toFixed(1)} MB`]),
  ],
);
