import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';

import type { AllocStub, Deployment } from './helpers.js';
import { SimClient, webJob, withSim } from './helpers.js';

interface JobVersionBody {
  ID: string;
  Version: number;
  Stable: boolean;
  Stop: boolean;
  TaskGroups: { Name: string; Count: number; Update: Record<string, unknown>; Tasks: { Config: Record<string, unknown> }[] }[];
  Update: Record<string, unknown>;
}

describe('auto_revert', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim();
  });
  afterEach(() => c.sim.close());

  const revertUpdate = { Canary: 1, AutoRevert: true };

  test('failure rolls back to the latest stable version as a new version with its own deployment', async () => {
    await c.register(webJob({ count: 2, update: revertUpdate }));
    await c.advance('10s');
    await c.register(webJob({ count: 2, image: 'app:bad', update: revertUpdate }));
    const d = await c.latestDeployment('web');
    const canary = (await c.liveAllocs('web')).find((a) => a.JobVersion === 1) as AllocStub;
    await c.post(`/_sim/alloc/${canary.ID}/fail`);

    const failed = (await c.get<Deployment>(`/v1/deployment/${d.ID}`)).body;
    expect([failed.Status, failed.StatusDescription]).toEqual(['failed', 'Failed due to unhealthy allocations - rolling back to job version 0']);
    const job = (await c.get<JobVersionBody>('/v1/job/web')).body;
    expect(job.Version).toBe(2);
    expect(job.Stable).toBe(false);
    expect(job.TaskGroups[0]?.Tasks[0]?.Config.image).toBe('app:1');
    const latest = await c.latestDeployment('web');
    expect(latest.JobVersion).toBe(2);
    expect(latest.Status).toBe('running');
    await c.advance('10s');
    expect((await c.latestDeployment('web')).Status).toBe('successful');
    expect((await c.get<JobVersionBody>('/v1/job/web')).body.Stable).toBe(true);
  });

  test('fail API reports the reverted version', async () => {
    await c.register(webJob({ count: 2, update: revertUpdate }));
    await c.advance('10s');
    await c.register(webJob({ count: 2, image: 'app:2', update: revertUpdate }));
    const d = await c.latestDeployment('web');
    const r = await c.post<Record<string, unknown>>(`/v1/deployment/fail/${d.ID}`);
    expect(r.body.RevertedJobVersion).toBe(0);
    expect((await c.get<Deployment>(`/v1/deployment/${d.ID}`)).body.StatusDescription).toBe(
      'Deployment marked as failed - rolling back to job version 0',
    );
  });

  test('no stable version: no revert', async () => {
    await c.register(webJob({ count: 1, update: revertUpdate }));
    const [a] = await c.allocs('web');
    await c.post(`/_sim/alloc/${a?.ID}/fail`);
    expect((await c.latestDeployment('web')).StatusDescription).toBe(
      'Failed due to unhealthy allocations - no stable job version to auto revert to',
    );
    expect((await c.get<JobVersionBody>('/v1/job/web')).body.Version).toBe(0);
  });

  test('stable version with the same spec: no revert', async () => {
    await c.register(webJob({ count: 2, update: revertUpdate }));
    await c.advance('10s');
    await c.register(webJob({ count: 2, image: 'app:2', update: revertUpdate }));
    const stable = await c.post('/v1/job/web/stable', { JobID: 'web', JobVersion: 1, Stable: true });
    expect(stable.status).toBe(200);
    const d = await c.latestDeployment('web');
    const r = await c.post<Record<string, unknown>>(`/v1/deployment/fail/${d.ID}`);
    expect(r.body.RevertedJobVersion).toBeNull();
    expect((await c.latestDeployment('web')).StatusDescription).toBe(
      'Deployment marked as failed - not rolling back to stable job version 1 as current job has same specification',
    );
    expect((await c.get<JobVersionBody>('/v1/job/web')).body.Version).toBe(1);
  });

  test('the newest stable version is kept beyond the last 6 versions, so auto-revert still finds it', async () => {
    const versions = async (): Promise<number[]> =>
      (await c.get<{ Versions: JobVersionBody[] }>('/v1/job/web/versions')).body.Versions.map((v) => v.Version);
    await c.register(webJob({ count: 1, update: revertUpdate }));
    await c.advance('10s');
    expect((await c.latestDeployment('web')).Status).toBe('successful'); // v0 stable
    for (let i = 1; i <= 6; i++) await c.register(webJob({ count: 1, image: `app:${i + 1}`, update: revertUpdate }));
    expect(await versions()).toEqual([6, 5, 4, 3, 2, 0]);
    await c.register(webJob({ count: 1, image: 'app:bad', update: revertUpdate }));
    expect(await versions()).toEqual([7, 6, 5, 4, 3, 0]);
    const d = await c.latestDeployment('web');
    const canary = (await c.liveAllocs('web')).find((a) => a.JobVersion === 7) as AllocStub;
    await c.post(`/_sim/alloc/${canary.ID}/fail`);
    expect((await c.get<Deployment>(`/v1/deployment/${d.ID}`)).body.StatusDescription).toBe(
      'Failed due to unhealthy allocations - rolling back to job version 0',
    );
    const job = (await c.get<JobVersionBody>('/v1/job/web')).body;
    expect([job.Version, job.TaskGroups[0]?.Tasks[0]?.Config.image]).toEqual([8, 'app:1']);
    expect(await versions()).toEqual([8, 7, 6, 5, 4, 0]);
  });

  test('allocation-health unhealthy with auto_revert rolls back and reports the version', async () => {
    await c.register(webJob({ count: 2, update: revertUpdate }));
    await c.advance('10s');
    await c.register(webJob({ count: 2, image: 'app:2', update: revertUpdate }));
    const d = await c.latestDeployment('web');
    const canary = (await c.liveAllocs('web')).find((a) => a.JobVersion === 1) as AllocStub;
    const r = await c.post<Record<string, unknown>>(`/v1/deployment/allocation-health/${d.ID}`, {
      DeploymentID: d.ID,
      UnhealthyAllocationIDs: [canary.ID],
    });
    expect(r.body.RevertedJobVersion).toBe(0);
  });
});

describe('jobs API', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim();
  });
  afterEach(() => c.sim.close());

  test('register canonicalises: job-level Update merged into groups with defaults', async () => {
    const r = await c.register({
      ID: 'svc',
      Update: { MaxParallel: 2, Canary: 1, HealthCheck: null },
      Meta: { team: 'a' },
      TaskGroups: [{ Name: 'g', Count: 3, Update: { AutoRevert: true }, Tasks: [{ Name: 't', Driver: 'exec' }] }],
    });
    expect(r).toMatchObject({ EvalID: expect.any(String), JobModifyIndex: expect.any(Number), Warnings: '', KnownLeader: false });
    const job = (await c.get<JobVersionBody>('/v1/job/svc')).body;
    expect(job).toMatchObject({ ID: 'svc', Version: 0, Stable: false, Stop: false, Namespace: 'default', Type: 'service' });
    expect(job.Update).toMatchObject({ Stagger: 30e9, MaxParallel: 2 });
    expect(job.TaskGroups[0]?.Update).toEqual({
      Stagger: 30e9,
      MaxParallel: 2,
      HealthCheck: 'checks',
      MinHealthyTime: 10e9,
      HealthyDeadline: 300e9,
      ProgressDeadline: 600e9,
      Canary: 1,
      AutoRevert: true,
      AutoPromote: false,
    });
  });

  test('register errors', async () => {
    expect((await c.put('/v1/jobs')).text).toBe('Request body is empty');
    expect((await c.put('/v1/jobs', {})).text).toBe('Job must be specified');
    expect((await c.put('/v1/jobs', { Job: { TaskGroups: [] } })).text).toBe("Job ID hasn't been provided");
    expect((await c.put('/v1/job/a', { Job: { ID: 'b', TaskGroups: [{ Name: 'g' }] } })).text).toBe('Job ID does not match name');
  });

  test('an identical resubmission creates no version and no deployment', async () => {
    await c.register(webJob());
    await c.register(webJob());
    expect((await c.get<JobVersionBody>('/v1/job/web')).body.Version).toBe(0);
    expect(await c.deployments('web')).toHaveLength(1);
  });

  test('versions: newest first, the last 6 kept; 404 for an unknown job', async () => {
    for (let i = 0; i < 8; i++) await c.register(webJob({ image: `app:${i}` }));
    const r = await c.get<{ Versions: JobVersionBody[]; Diffs: null }>('/v1/job/web/versions');
    expect(r.body.Versions.map((v) => v.Version)).toEqual([7, 6, 5, 4, 3, 2]);
    expect(r.body.Diffs).toBeNull();
    const missing = await c.get('/v1/job/nope/versions');
    expect([missing.status, missing.text]).toEqual([404, 'job versions not found']);
    const job = await c.get('/v1/job/nope');
    expect([job.status, job.text]).toEqual([404, 'job not found']);
  });

  test('versions index: the highest ModifyIndex of all versions; a query blocked on it wakes when an older version turns Stable', async () => {
    await c.register(webJob({ image: 'app:1' }));
    await c.register(webJob({ image: 'app:2' }));
    const before = await c.get<{ Versions: (JobVersionBody & { ModifyIndex: number })[]; Index: number }>('/v1/job/web/versions');
    const highest = Math.max(...before.body.Versions.map((v) => v.ModifyIndex));
    expect(before.body.Index).toBe(highest);
    expect(Number(before.headers.get('x-nomad-index'))).toBe(highest);
    const blocked = c.get<{ Versions: (JobVersionBody & { ModifyIndex: number })[]; Index: number }>(`/v1/job/web/versions?index=${highest}&wait=10s`);
    const stable = await c.post<Record<string, unknown>>('/v1/job/web/stable', { JobID: 'web', JobVersion: 0, Stable: true });
    const after = await blocked;
    expect(after.body.Versions.map((v) => [v.Version, v.Stable])).toEqual([
      [1, false],
      [0, true],
    ]);
    expect(after.body.Index).toBe(stable.body.Index);
    expect(Number(after.headers.get('x-nomad-index'))).toBe(stable.body.Index);
  });

  test('versions?diffs=true: Diffs[i] is what changed from Versions[i+1] to Versions[i], in Nomad\'s JobDiff shape', async () => {
    const job = (image: string, env?: Record<string, string>): Record<string, unknown> => {
      const j = webJob({ image });
      const group = (j.TaskGroups as Record<string, unknown>[])[0] as { Tasks: Record<string, unknown>[] };
      if (env) (group.Tasks[0] as Record<string, unknown>).Env = env;
      return j;
    };
    await c.register(job('app:1'));
    expect((await c.get<{ Diffs: unknown }>('/v1/job/web/versions?diffs=true')).body.Diffs).toBeNull();
    await c.register(job('app:1', { foo: 'bar' }));
    await c.register(job('app:2', { foo: 'bar' }));
    const r = await c.get<{ Versions: JobVersionBody[]; Diffs: Record<string, unknown>[] }>('/v1/job/web/versions?diffs=true');
    expect(r.body.Versions.map((v) => v.Version)).toEqual([2, 1, 0]);
    expect(r.body.Diffs).toHaveLength(2);
    const task = (d: Record<string, unknown>): Record<string, unknown> =>
      ((d.TaskGroups as Record<string, unknown>[])[0]?.Tasks as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(r.body.Diffs[1]).toMatchObject({ Type: 'Edited', ID: 'web', Fields: null, Objects: null });
    expect(r.body.Diffs[1]?.TaskGroups).toEqual([
      { Type: 'Edited', Name: 'web', Fields: null, Objects: null, Updates: null, Tasks: [expect.objectContaining({ Type: 'Edited', Name: 'app' })] },
    ]);
    expect(task(r.body.Diffs[1] as Record<string, unknown>).Fields).toEqual([
      { Type: 'Added', Name: 'Env[foo]', Old: '', New: 'bar', Annotations: null },
    ]);
    expect(task(r.body.Diffs[0] as Record<string, unknown>).Objects).toEqual([
      { Type: 'Edited', Name: 'Config', Fields: [{ Type: 'Edited', Name: 'image', Old: 'app:1', New: 'app:2', Annotations: null }], Objects: null },
    ]);
    expect((await c.get('/v1/job/web/versions?diffs=maybe')).status).toBe(500);
  });

  test('stable answers only {"Index"}; an unknown version is Nomad\'s not-found text', async () => {
    await c.register(webJob({ image: 'app:1' }));
    const r = await c.post<Record<string, unknown>>('/v1/job/web/stable', { JobID: 'web', JobVersion: 0, Stable: true });
    expect(r.body).toEqual({ Index: Number(r.headers.get('x-nomad-index')) });
    expect((await c.get<JobVersionBody>('/v1/job/web')).body.Stable).toBe(true);
    const missing = await c.post('/v1/job/web/stable', { JobID: 'web', JobVersion: 7, Stable: true });
    expect([missing.status, missing.text]).toEqual([500, 'job "web" in namespace "default" at version 7 not found']);
  });

  test('job deployments: in deployment-ID order (not by age); only the current incarnation unless all=true', async () => {
    for (let i = 1; i <= 6; i++) await c.register(webJob({ image: `app:${i}` }));
    const listed = await c.deployments('web');
    expect(listed).toHaveLength(6);
    expect(listed.map((d) => d.ID)).toEqual(listed.map((d) => d.ID).sort());
    const purged = await c.request('DELETE', '/v1/job/web?purge=true');
    expect(purged.status).toBe(200);
    expect((await c.get('/v1/job/web')).status).toBe(404);
    await c.register(webJob({ image: 'app:9' }));
    const current = await c.deployments('web');
    expect(current.map((d) => d.JobVersion)).toEqual([0]);
    const all = await c.get<Deployment[]>('/v1/job/web/deployments?all=true');
    expect(all.body.map((d) => d.ID).sort()).toEqual([...listed.map((d) => d.ID), ...current.map((d) => d.ID)].sort());
    const bad = await c.get('/v1/job/web/deployments?all=yes');
    expect(bad.status).toBe(500);
  });

  test('revert: errors, EnforcePriorVersion, and a revert as a new version', async () => {
    await c.register(webJob({ image: 'app:1' }));
    await c.register(webJob({ image: 'app:2' }));
    const current = await c.post('/v1/job/web/revert', { JobID: 'web', JobVersion: 1 });
    expect([current.status, current.text]).toEqual([500, "can't revert to current version"]);
    const enforced = await c.post('/v1/job/web/revert', { JobID: 'web', JobVersion: 0, EnforcePriorVersion: 0 });
    expect([enforced.status, enforced.text]).toEqual([500, 'Current job has version 1; enforcing version 0']);
    const missing = await c.post('/v1/job/web/revert', { JobID: 'web', JobVersion: 9 });
    expect([missing.status, missing.text]).toEqual([500, 'job "web" in namespace "default" at version 9 not found']);
    expect((await c.post('/v1/job/web/revert', { JobVersion: 0 })).text).toBe('JobID must be specified');
    expect((await c.post('/v1/job/web/revert', { JobID: 'x', JobVersion: 0 })).text).toBe('Job ID does not match');
    const ok = await c.post<Record<string, unknown>>('/v1/job/web/revert', { JobID: 'web', JobVersion: 0, EnforcePriorVersion: 1 });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ EvalID: expect.any(String), JobModifyIndex: expect.any(Number) });
    const job = (await c.get<JobVersionBody>('/v1/job/web')).body;
    expect([job.Version, job.TaskGroups[0]?.Tasks[0]?.Config.image]).toEqual([2, 'app:1']);
  });

  test('latest deployment is null for a job without deployments, else the newest', async () => {
    const none = await c.get('/v1/job/nothing/deployment');
    expect([none.status, none.text]).toEqual([200, 'null']);
    await c.register(webJob());
    await c.register(webJob({ image: 'app:2' }));
    expect((await c.latestDeployment('web')).JobVersion).toBe(1);
  });

  test('stopping a job cancels its deployment and stops its allocations', async () => {
    await c.register(webJob());
    const r = await c.request('DELETE', '/v1/job/web');
    expect(r.status).toBe(200);
    expect(await c.latestDeployment('web')).toMatchObject({ Status: 'cancelled', StatusDescription: 'Cancelled because job is stopped' });
    expect(await c.liveAllocs('web')).toHaveLength(0);
    expect((await c.get<JobVersionBody>('/v1/job/web')).body).toMatchObject({ Stop: true, Version: 1 });
  });

  test('jobs live in namespaces: the submitted Namespace, else ?namespace=', async () => {
    await c.register(webJob({ namespace: 'blue' }));
    await c.register(webJob(), 'green');
    expect((await c.get('/v1/job/web')).status).toBe(404);
    expect((await c.get<JobVersionBody>('/v1/job/web?namespace=blue')).status).toBe(200);
    expect((await c.get<JobVersionBody>('/v1/job/web?namespace=green')).status).toBe(200);
    const list = await c.get<{ ID: string; Namespace: string }[]>('/v1/jobs?namespace=*');
    expect(list.body.map((j) => j.Namespace).sort()).toEqual(['blue', 'green']);
  });
});

describe('deployment actions ignore ?namespace, as Nomad does', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim();
  });
  afterEach(() => c.sim.close());

  test('a deployment in another namespace is found by ID for reads and actions', async () => {
    await c.register(webJob({ namespace: 'blue', update: { HealthCheck: 'manual' } }));
    const d = (await c.get<Deployment[]>('/v1/deployments?namespace=blue')).body[0] as Deployment;
    expect((await c.get(`/v1/deployment/${d.ID}`)).status).toBe(200);
    const paused = await c.post(`/v1/deployment/pause/${d.ID}?namespace=default`, { DeploymentID: d.ID, Pause: true });
    expect(paused.status).toBe(200);
    expect((await c.get<Deployment>(`/v1/deployment/${d.ID}`)).body.Status).toBe('paused');
  });
});
