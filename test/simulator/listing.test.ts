import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';

import type { AllocStub, Deployment } from './helpers.js';
import { SimClient, webJob, withSim } from './helpers.js';

describe('lists: pagination, prefix, filter, namespaces', () => {
  let c: SimClient;
  let all: Deployment[];
  beforeAll(async () => {
    c = await withSim();
    for (const id of ['a', 'b', 'c', 'd']) await c.register(webJob({ id, count: 1 }));
    await c.register(webJob({ id: 'e', count: 1, namespace: 'team' }));
    await c.advance('11s');
    await c.register(webJob({ id: 'a', count: 1, image: 'app:2' })); // a's v1 deployment keeps running
    all = (await c.get<Deployment[]>('/v1/deployments?namespace=*')).body;
  });
  afterAll(() => c.sim.close());

  test('default order is oldest CreateIndex first, in the default namespace only', async () => {
    const r = await c.get<Deployment[]>('/v1/deployments');
    expect(r.body.map((d) => d.JobID)).toEqual(['a', 'b', 'c', 'd', 'a']);
    const indexes = r.body.map((d) => d.CreateIndex);
    expect([...indexes].sort((x, y) => x - y)).toEqual(indexes);
  });

  test('namespace=* lists every namespace; namespace=team only that one', async () => {
    expect(all.map((d) => d.Namespace).sort()).toEqual(['default', 'default', 'default', 'default', 'default', 'team']);
    const team = await c.get<Deployment[]>('/v1/deployments?namespace=team');
    expect(team.body.map((d) => d.JobID)).toEqual(['e']);
  });

  test('per_page and next_token walk every page; the token is <CreateIndex>.<ID>', async () => {
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const r = await c.get<Deployment[]>(`/v1/deployments?namespace=*&per_page=2${token ? `&next_token=${token}` : ''}`);
      seen.push(...r.body.map((d) => d.ID));
      token = r.headers.get('x-nomad-nexttoken') ?? '';
      if (token) {
        const next = all[seen.length] as Deployment;
        expect(token).toBe(`${next.CreateIndex}.${next.ID}`);
      }
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(all.map((d) => d.ID));
  });

  test('reverse lists newest first', async () => {
    const r = await c.get<Deployment[]>('/v1/deployments?namespace=*&reverse=true');
    expect(r.body.map((d) => d.ID)).toEqual([...all].reverse().map((d) => d.ID));
    const page = await c.get<Deployment[]>('/v1/deployments?namespace=*&reverse=true&per_page=4');
    const token = page.headers.get('x-nomad-nexttoken') ?? '';
    const rest = await c.get<Deployment[]>(`/v1/deployments?namespace=*&reverse=true&next_token=${token}`);
    expect([...page.body, ...rest.body].map((d) => d.ID)).toEqual([...all].reverse().map((d) => d.ID));
  });

  test('prefix matches IDs; its pages use <ID> tokens', async () => {
    const target = all[2] as Deployment;
    const r = await c.get<Deployment[]>(`/v1/deployments?namespace=*&prefix=${target.ID.slice(0, 8)}`);
    expect(r.body.map((d) => d.ID)).toEqual([target.ID]);
    const paged = await c.get<Deployment[]>('/v1/deployments?namespace=*&prefix=&per_page=1');
    expect(paged.headers.get('x-nomad-nexttoken')).toMatch(/^\d+\./);
    const byId = [...all].sort((x, y) => x.ID.localeCompare(y.ID));
    const first = byId[0] as Deployment;
    const prefixed = await c.get<Deployment[]>(`/v1/deployments?namespace=*&prefix=${first.ID.slice(0, 1)}&per_page=1`);
    const expectedNext = byId.filter((d) => d.ID.startsWith(first.ID.slice(0, 1)))[1];
    expect(prefixed.headers.get('x-nomad-nexttoken') ?? null).toBe(expectedNext ? expectedNext.ID : null);
  });

  test('filter selects with ==, !=, and, or, not, parentheses and dotted selectors', async () => {
    const q = async (f: string): Promise<string[]> =>
      (await c.get<Deployment[]>(`/v1/deployments?namespace=*&filter=${encodeURIComponent(f)}`)).body.map((d) => `${d.JobID}:${d.Status}`);
    expect(await q('Status == "running"')).toEqual(['a:running']);
    expect((await q('Status != "running"')).length).toBe(5);
    expect(await q('JobID == "b" or (JobID == "e" and Namespace == team)')).toEqual(['b:successful', 'e:successful']);
    expect((await q('not (Status == successful)')).length).toBe(1);
    expect(await q('TaskGroups.web.HealthyAllocs == 0 and JobVersion == 1')).toEqual(['a:running']);
    expect((await q('TaskGroups.web.Promoted == false')).length).toBe(6);
  });

  test('filter applies before pagination', async () => {
    const r = await c.get<Deployment[]>(`/v1/deployments?namespace=*&per_page=1&filter=${encodeURIComponent('Status == "successful"')}`);
    expect(r.body).toHaveLength(1);
    const next = await c.get<Deployment[]>(`/v1/deployments?namespace=*&per_page=10&next_token=${r.headers.get('x-nomad-nexttoken')}&filter=${encodeURIComponent('Status == "successful"')}`);
    expect(next.body).toHaveLength(4);
    expect(next.body.every((d) => d.Status === 'successful')).toBe(true);
  });

  test('a bad filter is a 400 with a message', async () => {
    const bad = await c.get(`/v1/deployments?filter=${encodeURIComponent('Status ==')}`);
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/^failed to create result paginator: failed to read filter expression: 1:\d+ \(\d+\): /);
    const unknown = await c.get(`/v1/deployments?filter=${encodeURIComponent('Nope == "x"')}`);
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('failed to read result page: error finding value in datum');
  });

  test('a matches pattern that does not compile: 400 from the evaluation, as go-bexpr reports it', async () => {
    const bad = await c.get(`/v1/deployments?filter=${encodeURIComponent('Status matches "("')}`);
    expect([bad.status, bad.text]).toEqual([
      400,
      'failed to read result page: Failed to compile regular expression "(": error parsing regexp: missing closing ): `(`',
    ]);
    const allocs = await c.get(`/v1/allocations?filter=${encodeURIComponent('JobID not matches "a(?=b)"')}`);
    expect([allocs.status, allocs.text]).toEqual([
      400,
      'failed to read result page: Failed to compile regular expression "a(?=b)": error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    ]);
    // go-bexpr compiles a pattern only when an object reaches it: nothing to evaluate, no error.
    expect((await c.get(`/v1/deployments?namespace=nowhere&filter=${encodeURIComponent('Status matches "("')}`)).status).toBe(200);
    // RE2 flag groups work.
    const ci = await c.get<Deployment[]>(`/v1/deployments?namespace=*&filter=${encodeURIComponent('JobID matches "(?i)^B$"')}`);
    expect(ci.body.map((d) => d.JobID)).toEqual(['b']);
  });

  test('allocation filter runs on the full allocation; stubs have no DeploymentID', async () => {
    const d = all.find((x) => x.JobID === 'a' && x.Status === 'running') as Deployment;
    const r = await c.get<AllocStub[]>(`/v1/allocations?filter=${encodeURIComponent(`DeploymentID == "${d.ID}"`)}`);
    expect(r.body).toHaveLength(1);
    expect(r.body[0]).not.toHaveProperty('DeploymentID');
    expect(r.body[0]?.JobVersion).toBe(1);
    const withDeployment = await c.get<AllocStub[]>(`/v1/allocations?namespace=*&filter=${encodeURIComponent('DeploymentID != ""')}`);
    // a@0 (replaced by a@1), a@1, b, c, d, e
    expect(withDeployment.body.length).toBe(6);
  });

  test('allocation stubs: task_states=false drops TaskStates, resources=true adds AllocatedResources', async () => {
    const plain = (await c.get<Record<string, unknown>[]>('/v1/job/b/allocations')).body[0] as Record<string, unknown>;
    expect(plain.TaskStates).toMatchObject({ app: { State: 'running', Failed: false } });
    expect(plain).not.toHaveProperty('AllocatedResources');
    for (const field of ['JobVersion', 'TaskGroup', 'DeploymentStatus', 'Namespace', 'NodeName', 'JobType', 'DesiredDescription']) {
      expect(plain).toHaveProperty(field);
    }
    const lean = (await c.get<Record<string, unknown>[]>('/v1/allocations?task_states=false&resources=true')).body.find(
      (a) => a.JobID === 'b',
    ) as Record<string, unknown>;
    expect(lean.TaskStates).toBeNull();
    expect(lean.AllocatedResources).toMatchObject({
      Shared: { Ports: [{ Label: 'http', HostIP: '127.0.0.1', Value: expect.any(Number) }] },
    });
  });

  test('job and deployment allocation lists', async () => {
    const d = all.find((x) => x.JobID === 'b') as Deployment;
    const byDeployment = await c.get<AllocStub[]>(`/v1/deployment/allocations/${d.ID}`);
    expect(byDeployment.body.map((a) => a.Name)).toEqual(['b.web[0]']);
    const byJob = await c.get<AllocStub[]>('/v1/job/a/allocations');
    expect(byJob.body.map((a) => `${a.Name}@${a.JobVersion}`).sort()).toEqual(['a.web[0]@0', 'a.web[0]@1']);
    const otherNs = await c.get<AllocStub[]>('/v1/job/e/allocations?namespace=team');
    expect(otherNs.body).toHaveLength(1);
    expect((await c.get<AllocStub[]>('/v1/job/e/allocations')).body).toHaveLength(0);
  });
});

describe('allocations by prefix', () => {
  let c: SimClient;
  beforeAll(async () => {
    c = await withSim({ apps: false });
    await c.register(webJob({ count: 40 }));
  });
  afterAll(() => c.sim.close());

  test('ordered by ID, pages use <ID> tokens, as deployments by prefix', async () => {
    const all = (await c.get<AllocStub[]>('/v1/allocations')).body;
    const counts = new Map<string, number>();
    for (const a of all) counts.set(a.ID.slice(0, 1), (counts.get(a.ID.slice(0, 1)) ?? 0) + 1);
    const [prefix] = [...counts.entries()].sort((x, y) => y[1] - x[1])[0] as [string, number];
    const expected = all
      .filter((a) => a.ID.startsWith(prefix))
      .map((a) => a.ID)
      .sort();
    expect(expected.length).toBeGreaterThanOrEqual(3);
    const listed = await c.get<AllocStub[]>(`/v1/allocations?prefix=${prefix}`);
    expect(listed.body.map((a) => a.ID)).toEqual(expected);
    const seen: string[] = [];
    let token = '';
    do {
      const r = await c.get<AllocStub[]>(`/v1/allocations?prefix=${prefix}&per_page=2${token ? `&next_token=${token}` : ''}`);
      seen.push(...r.body.map((a) => a.ID));
      token = r.headers.get('x-nomad-nexttoken') ?? '';
      if (token) expect(token).toBe(expected[seen.length]);
    } while (token);
    expect(seen).toEqual(expected);
    const reversed = await c.get<AllocStub[]>(`/v1/allocations?prefix=${prefix}&reverse=true`);
    expect(reversed.body.map((a) => a.ID)).toEqual([...expected].reverse());
    // Without a prefix: CreateIndex order and <CreateIndex>.<ID> tokens.
    const plain = await c.get<AllocStub[]>('/v1/allocations?per_page=1');
    expect(plain.headers.get('x-nomad-nexttoken')).toMatch(/^\d+\.[0-9a-f-]{36}$/);
  });
});

describe('single allocation and its checks', () => {
  let c: SimClient;
  let alloc: AllocStub;
  beforeAll(async () => {
    c = await withSim();
    await c.register(webJob({ count: 1 }));
    alloc = (await c.allocs('web'))[0] as AllocStub;
  });
  afterAll(() => c.sim.close());

  test('full allocation: DeploymentID set, empty fields omitted, realistic fields', async () => {
    const r = await c.get<Record<string, unknown>>(`/v1/allocation/${alloc.ID}`);
    expect(r.status).toBe(200);
    expect(r.body.DeploymentID).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body).not.toHaveProperty('PreviousAllocation');
    expect(r.body).not.toHaveProperty('DesiredDescription');
    expect(r.body).not.toHaveProperty('FollowupEvalID');
    expect(r.body).toMatchObject({
      ID: alloc.ID,
      Name: 'web.web[0]',
      ClientStatus: 'running',
      DesiredStatus: 'run',
      NodeID: expect.stringMatching(/^[0-9a-f-]{36}$/),
      NodeName: expect.any(String),
      Job: { ID: 'web', Version: 0 },
      DeploymentStatus: { Healthy: null, Canary: false },
      AllocatedResources: { Shared: { Ports: [{ Label: 'http', HostIP: '127.0.0.1' }] } },
    });
    expect(typeof r.body.CreateTime).toBe('number');
    expect(Number(r.headers.get('x-nomad-index'))).toBe(r.body.ModifyIndex);
  });

  test('unknown allocation: 404 alloc not found', async () => {
    const r = await c.get('/v1/allocation/00000000-0000-0000-0000-000000000000');
    expect([r.status, r.text]).toEqual([404, 'alloc not found']);
  });

  test('checks follow the application health', async () => {
    const pass = await c.get<Record<string, Record<string, unknown>>>(`/v1/allocation/${alloc.ID}/checks`);
    const [id, check] = Object.entries(pass.body)[0] as [string, Record<string, unknown>];
    expect(check).toMatchObject({ ID: id, Check: 'alive', Group: 'web.web[0]', Mode: 'healthiness', Service: 'web', Status: 'success' });
    expect(typeof check.Timestamp).toBe('number');
    await c.post(`/_sim/alloc/${alloc.ID}/health`, { healthy: false });
    const fail = await c.get<Record<string, Record<string, unknown>>>(`/v1/allocation/${alloc.ID}/checks`);
    expect(fail.body[id]).toMatchObject({ Status: 'failure' });
  });
});
