import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';

import type { AllocStub, Deployment } from './helpers.js';
import { SimClient, webJob, withSim } from './helpers.js';

const S = 1e9;

describe('deployment lifecycle', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim();
  });
  afterEach(() => c.sim.close());

  async function stableV0(update: Record<string, unknown> = {}, count = 3): Promise<void> {
    await c.register(webJob({ count, update }));
    await c.advance('11s');
    expect((await c.latestDeployment('web')).Status).toBe('successful');
  }

  test('first version: no canaries, all placed at once, success marks the version stable', async () => {
    await c.register(webJob({ count: 3, update: { Canary: 2 } }));
    const d = await c.latestDeployment('web');
    expect(d.TaskGroups.web).toMatchObject({ DesiredCanaries: 0, DesiredTotal: 3, PlacedAllocs: 3, PlacedCanaries: null });
    expect(d.StatusDescription).toBe('Deployment is running');
    const allocs = await c.allocs('web');
    expect(allocs.map((a) => a.Name).sort()).toEqual(['web.web[0]', 'web.web[1]', 'web.web[2]']);
    expect(allocs.every((a) => a.DeploymentStatus?.Healthy === null && a.DeploymentStatus.Canary === false)).toBe(true);
    await c.advance('9s');
    expect((await c.latestDeployment('web')).Status).toBe('running');
    await c.advance('1s');
    const done = await c.latestDeployment('web');
    expect([done.Status, done.StatusDescription]).toEqual(['successful', 'Deployment completed successfully']);
    expect(done.TaskGroups.web?.HealthyAllocs).toBe(3);
    const versions = await c.get<{ Versions: { Version: number; Stable: boolean }[] }>('/v1/job/web/versions');
    expect(versions.body.Versions[0]).toMatchObject({ Version: 0, Stable: true });
    expect((await c.allocs('web')).every((a) => a.DeploymentStatus?.Healthy === true && a.DeploymentStatus.Timestamp)).toBe(true);
  });

  test('a destructive update with Canary places canaries beside the old allocations; promotion rolls the rest', async () => {
    await stableV0({ Canary: 1, MaxParallel: 1 });
    await c.register(webJob({ count: 3, image: 'app:2', update: { Canary: 1, MaxParallel: 1 } }));
    const d = await c.latestDeployment('web');
    expect(d.JobVersion).toBe(1);
    expect(d.StatusDescription).toBe('Deployment is running but requires manual promotion');
    expect(d.TaskGroups.web).toMatchObject({ DesiredCanaries: 1, DesiredTotal: 3, PlacedAllocs: 1, Promoted: false });
    const live = await c.liveAllocs('web');
    expect(live).toHaveLength(4);
    const canary = live.find((a) => a.JobVersion === 1) as AllocStub;
    expect(canary.DeploymentStatus).toMatchObject({ Canary: true, Healthy: null });
    expect(canary.Name).toBe('web.web[0]');
    expect(d.TaskGroups.web?.PlacedCanaries).toEqual([canary.ID]);

    await c.advance('10s');
    const waiting = await c.latestDeployment('web');
    expect(waiting.Status).toBe('running');
    expect(waiting.TaskGroups.web?.HealthyAllocs).toBe(1);

    const promoted = await c.post(`/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID, All: true });
    expect(promoted.status).toBe(200);
    const after = await c.latestDeployment('web');
    expect(after.TaskGroups.web?.Promoted).toBe(true);
    expect(after.StatusDescription).toBe('Deployment is running');
    const allocs = await c.allocs('web');
    expect(allocs.find((a) => a.ID === canary.ID)?.DeploymentStatus?.Canary).toBe(false);
    // The old web[0] stops for the canary; max_parallel 1 replaces one more at a time.
    let live2 = await c.liveAllocs('web');
    expect(live2.filter((a) => a.JobVersion === 0)).toHaveLength(1);
    expect(live2.filter((a) => a.JobVersion === 1)).toHaveLength(2);
    await c.advance('10s');
    live2 = await c.liveAllocs('web');
    expect(live2.every((a) => a.JobVersion === 1)).toBe(true);
    await c.advance('10s');
    const final = await c.latestDeployment('web');
    expect(final.Status).toBe('successful');
    expect(final.TaskGroups.web).toMatchObject({ HealthyAllocs: 3, PlacedAllocs: 3 });
    const job = await c.get<{ Version: number; Stable: boolean }>('/v1/job/web');
    expect(job.body).toMatchObject({ Version: 1, Stable: true });
  });

  test('rolling update without canaries respects max_parallel', async () => {
    await stableV0({ MaxParallel: 2 }, 4);
    await c.register(webJob({ count: 4, image: 'app:2', update: { MaxParallel: 2 } }));
    const live = await c.liveAllocs('web');
    expect(live.filter((a) => a.JobVersion === 1)).toHaveLength(2);
    expect(live.filter((a) => a.JobVersion === 0)).toHaveLength(2);
    await c.advance('10s');
    expect((await c.liveAllocs('web')).every((a) => a.JobVersion === 1)).toBe(true);
    expect((await c.latestDeployment('web')).Status).toBe('running');
    await c.advance('10s');
    expect((await c.latestDeployment('web')).Status).toBe('successful');
  });

  test('a count-only change is not destructive: allocations are updated in place', async () => {
    await stableV0({ Canary: 1 }, 2);
    const before = (await c.liveAllocs('web')).map((a) => a.ID).sort();
    await c.register(webJob({ count: 3, update: { Canary: 1 } }));
    const d = await c.latestDeployment('web');
    expect(d.TaskGroups.web).toMatchObject({ DesiredCanaries: 0, DesiredTotal: 3 });
    const live = await c.liveAllocs('web');
    expect(live).toHaveLength(3);
    expect(live.every((a) => a.JobVersion === 1)).toBe(true);
    expect(before.every((id) => live.some((a) => a.ID === id))).toBe(true);
    await c.advance('10s');
    expect((await c.latestDeployment('web')).Status).toBe('successful');
  });

  test('changing group Meta is destructive', async () => {
    await stableV0({ Canary: 1 }, 2);
    await c.register({ ...webJob({ count: 2, update: { Canary: 1 }, meta: { release: '2' } }) });
    expect((await c.latestDeployment('web')).TaskGroups.web?.DesiredCanaries).toBe(1);
  });

  test('a newer version cancels the running deployment and stops its canaries', async () => {
    await stableV0({ Canary: 1 });
    await c.register(webJob({ count: 3, image: 'app:2', update: { Canary: 1 } }));
    const first = await c.latestDeployment('web');
    await c.register(webJob({ count: 3, image: 'app:3', update: { Canary: 1 } }));
    const list = await c.deployments('web');
    expect(list.map((d) => d.JobVersion).sort()).toEqual([0, 1, 2]);
    const cancelled = list.find((d) => d.ID === first.ID) as Deployment;
    expect([cancelled.Status, cancelled.StatusDescription]).toEqual(['cancelled', 'Cancelled due to newer version of job']);
    const live = await c.liveAllocs('web');
    expect(live.filter((a) => a.JobVersion === 1)).toHaveLength(0);
    expect(live.filter((a) => a.JobVersion === 2)).toHaveLength(1);
  });

  test('auto_promote promotes the moment every canary is healthy', async () => {
    await stableV0({ Canary: 2, AutoPromote: true, MaxParallel: 3 });
    await c.register(webJob({ count: 3, image: 'app:2', update: { Canary: 2, AutoPromote: true, MaxParallel: 3 } }));
    const d = await c.latestDeployment('web');
    expect(d.StatusDescription).toBe('Deployment is running pending automatic promotion');
    await c.advance('10s');
    const after = await c.latestDeployment('web');
    expect(after.TaskGroups.web?.Promoted).toBe(true);
    expect(after.StatusDescription).toBe('Deployment is running');
    await c.advance('10s');
    expect((await c.latestDeployment('web')).Status).toBe('successful');
  });

  test('two groups: each progresses on its own; promoting one group leaves the other waiting', async () => {
    const job = (image: string, apiCanary: number): Record<string, unknown> => ({
      ID: 'shop',
      TaskGroups: [
        { Name: 'web', Count: 2, Update: { Canary: 1 }, Tasks: [{ Name: 'web', Config: { image } }] },
        { Name: 'api', Count: 1, Update: { Canary: apiCanary }, Tasks: [{ Name: 'api', Config: { image } }] },
      ],
    });
    await c.register(job('v1', 1));
    await c.advance('10s');
    expect((await c.latestDeployment('shop')).Status).toBe('successful');
    await c.register(job('v2', 1));
    const d = await c.latestDeployment('shop');
    expect(Object.keys(d.TaskGroups).sort()).toEqual(['api', 'web']);
    await c.advance('10s');
    await c.post(`/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID, Groups: ['web'] });
    const partly = await c.latestDeployment('shop');
    expect([partly.TaskGroups.web?.Promoted, partly.TaskGroups.api?.Promoted]).toEqual([true, false]);
    expect(partly.StatusDescription).toBe('Deployment is running but requires manual promotion');
    await c.advance('10s');
    expect((await c.latestDeployment('shop')).Status).toBe('running');
    await c.post(`/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID, Groups: ['api'] });
    expect((await c.latestDeployment('shop')).Status).toBe('successful');
    const live = (await c.allocs('shop')).filter((a) => a.DesiredStatus === 'run');
    expect(live.map((a) => `${a.Name}@${a.JobVersion}`).sort()).toEqual(['shop.api[0]@1', 'shop.web[0]@1', 'shop.web[1]@1']);
  });

  test('auto_promote only fires while running: a paused deployment with healthy canaries stays unpromoted until resumed', async () => {
    await stableV0({ Canary: 1, AutoPromote: true }, 2);
    await c.register(webJob({ count: 2, image: 'app:2', update: { Canary: 1, AutoPromote: true } }));
    const d = await c.latestDeployment('web');
    await c.post(`/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: true });
    await c.advance('10s');
    const paused = await c.latestDeployment('web');
    expect([paused.Status, paused.StatusDescription, paused.TaskGroups.web?.Promoted, paused.TaskGroups.web?.HealthyAllocs]).toEqual([
      'paused',
      'Deployment is paused',
      false,
      1,
    ]);
    const canary = (await c.liveAllocs('web')).find((a) => a.JobVersion === 1) as AllocStub;
    expect(canary.DeploymentStatus?.Canary).toBe(true);
    await c.post(`/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: false });
    expect((await c.latestDeployment('web')).TaskGroups.web?.Promoted).toBe(true);
    await c.advance('10s');
    expect((await c.latestDeployment('web')).Status).toBe('successful');
    expect((await c.liveAllocs('web')).map((a) => a.JobVersion)).toEqual([1, 1]);
  });

  test('auto_promote waits while one canary is unhealthy', async () => {
    await stableV0({ Canary: 2, AutoPromote: true });
    await c.register(webJob({ count: 3, image: 'app:2', update: { Canary: 2, AutoPromote: true } }));
    const canaries = (await c.liveAllocs('web')).filter((a) => a.JobVersion === 1);
    await c.post(`/_sim/alloc/${canaries[0]?.ID}/health`, { healthy: false });
    await c.advance('30s');
    expect((await c.latestDeployment('web')).TaskGroups.web?.Promoted).toBe(false);
  });
});

describe('health modes', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim();
  });
  afterEach(() => c.sim.close());

  test('checks: healthy only after min_healthy_time of passing checks; failing checks restart the clock', async () => {
    await c.register(webJob({ count: 1, update: { HealthCheck: 'checks', MinHealthyTime: 10 * S } }));
    const [a] = await c.allocs('web');
    await c.advance('5s');
    await c.post(`/_sim/alloc/${a?.ID}/health`, { healthy: false });
    await c.advance('20s');
    expect((await c.allocs('web'))[0]?.DeploymentStatus?.Healthy).toBeNull();
    await c.post(`/_sim/alloc/${a?.ID}/health`, { healthy: true });
    await c.advance('9s');
    expect((await c.allocs('web'))[0]?.DeploymentStatus?.Healthy).toBeNull();
    await c.advance('1s');
    expect((await c.allocs('web'))[0]?.DeploymentStatus?.Healthy).toBe(true);
  });

  test('checks: unhealthy when healthy_deadline passes first, failing the deployment', async () => {
    await c.register(webJob({ count: 1, update: { HealthyDeadline: 30 * S } }));
    const [a] = await c.allocs('web');
    await c.post(`/_sim/alloc/${a?.ID}/health`, { healthy: false });
    await c.advance('29s');
    expect((await c.latestDeployment('web')).Status).toBe('running');
    await c.advance('1s');
    const d = await c.latestDeployment('web');
    expect([d.Status, d.StatusDescription]).toEqual(['failed', 'Failed due to unhealthy allocations']);
    expect(d.TaskGroups.web?.UnhealthyAllocs).toBe(1);
    expect((await c.allocs('web'))[0]?.DeploymentStatus?.Healthy).toBe(false);
  });

  test('task_states: failing checks do not matter, running tasks do', async () => {
    await c.register(webJob({ count: 1, update: { HealthCheck: 'task_states' } }));
    const [a] = await c.allocs('web');
    await c.post(`/_sim/alloc/${a?.ID}/health`, { healthy: false });
    await c.advance('10s');
    expect((await c.allocs('web'))[0]?.DeploymentStatus?.Healthy).toBe(true);
  });

  test('a task failure makes the allocation failed and unhealthy at once', async () => {
    await c.register(webJob({ count: 2, update: { HealthCheck: 'task_states' } }));
    const [a] = await c.allocs('web');
    await c.post(`/_sim/alloc/${a?.ID}/fail`);
    const failed = (await c.allocs('web')).find((x) => x.ID === a?.ID);
    expect(failed).toMatchObject({ ClientStatus: 'failed', DeploymentStatus: { Healthy: false } });
    expect((await c.latestDeployment('web')).StatusDescription).toBe('Failed due to unhealthy allocations');
  });

  test('manual: the client never decides; allocation-health does', async () => {
    await c.register(webJob({ count: 2, update: { HealthCheck: 'manual' } }));
    await c.advance('50s');
    const allocs = await c.allocs('web');
    expect(allocs.every((a) => a.DeploymentStatus?.Healthy === null)).toBe(true);
    const d = await c.latestDeployment('web');
    const r = await c.post(`/v1/deployment/allocation-health/${d.ID}`, { DeploymentID: d.ID, HealthyAllocationIDs: allocs.map((a) => a.ID) });
    expect(r.status).toBe(200);
    const after = await c.latestDeployment('web');
    expect(after.Status).toBe('successful');
    expect(after.TaskGroups.web?.HealthyAllocs).toBe(2);
  });
});

describe('progress deadline', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim();
  });
  afterEach(() => c.sim.close());

  test('RequireProgressBy starts at first placement and moves with each newly healthy allocation', async () => {
    await c.register(webJob({ count: 1, update: { ProgressDeadline: 120 * S } }));
    const placedAt = (await c.get<{ now: number }>('/_sim/clock')).body.now;
    const d = await c.latestDeployment('web');
    expect(Date.parse(d.TaskGroups.web?.RequireProgressBy as string)).toBe(placedAt + 120_000);
    await c.advance('10s');
    const healthy = await c.latestDeployment('web');
    expect(Date.parse(healthy.TaskGroups.web?.RequireProgressBy as string)).toBe(placedAt + 130_000);
  });

  test('no progress by the deadline fails the deployment', async () => {
    await c.register(webJob({ count: 1, update: { HealthCheck: 'manual', ProgressDeadline: 60 * S, HealthyDeadline: 50 * S } }));
    await c.advance('59s');
    expect((await c.latestDeployment('web')).Status).toBe('running');
    await c.advance('1s');
    const d = await c.latestDeployment('web');
    expect([d.Status, d.StatusDescription]).toEqual(['failed', 'Failed due to progress deadline']);
  });

  test('a paused deployment does not fail at the deadline', async () => {
    await c.register(webJob({ count: 1, update: { HealthCheck: 'manual', ProgressDeadline: 60 * S } }));
    const d = await c.latestDeployment('web');
    await c.post(`/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: true });
    await c.advance('5m');
    expect((await c.latestDeployment('web')).Status).toBe('paused');
  });

  test('canaries all healthy and waiting for promotion wait forever', async () => {
    await c.register(webJob({ count: 2, update: { Canary: 1 } }));
    await c.advance('10s');
    await c.register(webJob({ count: 2, image: 'app:2', update: { Canary: 1, ProgressDeadline: 60 * S } }));
    await c.advance('10s');
    await c.advance('1h');
    const d = await c.latestDeployment('web');
    expect([d.Status, d.StatusDescription]).toEqual(['running', 'Deployment is running but requires manual promotion']);
  });

  test('promotion restarts the deadline', async () => {
    await c.register(webJob({ count: 2, update: { Canary: 1 } }));
    await c.advance('10s');
    await c.register(webJob({ count: 2, image: 'app:2', update: { Canary: 1, ProgressDeadline: 60 * S } }));
    await c.advance('10s');
    await c.advance('10m');
    const d = await c.latestDeployment('web');
    await c.post(`/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID, All: true });
    const now = (await c.get<{ now: number }>('/_sim/clock')).body.now;
    expect(Date.parse((await c.latestDeployment('web')).TaskGroups.web?.RequireProgressBy as string)).toBe(now + 60_000);
    await c.advance('10s');
    expect((await c.latestDeployment('web')).Status).toBe('successful');
  });
});
