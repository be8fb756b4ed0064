/**
 * Issue acceptance, end to end (simulator and daemon as separate processes): what watching and
 * deciding cost Nomad. A write burst is read in a few full lists per second, not one per write; a
 * resync asks Nomad nothing it already has; a deployment's lifecycle takes a handful of requests.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { eventually, startHarness, webJob, type Harness, type SimRequest } from './harness.js';

const BAKE = (bake: string) => ({ 'web.yaml': `name: web-bake\nmatch:\n  jobs: ["web-*"]\ncanary:\n  bake: ${bake}\n` });

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const names = (n: number) => Array.from({ length: n }, (_, i) => `web-${String(i).padStart(3, '0')}`);

async function stable(harness: Harness, jobs: string[]): Promise<void> {
  for (const job of jobs) await harness.sim.register(webJob(job, 'v0', { count: 1, canary: 1 }));
  await eventually(async () => (await harness.sim.state()).deployments.filter((d) => d.Status === 'successful').length === jobs.length, 'v0 deployments successful', 60_000);
}

/** The most requests that arrived within any one second. */
function perSecondPeak(requests: SimRequest[]): number {
  let peak = 0;
  for (let i = 0, j = 0; j < requests.length; j++) {
    while (requests[j]!.at - requests[i]!.at >= 1000) i++;
    peak = Math.max(peak, j - i + 1);
  }
  return peak;
}

/**
 * `count` jobs at a stable v0, a daemon on `source` that is ready, then v1 of every job registered
 * one after the other (each gets a canary, baked 1 s) and promoted; the request log covers the v1s.
 */
async function promoteAll(count: number, source: 'blocking' | 'stream') {
  h = await startHarness(BAKE('1s'));
  const harness = h;
  const jobs = names(count);
  await stable(harness, jobs);
  const daemon = await harness.startDaemon(['--watch-source', source]);
  await eventually(async () => (await fetch(`${daemon.url}/readyz`)).status === 200, 'ready');
  await harness.sim.send('DELETE', '/_sim/requests');
  for (const job of jobs) await harness.sim.register(webJob(job, 'v1', { count: 1, canary: 1 }));
  await eventually(async () => (await harness.sim.state()).deployments.filter((d) => d.JobVersion === 1 && d.TaskGroups['web']?.Promoted).length === count, `${count} deployments promoted`, 60_000);
  return { harness, daemon, jobs };
}

/** The daemon's own requests: not the harness's job registrations, not the long-lived stream. */
const daemonRequests = (requests: SimRequest[]) => requests.filter((r) => !(r.method === 'PUT' && r.path === '/v1/jobs') && r.path !== '/v1/event/stream');

describe('watch cost', () => {
  test('the blocking source under a 100-write burst reads at most 7 full lists of a table in any second, and every deployment is still promoted once', async () => {
    const { harness, daemon } = await promoteAll(100, 'blocking');
    const requests = await harness.sim.requests();
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    const writes = requests.filter((r) => r.method === 'PUT' && r.path === '/v1/jobs');
    // Full lists of each table, by their first page (the readiness probe asks for one item: not a list of the cluster).
    const lists = (path: string) => requests.filter((r) => r.method === 'GET' && r.path === path && r.query.per_page !== '1' && r.query.next_token === undefined);
    const during = (list: SimRequest[]) => list.filter((r) => r.at >= writes[0]!.at && r.at <= writes[writes.length - 1]!.at);
    for (const path of ['/v1/deployments', '/v1/allocations']) {
      console.info(`${path}: ${during(lists(path)).length} full lists while ${writes.length} jobs were registered; at most ${perSecondPeak(lists(path))} in one second`);
      // The floor (200 ms) allows 5 starts a second; arrivals may bunch by a few ms in transit.
      expect(perSecondPeak(lists(path))).toBeLessThanOrEqual(7);
      // Lists were read during the burst, but not one per write.
      expect(during(lists(path)).length).toBeGreaterThan(0);
      expect(during(lists(path)).length).toBeLessThan(writes.length);
      // The daemon counts answered lists too, from its start (the log was cleared after it; its last list is still waiting).
      const counted = Number(new RegExp(`nomad_promoter_watch_full_lists_total\\{source="blocking",table="${path.slice(4)}"\\} (\\d+)`).exec(metrics)?.[1]);
      expect(counted).toBeGreaterThanOrEqual(lists(path).length - 1);
    }
    // Lists are shared by all deployments, so their share shrinks as the burst grows: printed, not bounded.
    console.info(`Nomad requests per deployment lifecycle (blocking source, 100 at once): ${(daemonRequests(requests).length / 100).toFixed(2)}`);
    for (const d of (await harness.sim.state()).deployments.filter((x) => x.JobVersion === 1)) {
      expect((await harness.sim.writesTo(d.ID)).map((w) => w.route)).toEqual(['/v1/deployment/promote/:id']);
    }
  }, 180_000);

  test('a resync of 50 known deployments asks Nomad for no job spec', async () => {
    h = await startHarness(BAKE('1h'));
    const harness = h;
    const jobs = names(50);
    await stable(harness, jobs);
    for (const job of jobs) await harness.sim.register(webJob(job, 'v1', { count: 1, canary: 1 }));
    const daemon = await harness.startDaemon(['--resync-interval', '2s']);
    await eventually(async () => {
      const list = (await (await fetch(`${daemon.url}/v1/deployments`)).json()) as { version: number; state: string }[];
      return list.filter((d) => d.version === 1 && d.state === 'baking').length === jobs.length;
    }, '50 deployments baking', 60_000);
    await harness.sim.send('DELETE', '/_sim/requests');

    const resyncs = () => daemon.process.lines.filter((l) => l.includes('resync: every known deployment queued again')).length;
    const before = resyncs();
    // Two resyncs: every pass of the first is over by the second.
    await eventually(async () => resyncs() >= before + 2, 'two resyncs', 15_000);
    const requests = daemonRequests(await harness.sim.requests());
    expect(requests.filter((r) => r.route === '/v1/job/:id/versions' || r.route === '/v1/job/:id')).toEqual([]);
  }, 180_000);

  test('a canary deployment, from registration to promotion, takes at most 4 Nomad requests (event stream source)', async () => {
    const { harness, daemon, jobs } = await promoteAll(20, 'stream');
    await eventually(async () => {
      const list = (await (await fetch(`${daemon.url}/v1/deployments`)).json()) as { version: number; state: string }[];
      return list.filter((d) => d.version === 1 && d.state === 'done').length === jobs.length;
    }, 'every deployment done in the daemon', 30_000);

    const requests = daemonRequests(await harness.sim.requests());
    const byRoute = new Map<string, number>();
    for (const r of requests) byRoute.set(r.route ?? r.path, (byRoute.get(r.route ?? r.path) ?? 0) + 1);
    const perDeployment = requests.length / jobs.length;
    console.info(`Nomad requests per deployment lifecycle: ${perDeployment.toFixed(2)} (${[...byRoute].map(([route, n]) => `${route} ${n}`).join(', ')})`);
    expect(perDeployment).toBeLessThanOrEqual(4);
    // One connection, one re-list of each table.
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/nomad_promoter_watch_full_lists_total\{source="stream",table="deployments"\} 1\n/);
    expect(metrics).toMatch(/nomad_promoter_watch_full_lists_total\{source="stream",table="allocations"\} 1\n/);
  }, 180_000);
});
