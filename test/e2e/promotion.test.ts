/**
 * Issue acceptance, end to end: simulator and daemon as separate processes over HTTP.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import type { Deployment } from '../../src/domain/nomad.js';
import { eventually, sleep, stableV0, startHarness, webJob, type Harness } from './harness.js';

const POLICIES = {
  'web.yaml': `name: web-bake
match:
  jobs: ["web-*"]
canary:
  bake: 2s
`,
  'slow.yaml': `name: slow-bake
match:
  jobs: ["slow-*"]
canary:
  bake: 4s
`,
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness(POLICIES);
});
afterAll(() => h.close());

/** When the last canary of a deployment became healthy, by Nomad's (the simulator's) clock. */
async function lastCanaryHealthyAt(d: Deployment): Promise<number> {
  const allocs = await h.sim.allocationsOf(d.ID);
  const canaries = new Set(d.TaskGroups['web']!.PlacedCanaries ?? []);
  const times = allocs.filter((a) => canaries.has(a.ID)).map((a) => Date.parse(a.DeploymentStatus!.Timestamp!));
  expect(times).toHaveLength(2);
  return Math.max(...times);
}

const promoted = (job: string) => async () => {
  const d = await h.sim.latest(job);
  return d?.JobVersion === 1 && d.TaskGroups['web']!.Promoted ? d : undefined;
};

describe('canary promotion', () => {
  test('good canaries are promoted once, only after bake; unhealthy and ungoverned ones are never touched', async () => {
    await Promise.all(['web-good', 'web-bad', 'other-svc'].map((job) => stableV0(h.sim, job)));
    const daemon = await h.startDaemon();
    await eventually(async () => (await fetch(`${daemon.url}/readyz`)).status === 200, 'daemon ready');

    await h.sim.register(webJob('web-good', 'v1'));
    await h.sim.register(webJob('web-bad', 'v1', { healthy: false, healthyDeadlineS: 3 }));
    await h.sim.register(webJob('other-svc', 'v1'));

    const good = await eventually(promoted('web-good'), 'web-good canaries promoted');
    const healthyAt = await lastCanaryHealthyAt(good);
    const writes = await h.sim.writesTo(good.ID);
    expect(writes.map((w) => [w.route, w.status])).toEqual([['/v1/deployment/promote/:id', 200]]);
    expect(writes[0]!.at).toBeGreaterThanOrEqual(healthyAt + 2000);

    const bad = await eventually(async () => {
      const d = await h.sim.latest('web-bad');
      return d?.JobVersion === 1 && d.Status === 'failed' ? d : undefined;
    }, 'web-bad v1 failed by Nomad');
    expect(bad.TaskGroups['web']!.Promoted).toBe(false);
    expect(await h.sim.writesTo(bad.ID)).toEqual([]);

    // other-svc's canaries have been healthy for longer than any bake: still untouched.
    const other = (await h.sim.latest('other-svc'))!;
    expect(other.StatusDescription).toBe('Deployment is running but requires manual promotion');
    await sleep(500);
    expect(await h.sim.writesTo(other.ID)).toEqual([]);

    const status = (await (await fetch(`${daemon.url}/v1/deployments/${good.ID}`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ id: good.ID, job: 'web-good', version: 1, groups: { web: { policy: 'web-bake', promoted: true } } });
    expect((status.history as { action: string; outcome: string }[]).map((x) => [x.action, x.outcome])).toEqual([['promote', 'ok']]);
    const list = (await (await fetch(`${daemon.url}/v1/deployments`)).json()) as { id: string; state: string }[];
    expect(list.find((x) => x.id === other.ID)?.state).toBe('ignored');

    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toContain('nomad_promoter_decisions_total{namespace="default",job="web-good",group="web",action="promote",outcome="ok",source="policy"} 1');
    expect(metrics).not.toContain('job="other-svc",group="web",action=');
    expect(execFileSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' })).toBe('');

    expect(await daemon.process.stop('SIGTERM')).toBe(0);
  });

  test('a daemon killed and restarted mid-bake promotes exactly once, after the bake', async () => {
    await stableV0(h.sim, 'slow-app');
    const first = await h.startDaemon();
    await h.sim.register(webJob('slow-app', 'v1'));
    const d = await eventually(async () => {
      const list = (await (await fetch(`${first.url}/v1/deployments`)).json()) as { id: string; job: string; version: number; state: string }[];
      return list.find((x) => x.job === 'slow-app' && x.version === 1 && x.state === 'baking');
    }, 'slow-app baking');
    await first.process.stop('SIGKILL');

    await h.startDaemon();
    const done = await eventually(promoted('slow-app'), 'slow-app promoted after restart');
    expect(done.ID).toBe(d.id);
    const healthyAt = await lastCanaryHealthyAt(done);
    await sleep(1000);
    const writes = await h.sim.writesTo(done.ID);
    expect(writes.map((w) => w.route)).toEqual(['/v1/deployment/promote/:id']);
    expect(writes[0]!.at).toBeGreaterThanOrEqual(healthyAt + 4000);
  });
});
