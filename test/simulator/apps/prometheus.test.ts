/**
 * End to end with a real Prometheus (Debian `prometheus` package): the fleet's file_sd brings
 * the apps into Prometheus, and the queries the promoter's policies use see the profiles.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppFleet, type AppIdentity } from '../../../src/simulator/apps/fleet.js';
import { startPrometheus, type RunningPrometheus } from '../../support/prometheus.js';
import { eventually } from '../../support/eventually.js';

const app = (n: number, version: number): AppIdentity => ({
  allocId: `${n}${n}${n}${n}${n}${n}${n}${n}-0000-4000-8000-00000000000${n}`,
  namespace: 'default',
  job: 'checkout',
  group: 'api',
  version,
  allocName: `checkout.api[${n}]`,
  nodeName: `node-${n}`,
});
const stable = app(1, 1);
const canary = app(2, 2);

let dir: string;
let fileSdPath: string;
let fleet: AppFleet;
let prom: RunningPrometheus;
const ports: Record<string, number> = {};

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(promql: string): Promise<VectorSample[]> {
  const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: VectorSample[] } };
  if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
  return body.data.result;
}

async function scalar(promql: string): Promise<number> {
  const result = await query(promql);
  if (result.length !== 1) throw new Error(`${promql}: expected one series, got ${JSON.stringify(result)}`);
  return Number(result[0]!.value[1]);
}

async function activeTargets(): Promise<string[]> {
  const res = await fetch(`${prom.url}/api/v1/targets?state=active`);
  const body = (await res.json()) as { data: { activeTargets: { labels: Record<string, string> }[] } };
  return body.data.activeTargets.map((t) => t.labels.instance!).sort();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apps-prom-'));
  fileSdPath = join(dir, 'targets.json');
  fleet = new AppFleet({ fileSdPath });
  ports[stable.allocId] = (await fleet.start(stable, { errorRate: 0, latencyMs: 100 })).port;
  ports[canary.allocId] = (await fleet.start(canary, { errorRate: 0.2, latencyMs: 400 })).port;
  // honor_labels: the apps' own `job` label wins over the scrape job's name.
  prom = await startPrometheus({ fileSdPath, scrapeIntervalSeconds: 1, honorLabels: true });
  // A full 5 s rate window for both apps: more than five scrapes of each.
  await eventually(
    async () => {
      const counts = await query('count_over_time(http_requests_total{code="200"}[10s])');
      return counts.length === 2 && counts.every((c) => Number(c.value[1]) >= 6);
    },
    'six scrapes of each app',
    15_000,
  );
}, 30_000);

afterAll(async () => {
  await prom?.stop();
  await fleet?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const errorRatio = (version: number) =>
  `sum(rate(http_requests_total{code=~"5..",version="${version}"}[5s])) / sum(rate(http_requests_total{version="${version}"}[5s]))`;
const p99 = (version: number) =>
  `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{version="${version}"}[5s])))`;

describe('simulated apps scraped by a real Prometheus', () => {
  test('the 5xx ratio follows errorRate: about 0.2 for the canary, 0 for the stable version', async () => {
    const canaryRatio = await scalar(errorRatio(2));
    expect(canaryRatio).toBeGreaterThanOrEqual(0.15);
    expect(canaryRatio).toBeLessThanOrEqual(0.25);
    expect(await scalar(errorRatio(1))).toBe(0);
  });

  test('the same ratio selected by alloc_id, the way policies template it', async () => {
    const ratio = await scalar(
      `sum(rate(http_requests_total{alloc_id=~"${canary.allocId}",code=~"5.."}[5s])) / sum(rate(http_requests_total{alloc_id=~"${canary.allocId}"}[5s]))`,
    );
    expect(ratio).toBeGreaterThanOrEqual(0.15);
    expect(ratio).toBeLessThanOrEqual(0.25);
  });

  test('the p99 latency reflects latencyMs (samples reach 1.5 x latencyMs)', async () => {
    const stableP99 = await scalar(p99(1));
    expect(stableP99).toBeGreaterThanOrEqual(0.1);
    expect(stableP99).toBeLessThanOrEqual(0.16);
    const canaryP99 = await scalar(p99(2));
    expect(canaryP99).toBeGreaterThanOrEqual(0.4);
    expect(canaryP99).toBeLessThanOrEqual(0.8);
  });

  test('series keep the apps\' own labels, and get the file_sd ones beside them', async () => {
    const [series] = await query(`http_requests_total{version="1",code="200"}`);
    expect(series?.metric).toEqual({
      __name__: 'http_requests_total',
      alloc_id: stable.allocId,
      namespace: 'default',
      job: 'checkout',
      group: 'api',
      version: '1',
      code: '200',
      instance: `127.0.0.1:${ports[stable.allocId]}`,
      alloc_name: 'checkout.api[1]',
      node: 'node-1',
    });
  });

  // Last: it changes the fleet.
  test('a stopped app leaves the targets file, and Prometheus drops it', async () => {
    expect(await activeTargets()).toEqual([`127.0.0.1:${ports[stable.allocId]}`, `127.0.0.1:${ports[canary.allocId]}`].sort());
    await fleet.stop(canary.allocId);
    const listed = JSON.parse(await readFile(fileSdPath, 'utf8')) as { targets: string[] }[];
    expect(listed.map((t) => t.targets)).toEqual([[`127.0.0.1:${ports[stable.allocId]}`]]);
    await eventually(async () => (await activeTargets()).length === 1, 'Prometheus to drop the stopped app');
    expect(await activeTargets()).toEqual([`127.0.0.1:${ports[stable.allocId]}`]);
  });
});
