import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';

import { SimClient, webJob, withSim } from './helpers.js';

function index(r: { headers: Headers }): number {
  return Number(r.headers.get('x-nomad-index'));
}

describe('blocking queries', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim();
    await c.register(webJob());
  });
  afterEach(() => c.sim.close());

  test('index=0 answers at once', async () => {
    const r = await c.get('/v1/deployments?index=0&wait=5m');
    expect(r.status).toBe(200);
    expect(index(r)).toBeGreaterThan(0);
  });

  test('a query below the current index answers at once', async () => {
    const r = await c.get('/v1/deployments?index=1&wait=5m');
    expect(index(r)).toBeGreaterThan(1);
  });

  test('index > 0 blocks until a write raises the index', async () => {
    const first = await c.get('/v1/deployments');
    const current = index(first);
    let answered = false;
    const pending = c.get<unknown[]>(`/v1/deployments?index=${current}&wait=5m`).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    await c.register(webJob({ id: 'other' }));
    const r = await pending;
    expect(r.status).toBe(200);
    expect(index(r)).toBeGreaterThan(current);
    expect(r.body).toHaveLength(2);
  });

  test('a timeout answers 200 with the same index', async () => {
    const current = index(await c.get('/v1/deployments'));
    const r = await c.get(`/v1/deployments?index=${current}&wait=300ms`);
    expect(r.status).toBe(200);
    expect(index(r)).toBe(current);
  });

  test('an index ahead of the server blocks the whole wait, then returns the lower index', async () => {
    const current = index(await c.get('/v1/allocations'));
    const started = Date.now();
    const r = await c.get(`/v1/allocations?index=${current + 1000}&wait=300ms`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(index(r)).toBe(current);
  });

  test('single-object reads block on the object and use its ModifyIndex', async () => {
    const d = await c.latestDeployment('web');
    const r0 = await c.get(`/v1/deployment/${d.ID}`);
    expect(index(r0)).toBe(d.ModifyIndex);
    const pending = c.get<{ Status: string }>(`/v1/deployment/${d.ID}?index=${d.ModifyIndex}&wait=5m`);
    await c.advance('11s');
    const r = await pending;
    expect(index(r)).toBeGreaterThan(d.ModifyIndex);
    expect(r.body.Status).toBe('successful');
  });

  test('each table reports its own index', async () => {
    const deployments = index(await c.get('/v1/deployments'));
    const allocs = index(await c.get('/v1/allocations'));
    const jobIndex = index(await c.get('/v1/job/web'));
    await c.advance('11s'); // allocations turn healthy, deployment succeeds, job becomes stable
    expect(index(await c.get('/v1/allocations'))).toBeGreaterThan(allocs);
    expect(index(await c.get('/v1/deployments'))).toBeGreaterThan(deployments);
    expect(index(await c.get('/v1/job/web'))).toBeGreaterThan(jobIndex);
  });

  test('close() ends blocked long-polls promptly', async () => {
    const current = index(await c.get('/v1/deployments'));
    const pending = c.get(`/v1/deployments?index=${current}&wait=5m`).then(
      () => 'answered',
      () => 'cut',
    );
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await c.sim.close();
    expect(await pending).toBe('cut');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
