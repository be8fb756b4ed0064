/**
 * Issue acceptance, end to end: the daemon watching through Nomad's event stream (simulator and
 * daemon as separate processes): a stream cut mid-bake, and a denied stream falling back to
 * blocking queries.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import type { Deployment } from '../../src/domain/nomad.js';
import { eventually, sleep, stableV0, startHarness, webJob, type Harness } from './harness.js';

const POLICIES = { 'web.yaml': 'name: web-bake\nmatch:\n  jobs: ["web-*"]\ncanary:\n  bake: 3s\n' };

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const streamRequests = async (harness: Harness) => (await harness.sim.requests()).filter((r) => r.path === '/v1/event/stream');
const lists = async (harness: Harness) => (await harness.sim.requests()).filter((r) => r.path === '/v1/deployments' && !r.query.index);

describe('event stream source', () => {
  test('a stream cut mid-bake: reconnect, re-list, exactly one promote after the bake', async () => {
    h = await startHarness(POLICIES);
    const harness = h;
    await stableV0(harness.sim, 'web-cut');
    const daemon = await harness.startDaemon(['--watch-source', 'stream']);
    await harness.sim.register(webJob('web-cut', 'v1'));
    const baking = await eventually(async () => {
      const list = (await (await fetch(`${daemon.url}/v1/deployments`)).json()) as { id: string; job: string; version: number; state: string }[];
      return list.find((x) => x.job === 'web-cut' && x.version === 1 && x.state === 'baking');
    }, 'web-cut baking');
    // From here on only the daemon talks to Nomad's API (the harness registered jobs over its own connections).
    await harness.sim.send('POST', '/_sim/connections/reset-peak');
    const listsBefore = (await lists(harness)).length;
    const cut = (await harness.sim.send('POST', '/_sim/event-stream/cut')) as { cut: number };
    expect(cut.cut).toBe(1);
    await eventually(async () => (await streamRequests(harness)).length >= 2 && (await lists(harness)).length > listsBefore, 'reconnected and re-listed');

    const done = await eventually(async () => {
      const d = await harness.sim.latest('web-cut');
      return d?.JobVersion === 1 && d.TaskGroups['web']!.Promoted ? d : undefined;
    }, 'web-cut promoted');
    expect(done.ID).toBe(baking.id);
    // A second promote would follow at once if the reconnect had replayed the decision.
    await sleep(1000);
    expect((await harness.sim.writesTo(done.ID)).map((w) => w.route)).toEqual(['/v1/deployment/promote/:id']);
    // Every list and read went over the daemon's request connection: never more than 2 in all.
    expect((await harness.sim.get<{ peak: number }>('/_sim/connections')).peak).toBeLessThanOrEqual(2);
  });

  test('a denied stream (200 then EOF) falls back to blocking queries, saying so in a log line and a metric; promotion works', async () => {
    h = await startHarness(POLICIES);
    const harness = h;
    await stableV0(harness.sim, 'web-deny');
    await harness.sim.send('POST', '/_sim/faults', { kind: 'stream-deny', path: '/v1/event/stream' });
    const daemon = await harness.startDaemon(['--watch-source', 'auto']);
    const line = await daemon.process.waitForLine(/event stream refused: falling back to blocking queries/);
    expect(JSON.parse(line)).toMatchObject({ level: 'warn' });
    const metrics = await eventually(async () => {
      const text = await (await fetch(`${daemon.url}/metrics`)).text();
      return /nomad_promoter_watch_source\{source="blocking"\} 1/.test(text) ? text : undefined;
    }, 'the watch source metric');
    expect(metrics).toMatch(/nomad_promoter_watch_source\{source="stream"\} 0/);

    await harness.sim.register(webJob('web-deny', 'v1'));
    const done = await eventually(async () => {
      const d: Deployment | undefined = await harness.sim.latest('web-deny');
      return d?.JobVersion === 1 && d.TaskGroups['web']!.Promoted ? d : undefined;
    }, 'web-deny promoted through blocking queries');
    expect((await harness.sim.writesTo(done.ID)).map((w) => w.route)).toEqual(['/v1/deployment/promote/:id']);
    expect((await harness.sim.requests()).some((r) => r.path === '/v1/deployments' && Number(r.query.index) > 0)).toBe(true);
    expect(await streamRequests(harness)).toHaveLength(1);
  });
});
