/** On a client's one connection, calls that wait are sent lock operations first, then writes, then reads. */
import { describe, expect, test } from '@jest/globals';

import { isAbortError } from '../../src/nomad/errors.js';
import { type SimClient, webJob } from '../simulator/helpers.js';
import { eventually } from '../support/eventually.js';
import { simWithClient } from '../support/sim-api.js';

const start = simWithClient({ keepAlive: true, maxSockets: 1 });

async function setup() {
  const { sim, api } = await start();
  await sim.register(webJob({ id: 'web' }));
  const deployment = await sim.latestDeployment('web');
  sim.sim.services.requests.clear();
  // The first read holds the connection while the others queue behind it.
  sim.sim.services.faults.add({ kind: 'latency', count: 1, ms: 300, to: 0, bytes: 0, path: '/v1/job/web/versions' });
  const held = api.jobVersions('web', 'default');
  await eventually(async () => sim.sim.services.requests.list().length === 1, 'the first read at the simulator');
  return { sim, api, held, deployment };
}

const arrived = (c: SimClient) =>
  c.sim.services.requests.list().map((r) => (r.method === 'GET' ? 'read' : 'lock-renew' in r.query ? 'lock' : 'write'));

describe('request order on the one connection', () => {
  test('with many reads queued, a write is sent next, and a lock renewal before it', async () => {
    const { sim, api, held, deployment } = await setup();
    const reads = Array.from({ length: 10 }, () => api.jobVersions('web', 'default'));
    const write = api.fail({ id: deployment.ID, namespace: 'default' });
    const renew = api.renewLock('nomad-promoter/leader', 'default', 'no-such-lock');
    await Promise.all([held, ...reads, write, renew]);

    expect(arrived(sim)).toEqual(['read', 'lock', 'write', ...Array(10).fill('read')]);
    expect((await sim.latestDeployment('web')).Status).toBe('failed');
    expect(await renew).toMatchObject({ kind: 'lost' });
  });

  test('a queued call whose signal fires leaves the queue; the rest are still sent, in order', async () => {
    const { sim, api, held } = await setup();
    const abort = new AbortController();
    const dropped = api.jobVersions('web', 'default', { signal: abort.signal });
    const kept = api.jobVersions('web', 'default');
    abort.abort();
    expect(isAbortError(await dropped.catch((err: unknown) => err))).toBe(true);
    await Promise.all([held, kept]);
    expect(arrived(sim)).toEqual(['read', 'read']);
  });
});
