import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';

import type { Deployment } from './helpers.js';
import { SimClient, webJob, withSim } from './helpers.js';

describe('ACLs', () => {
  let c: SimClient;
  let d: Deployment;
  let blue: Deployment;
  let accessors: string[];
  beforeAll(async () => {
    c = await withSim();
    await c.register(webJob({ update: { HealthCheck: 'manual' } }));
    await c.register(webJob({ namespace: 'blue', update: { HealthCheck: 'manual' } }));
    d = await c.latestDeployment('web');
    blue = await c.latestDeployment('web', 'blue');
    const r = await c.put<{ accessors: string[] }>('/_sim/acl', {
      enabled: true,
      tokens: {
        reader: ['read-job'],
        promoter: ['read-job', 'promote-deployment'],
        writer: ['read-job', 'submit-job'],
        'default-only': { default: ['read-job', 'submit-job'] },
        root: ['management'],
      },
    });
    expect(r.status).toBe(200);
    accessors = r.body.accessors;
  });
  afterAll(() => c.sim.close());

  const denied = { status: 403, text: 'Permission denied' };

  test('missing and bogus tokens: 403 Permission denied', async () => {
    const anonymous = await c.get('/v1/deployments');
    expect({ status: anonymous.status, text: anonymous.text }).toEqual(denied);
    const bogus = await c.withToken('nope').get('/v1/deployments');
    expect({ status: bogus.status, text: bogus.text }).toEqual(denied);
    const bogusAction = await c.withToken('nope').post(`/v1/deployment/fail/${d.ID}`);
    expect({ status: bogusAction.status, text: bogusAction.text }).toEqual(denied);
  });

  test('the token is read from X-Nomad-Token or Authorization: Bearer', async () => {
    expect((await c.withToken('reader').get('/v1/deployments')).status).toBe(200);
    expect((await c.request('GET', '/v1/deployments', undefined, { Authorization: 'Bearer reader' })).status).toBe(200);
    expect((await c.request('GET', '/v1/deployments', undefined, { Authorization: 'Basic reader' })).status).toBe(403);
  });

  test('read-job reads; actions need submit-job or the narrower capability', async () => {
    const reader = c.withToken('reader');
    expect((await reader.get(`/v1/deployment/${d.ID}`)).status).toBe(200);
    expect((await reader.get('/v1/allocations')).status).toBe(200);
    const promote = await reader.post(`/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID, All: true });
    expect({ status: promote.status, text: promote.text }).toEqual(denied);

    const promoter = c.withToken('promoter');
    expect((await promoter.post(`/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID })).status).toBe(200);
    expect((await promoter.post(`/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: true })).status).toBe(403);
    const writer = c.withToken('writer');
    expect((await writer.post(`/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: false })).status).toBe(200);
    expect((await writer.put('/v1/jobs', { Job: webJob({ id: 'new' }) })).status).toBe(200);
    expect((await reader.put('/v1/jobs', { Job: webJob({ id: 'new2' }) })).status).toBe(403);
  });

  test('an unknown deployment is reported before the missing capability, as in Nomad', async () => {
    const r = await c.withToken('reader').post('/v1/deployment/fail/00000000-0000-0000-0000-000000000000');
    expect([r.status, r.text]).toEqual([500, 'deployment not found']);
  });

  test('namespace-scoped tokens: actions check the deployment namespace; lists hide the rest', async () => {
    const scoped = c.withToken('default-only');
    const r = await scoped.post(`/v1/deployment/pause/${blue.ID}`, { DeploymentID: blue.ID, Pause: true });
    expect({ status: r.status, text: r.text }).toEqual(denied);
    const all = await scoped.get<Deployment[]>('/v1/deployments?namespace=*');
    expect(all.status).toBe(200);
    expect(all.body.every((x) => x.Namespace === 'default')).toBe(true);
    expect((await scoped.get('/v1/deployments?namespace=blue')).status).toBe(403);
    expect((await scoped.get(`/v1/deployment/${blue.ID}`)).status).toBe(404);
    expect((await c.withToken('root').get<Deployment[]>('/v1/deployments?namespace=*')).body).toHaveLength(3);
  });

  test('the request log names each request by its token accessor ID, never the secret', async () => {
    await c.request('DELETE', '/_sim/requests');
    await c.withToken('promoter').get('/v1/deployments');
    await c.withToken('root').post(`/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: false });
    await c.get('/v1/deployments');
    await c.withToken('nope').get('/v1/deployments');
    const log = (await c.get<{ method: string; accessor?: string }[]>('/_sim/requests')).body;
    expect(accessors).toHaveLength(5);
    expect(new Set(accessors).size).toBe(5);
    expect(log.map((r) => [r.method, r.accessor])).toEqual([
      ['GET', accessors[1]],
      ['POST', accessors[4]],
      ['GET', 'anonymous'],
      ['GET', undefined],
    ]);
    const text = JSON.stringify(log);
    for (const secret of ['promoter', 'root', 'nope']) expect(text).not.toContain(secret);
  });

  test('the control API is not subject to ACLs', async () => {
    expect((await c.get('/_sim/clock')).status).toBe(200);
  });
});
