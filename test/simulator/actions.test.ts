import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';

import type { AllocStub, Deployment } from './helpers.js';
import { SimClient, webJob, withSim } from './helpers.js';

const MISSING = '00000000-0000-0000-0000-000000000000';

describe('deployment actions: errors', () => {
  let c: SimClient;
  let d: Deployment;
  beforeEach(async () => {
    c = await withSim();
    await c.register(webJob({ count: 2 }));
    d = await c.latestDeployment('web');
  });
  afterEach(() => c.sim.close());

  test('unknown id: 500 deployment not found on every action, 404 on read', async () => {
    const bodies: Record<string, unknown> = {
      promote: { DeploymentID: MISSING, All: true },
      fail: undefined,
      pause: { DeploymentID: MISSING, Pause: true },
      'allocation-health': { DeploymentID: MISSING, HealthyAllocationIDs: ['x'] },
      unblock: { DeploymentID: MISSING },
    };
    for (const [action, body] of Object.entries(bodies)) {
      for (const method of ['PUT', 'POST']) {
        const r = await c.request(method, `/v1/deployment/${action}/${MISSING}`, body);
        expect([action, method, r.status, r.text]).toEqual([action, method, 500, 'deployment not found']);
        expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      }
    }
    const read = await c.get(`/v1/deployment/${MISSING}`);
    expect([read.status, read.text]).toEqual([404, 'deployment not found']);
  });

  test('body problems: 400 with Nomad messages', async () => {
    for (const action of ['promote', 'pause', 'allocation-health', 'unblock']) {
      const empty = await c.post(`/v1/deployment/${action}/${d.ID}`);
      expect([action, empty.status, empty.text]).toEqual([action, 400, 'Request body is empty']);
      const noId = await c.post(`/v1/deployment/${action}/${d.ID}`, { All: true });
      expect([action, noId.status, noId.text]).toEqual([action, 400, 'DeploymentID must be specified']);
      const other = await c.post(`/v1/deployment/${action}/${d.ID}`, { DeploymentID: MISSING });
      expect([action, other.status, other.text]).toEqual([action, 400, 'Deployment ID does not match']);
    }
    const bad = await c.post(`/v1/deployment/promote/${d.ID}`, 'not json');
    expect(bad.status).toBe(400);
    expect(bad.text).toBe("invalid character 'o' in literal null (expecting 'u')");
    const garbage = await c.post(`/v1/deployment/pause/${d.ID}`, 'garbage');
    expect([garbage.status, garbage.text]).toEqual([400, "invalid character 'g' looking for beginning of value"]);
  });

  test('terminal deployment: 500 with a message per action', async () => {
    expect((await c.post(`/v1/deployment/fail/${d.ID}`)).status).toBe(200);
    const expectations: [string, unknown, string][] = [
      ['promote', { DeploymentID: d.ID, All: true }, "can't promote terminal deployment"],
      ['fail', undefined, "can't fail terminal deployment"],
      ['pause', { DeploymentID: d.ID, Pause: true }, "can't pause terminal deployment"],
      ['pause', { DeploymentID: d.ID, Pause: false }, "can't resume terminal deployment"],
      ['unblock', { DeploymentID: d.ID }, "can't unblock terminal deployment"],
      ['allocation-health', { DeploymentID: d.ID, HealthyAllocationIDs: ['x'] }, "can't set health of allocations for a terminal deployment"],
    ];
    for (const [action, body, message] of expectations) {
      const r = await c.post(`/v1/deployment/${action}/${d.ID}`, body);
      expect([action, r.status, r.text]).toEqual([action, 500, message]);
    }
  });

  test('allocation-health: exact errors, and nothing applied when one ID is bad', async () => {
    const allocs = await c.allocs('web');
    const none = await c.post(`/v1/deployment/allocation-health/${d.ID}`, { DeploymentID: d.ID, HealthyAllocationIDs: [] });
    expect([none.status, none.text]).toEqual([500, 'must specify at least one healthy/unhealthy allocation ID']);
    const unknown = await c.post(`/v1/deployment/allocation-health/${d.ID}`, {
      DeploymentID: d.ID,
      HealthyAllocationIDs: [allocs[0]?.ID, MISSING],
    });
    expect([unknown.status, unknown.text]).toEqual([500, `unknown alloc "${MISSING}"`]);
    expect((await c.allocs('web')).every((a) => a.DeploymentStatus?.Healthy === null)).toBe(true);

    await c.register(webJob({ id: 'other', count: 1 }));
    const foreign = (await c.allocs('other'))[0] as AllocStub;
    const notPart = await c.post(`/v1/deployment/allocation-health/${d.ID}`, { DeploymentID: d.ID, UnhealthyAllocationIDs: [foreign.ID] });
    expect([notPart.status, notPart.text]).toEqual([500, `alloc "${foreign.ID}" is not part of deployment "${d.ID}"`]);
    expect((await c.latestDeployment('web')).Status).toBe('running');
  });
});

describe('deployment actions: effects', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim();
  });
  afterEach(() => c.sim.close());

  async function canaryDeployment(count = 3, canary = 2): Promise<Deployment> {
    await c.register(webJob({ count, update: { Canary: canary } }));
    await c.advance('10s');
    await c.register(webJob({ count, image: 'app:2', update: { Canary: canary } }));
    return c.latestDeployment('web');
  }

  test('promote with too few healthy canaries: Nomad multi-error, nothing promoted', async () => {
    const d = await canaryDeployment();
    const r = await c.put(`/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID, All: true });
    expect(r.status).toBe(500);
    expect(r.text).toBe('1 error occurred:\n\t* Task group "web" has 0/2 healthy allocations\n\n');
    expect((await c.latestDeployment('web')).TaskGroups.web?.Promoted).toBe(false);
  });

  test('promote answers the update response; promoting again is not an error', async () => {
    const d = await canaryDeployment();
    await c.advance('10s');
    const r = await c.post<Record<string, unknown>>(`/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID, Groups: ['web'] });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      EvalID: expect.stringMatching(/^[0-9a-f-]{36}$/),
      EvalCreateIndex: r.body.Index,
      DeploymentModifyIndex: r.body.Index,
      RevertedJobVersion: null,
      Index: expect.any(Number),
    });
    expect(r.headers.get('x-nomad-index')).toBe(String(r.body.Index));
    const again = await c.post(`/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID, All: true });
    expect(again.status).toBe(200);
  });

  test('promote with neither All nor Groups promotes nothing but is still a write with an evaluation', async () => {
    const d = await canaryDeployment();
    const r = await c.post<Record<string, unknown>>(`/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID });
    expect(r.status).toBe(200);
    const after = await c.latestDeployment('web');
    expect(after.TaskGroups.web?.Promoted).toBe(false);
    expect(after.ModifyIndex).toBeGreaterThan(d.ModifyIndex);
    expect(r.body).toMatchObject({ EvalID: expect.stringMatching(/^[0-9a-f-]{36}$/), DeploymentModifyIndex: after.ModifyIndex, Index: after.ModifyIndex });
    expect(Number(r.headers.get('x-nomad-index'))).toBe(after.ModifyIndex);
  });

  test('promote of another group only leaves this one waiting', async () => {
    const d = await canaryDeployment();
    await c.advance('10s');
    const r = await c.post(`/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID, Groups: ['api'] });
    expect(r.status).toBe(200);
    expect((await c.latestDeployment('web')).TaskGroups.web?.Promoted).toBe(false);
  });

  test('pause: no eval, status paused; resume: eval, running', async () => {
    await c.register(webJob({ count: 2, update: { HealthCheck: 'manual' } }));
    const d = await c.latestDeployment('web');
    const paused = await c.post<Record<string, unknown>>(`/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: true });
    expect(paused.body).toMatchObject({ EvalID: '', EvalCreateIndex: 0 });
    expect(await c.latestDeployment('web')).toMatchObject({ Status: 'paused', StatusDescription: 'Deployment is paused' });
    const resumed = await c.post<Record<string, unknown>>(`/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: false });
    expect(resumed.body.EvalID).toMatch(/^[0-9a-f-]{36}$/);
    expect(await c.latestDeployment('web')).toMatchObject({ Status: 'running', StatusDescription: 'Deployment is running' });
  });

  test('a paused rollout places nothing until resumed', async () => {
    await c.register(webJob({ count: 3 }));
    await c.advance('10s');
    await c.register(webJob({ count: 3, image: 'app:2' }));
    const d = await c.latestDeployment('web');
    await c.post(`/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: true });
    await c.advance('10s');
    expect((await c.liveAllocs('web')).filter((a) => a.JobVersion === 1)).toHaveLength(1);
    await c.post(`/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: false });
    expect((await c.liveAllocs('web')).filter((a) => a.JobVersion === 1)).toHaveLength(2);
  });

  test('Nomad 2.0.1 and later: pause and resume restart RequireProgressBy; a paused deployment never fails by its deadline', async () => {
    await c.register(webJob({ count: 2, update: { HealthCheck: 'manual' } })); // progress deadline 120 s
    const d = await c.latestDeployment('web');
    const requireBy = async (): Promise<number> => Date.parse((await c.latestDeployment('web')).TaskGroups.web?.RequireProgressBy ?? '');
    expect(await requireBy()).toBe(c.sim.clock.now() + 120_000);
    await c.advance('60s');
    await c.post(`/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: true });
    expect(await requireBy()).toBe(c.sim.clock.now() + 120_000);
    await c.advance('10m');
    expect((await c.latestDeployment('web')).Status).toBe('paused');
    await c.post(`/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: false });
    expect(await requireBy()).toBe(c.sim.clock.now() + 120_000);
    await c.advance('121s');
    expect((await c.latestDeployment('web')).StatusDescription).toBe('Failed due to progress deadline');
  });

  test('before Nomad 2.0.1: pause leaves RequireProgressBy alone and a paused deployment fails at its deadline', async () => {
    await c.sim.close();
    c = await withSim({ nomadVersion: '2.0.0' });
    await c.register(webJob({ count: 2, update: { HealthCheck: 'manual' } }));
    const d = await c.latestDeployment('web');
    const before = (await c.latestDeployment('web')).TaskGroups.web?.RequireProgressBy;
    await c.advance('60s');
    await c.post(`/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: true });
    expect((await c.latestDeployment('web')).TaskGroups.web?.RequireProgressBy).toBe(before);
    await c.advance('61s');
    expect(await c.latestDeployment('web')).toMatchObject({ Status: 'failed', StatusDescription: 'Failed due to progress deadline' });
  });

  test('a malformed nomadVersion is refused, naming the option', async () => {
    await expect(withSim({ nomadVersion: '2.0' })).rejects.toThrow('simulator option nomadVersion: "2.0" is not a MAJOR.MINOR.PATCH version');
  });

  test('unblock on open-source Nomad: 200 no-op', async () => {
    await c.register(webJob({ count: 1 }));
    const d = await c.latestDeployment('web');
    const r = await c.post<Record<string, unknown>>(`/v1/deployment/unblock/${d.ID}`, { DeploymentID: d.ID });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ EvalID: '', Index: 0 });
    expect((await c.latestDeployment('web')).Status).toBe('running');
  });

  test('fail without auto_revert: marked failed, no reverted version, canaries stopped', async () => {
    const d = await canaryDeployment(3, 1);
    const r = await c.post<Record<string, unknown>>(`/v1/deployment/fail/${d.ID}`);
    expect(r.status).toBe(200);
    expect(r.body.RevertedJobVersion).toBeNull();
    expect(await c.latestDeployment('web')).toMatchObject({ Status: 'failed', StatusDescription: 'Deployment marked as failed' });
    expect((await c.liveAllocs('web')).every((a) => a.JobVersion === 0)).toBe(true);
  });

  test('allocation-health with an unhealthy ID fails the deployment in the same write', async () => {
    const d = await canaryDeployment(3, 1);
    const canary = (await c.liveAllocs('web')).find((a) => a.JobVersion === 1) as AllocStub;
    const r = await c.post<Record<string, unknown>>(`/v1/deployment/allocation-health/${d.ID}`, {
      DeploymentID: d.ID,
      UnhealthyAllocationIDs: [canary.ID],
    });
    expect(r.status).toBe(200);
    const after = await c.get<Deployment>(`/v1/deployment/${d.ID}`);
    expect(after.body).toMatchObject({ Status: 'failed', StatusDescription: 'Failed due to unhealthy allocations', ModifyIndex: r.body.Index });
  });
});
