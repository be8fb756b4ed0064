import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';

import { effectiveWaitMs } from '../../src/simulator/http/blocking.js';
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

describe('effectiveWaitMs (the wait of a blocking query, as Nomad computes it)', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });
  const withRandom = (r: number): void => {
    jest.spyOn(Math, 'random').mockReturnValue(r);
  };

  test.each([undefined, 0, -1, -300_000])('missing or <= 0 (%p) means 300 s', (requested) => {
    withRandom(0);
    expect(effectiveWaitMs(requested)).toBe(300_000);
  });

  test.each([
    [300_001, 300_000],
    [600_000, 300_000],
    [3_600_000, 300_000],
    [300_000, 300_000],
    [5_000, 5_000],
    [1, 1],
  ])('%p ms is clamped to at most 300 s: %p', (requested, base) => {
    withRandom(0);
    expect(effectiveWaitMs(requested)).toBe(base);
  });

  test('jitter is in [0, wait/16): the lowest draw adds nothing, the highest stays below wait/16', () => {
    withRandom(0);
    expect(effectiveWaitMs(16_000)).toBe(16_000);
    withRandom(0.5);
    expect(effectiveWaitMs(16_000)).toBe(16_500);
    withRandom(0.9999);
    expect(effectiveWaitMs(16_000)).toBe(16_999);
    withRandom(1 - Number.EPSILON);
    expect(effectiveWaitMs(16_000)).toBe(16_999); // whole ms, never the bound itself
    expect(effectiveWaitMs(1)).toBe(1);
    expect(effectiveWaitMs(undefined)).toBeLessThan(300_000 + 300_000 / 16);
  });

  test('with real randomness every wait lands in [wait, wait + wait/16)', () => {
    for (const requested of [undefined, 1_000, 60_000, 900_000]) {
      const base = requested === undefined || requested > 300_000 ? 300_000 : requested;
      for (let i = 0; i < 500; i++) {
        const w = effectiveWaitMs(requested);
        expect(w >= base && w < base + base / 16).toBe(true);
      }
    }
  });
});
