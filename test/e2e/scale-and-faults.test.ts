/**
 * Issue acceptance, end to end: a constant number of connections whatever the number of
 * deployments, and bounded backoff through Nomad faults.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { eventually, sleep, stableV0, startHarness, webJob, type Harness } from './harness.js';

const BAKE = (bake: string) => ({ 'web.yaml': `name: web-bake\nmatch:\n  jobs: ["web-*"]\ncanary:\n  bake: ${bake}\n` });

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Connections {
  open: number;
  peak: number;
}

describe('scale', () => {
  // Blocking queries: two long-polls plus the request connection while job versions are read,
  // two once quiet. The event stream: the stream plus the request connection, always.
  test.each([
    { source: 'blocking', creatingPeak: 3 },
    { source: 'stream', creatingPeak: 2 },
  ])('with 200 concurrent deployments the daemon ($source) holds at most 2 connections to Nomad', async ({ source, creatingPeak }) => {
    h = await startHarness(BAKE('1h'));
    const harness = h;
    const jobs = Array.from({ length: 200 }, (_, i) => `web-${String(i).padStart(3, '0')}`);
    for (const job of jobs) await harness.sim.register(webJob(job, 'v0', { count: 2, canary: 1 }));
    await eventually(async () => (await harness.sim.state()).deployments.filter((d) => d.Status === 'successful').length === 200, '200 v0 deployments successful', 30_000);
    for (const job of jobs) await harness.sim.register(webJob(job, 'v1', { count: 2, canary: 1 }));
    await sleep(500);
    await harness.sim.send('POST', '/_sim/connections/reset-peak');
    const daemon = await harness.startDaemon(['--log-level', 'info', '--watch-source', source]);
    await eventually(async () => {
      const list = (await (await fetch(`${daemon.url}/v1/deployments`)).json()) as { version: number; state: string }[];
      return list.filter((d) => d.version === 1 && d.state === 'baking').length === 200;
    }, '200 deployments baking', 60_000);
    const whileCreating = await harness.sim.get<Connections>('/_sim/connections');

    // Quiet: the reconcilers' connection closes when idle; only the watch's connections remain.
    await sleep(3000);
    await harness.sim.send('POST', '/_sim/connections/reset-peak');
    // Changes keep flowing through the watch: 20 canaries' tasks fail, failing their deployments.
    const { allocations } = await harness.sim.state();
    for (const a of allocations.filter((x) => x.JobVersion === 1).slice(0, 20)) {
      await harness.sim.send('POST', `/_sim/alloc/${a.ID}/fail`);
    }
    await eventually(async () => {
      const list = (await (await fetch(`${daemon.url}/v1/deployments`)).json()) as { state: string }[];
      return list.filter((d) => d.state === 'done').length >= 20;
    }, 'the daemon saw 20 deployments fail', 30_000);
    const steady = await harness.sim.get<Connections>('/_sim/connections');

    expect(steady.peak).toBeLessThanOrEqual(2);
    // Even while 400 job versions were read for the first time.
    expect(whileCreating.peak).toBeLessThanOrEqual(creatingPeak);
    const promotes = (await harness.sim.requests()).filter((r) => r.route === '/v1/deployment/promote/:id');
    expect(promotes).toEqual([]);
  }, 120_000);
});

describe('faults', () => {
  test('500, 429, connection resets and an index reset: bounded backoff, a full re-list, and the promotion still happens', async () => {
    h = await startHarness(BAKE('1s'));
    const harness = h;
    await stableV0(harness.sim, 'web-faulty');
    // The long-polls' fault handling; the event stream's is in event-stream.test.ts.
    const daemon = await harness.startDaemon(['--watch-wait', '2s', '--watch-source', 'blocking']);
    await eventually(async () => (await fetch(`${daemon.url}/readyz`)).status === 200, 'ready');
    await harness.sim.send('DELETE', '/_sim/requests');

    const faults = [
      { kind: 'no-leader', count: 4, path: '/v1/deployments' },
      { kind: 'too-many', count: 3, path: '/v1/allocations' },
      { kind: 'reset', count: 3, path: '/v1/deployments' },
      { kind: 'reset', count: 2, path: '/v1/deployment/promote' },
      { kind: 'no-leader', count: 2, path: '/v1/deployment/promote' },
    ];
    for (const f of faults) await harness.sim.send('POST', '/_sim/faults', f);
    await harness.sim.register(webJob('web-faulty', 'v1'));

    const d = await eventually(async () => {
      const x = await harness.sim.latest('web-faulty');
      return x?.JobVersion === 1 && x.TaskGroups['web']!.Promoted ? x : undefined;
    }, 'promotion through faults', 45_000);
    await eventually(async () => (await harness.sim.get<unknown[]>('/_sim/faults')).length === 0, 'every fault met', 30_000);

    const requests = await harness.sim.requests();
    const promoteCalls = requests.filter((r) => r.route === '/v1/deployment/promote/:id' && r.path.endsWith(d.ID));
    // Two resets and two "No cluster leader" answers, then the one that landed.
    expect(promoteCalls.map((r) => r.status)).toEqual([0, 0, 500, 500, 200]);
    // No busy loop: each watch failed exactly as often as faults were injected (the daemon's own
    // request metrics), and backed off between failures (jittered, from 250 ms up, doubling).
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    const count = (endpoint: string, code: string) => Number(new RegExp(`nomad_promoter_nomad_requests_total\\{endpoint="${endpoint}",code="${code}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    expect([count('/v1/deployments', '500'), count('/v1/deployments', 'error'), count('/v1/allocations', '429')]).toEqual([4, 3, 3]);
    for (const [route, status] of [['/v1/deployments', 500], ['/v1/allocations', 429]] as const) {
      const failed = requests.filter((r) => r.route === route && r.status === status);
      const gaps = failed.slice(1).map((r, i) => r.at - failed[i]!.at);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(120);
      expect(gaps[gaps.length - 1]).toBeGreaterThan(gaps[0]!);
    }
    expect(metrics).toMatch(/nomad_promoter_watch_errors_total \d+/);
    expect(Number(/nomad_promoter_watch_errors_total (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(7);

    // Index reset: Nomad's indexes drop below what the daemon has seen. First let both watches
    // come out of their backoff (readiness drops while a watch is failing).
    await eventually(async () => (await fetch(`${daemon.url}/readyz`)).status === 200, 'watches healthy again', 40_000);
    await harness.sim.send('DELETE', '/_sim/requests');
    await harness.sim.send('POST', '/_sim/faults', { kind: 'index-reset', to: 3 });
    await eventually(async () => /nomad_promoter_watch_index_resets_total\{table="deployments"\} [1-9]/.test(await (await fetch(`${daemon.url}/metrics`)).text()), 'index reset seen', 15_000);
    const relists = (await harness.sim.requests()).filter((r) => r.route === '/v1/deployments' && r.query.index === undefined);
    expect(relists.length).toBeGreaterThanOrEqual(1);

    // After the reset the daemon still works: the next version is promoted.
    await harness.sim.register(webJob('web-faulty', 'v2'));
    const next = await eventually(async () => {
      const x = await harness.sim.latest('web-faulty');
      return x?.JobVersion === 2 && x.TaskGroups['web']!.Promoted ? x : undefined;
    }, 'promotion after index reset', 30_000);
    expect((await harness.sim.writesTo(next.ID)).map((r) => r.route)).toEqual(['/v1/deployment/promote/:id']);
  }, 120_000);
});
