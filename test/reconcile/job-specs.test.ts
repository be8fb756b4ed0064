/** The job-spec cache against the simulator: what it keeps, and which reads it saves. */
import { describe, expect, test } from '@jest/globals';

import { JobSpecCache } from '../../src/reconcile/job-specs.js';
import { webJob } from '../simulator/helpers.js';
import { simWithClient } from '../support/sim-api.js';

const start = simWithClient();

async function setup(options: ConstructorParameters<typeof JobSpecCache>[1] = {}) {
  const { sim, api } = await start();
  const log = sim.sim.services.requests;
  /** The cache's reads so far: `job` (the job as it is now) or `versions` (all it keeps). */
  const reads = () => log.list().flatMap((r) => (r.route === '/v1/job/:id' ? ['job'] : r.route === '/v1/job/:id/versions' ? ['versions'] : []));
  /** The job's CreateIndex, read by the test (and left out of the log). */
  const createIndex = async (job: string) => {
    const { CreateIndex } = (await sim.get<{ CreateIndex: number }>(`/v1/job/${job}`)).body;
    log.clear();
    return CreateIndex;
  };
  return { sim, specs: new JobSpecCache(api, options), reads, createIndex };
}

describe('job-spec cache', () => {
  test('a deployment of the job as it is now costs one read of the job, not of all its versions', async () => {
    const { sim, specs, reads, createIndex } = await setup();
    await sim.register(webJob({ id: 'web', meta: { pin: 'p0' } }));
    await sim.register(webJob({ id: 'web', image: 'app:2', meta: { pin: 'p1' } }));
    const created = await createIndex('web');
    expect((await specs.get('default', 'web', created, 1))?.TaskGroups[0]?.Meta?.pin).toBe('p1');
    expect(await specs.get('default', 'web', created, 1)).toBeDefined();
    expect(reads()).toEqual(['job']);
    // An older version: the job has moved past it, so only its versions can have it.
    expect((await specs.get('default', 'web', created, 0))?.TaskGroups[0]?.Meta?.pin).toBe('p0');
    expect(reads()).toEqual(['job', 'versions']);
  });

  test('concurrent misses on one job share its reads; later reads of known or pruned versions ask nothing', async () => {
    const { sim, specs, reads, createIndex } = await setup();
    for (let v = 0; v < 8; v++) await sim.register(webJob({ id: 'web', image: `app:${v}`, meta: { pin: `p${v}` } }));
    const created = await createIndex('web');

    const specsOf = await Promise.all([7, 7, 6, 5].map((v) => specs.get('default', 'web', created, v)));
    // The job for 7 (the current version), then its versions for 6 and 5 together.
    expect(reads()).toEqual(['job', 'versions']);
    expect(specsOf.map((s) => s?.TaskGroups[0]?.Meta?.pin)).toEqual(['p7', 'p7', 'p6', 'p5']);
    // Only what decisions read is kept: Meta and the health check mode, no tasks.
    expect(Object.keys(specsOf[0]!.TaskGroups[0]!).sort()).toEqual(['Meta', 'Name', 'Update']);

    // Nomad keeps six versions: 0 and 1 are gone for good, and known to be.
    expect(await specs.get('default', 'web', created, 0)).toBeUndefined();
    expect(await specs.get('default', 'web', created, 7)).toBeDefined();
    expect(reads()).toHaveLength(2);

    await sim.register(webJob({ id: 'web', image: 'app:8', meta: { pin: 'p8' } }));
    expect((await specs.get('default', 'web', created, 8))?.TaskGroups[0]?.Meta?.pin).toBe('p8');
    expect(reads()).toEqual(['job', 'versions', 'job']);
  });

  test('a purged job, registered again, is a new incarnation; the old one is gone without asking again', async () => {
    const { sim, specs, reads, createIndex } = await setup();
    await sim.register(webJob({ id: 'web', meta: { pin: 'old' } }));
    const first = await createIndex('web');
    expect((await specs.get('default', 'web', first, 0))?.TaskGroups[0]?.Meta?.pin).toBe('old');
    await sim.request('DELETE', '/v1/job/web?purge=true');
    await sim.register(webJob({ id: 'web', meta: { pin: 'new' } }));
    const second = await createIndex('web');
    expect(second).not.toBe(first);

    expect((await specs.get('default', 'web', second, 0))?.TaskGroups[0]?.Meta?.pin).toBe('new');
    // The job is now another incarnation: nothing of the first is left.
    expect(await specs.get('default', 'web', first, 1)).toBeUndefined();
    expect(await specs.get('default', 'web', first, 1)).toBeUndefined();
    expect(reads()).toEqual(['job', 'job']);
  });

  test('bounded by jobs: the least recently used job is dropped, and read again when asked', async () => {
    const { sim, specs, reads, createIndex } = await setup({ maxJobs: 2 });
    const index: Record<string, number> = {};
    for (const id of ['a', 'b', 'c']) {
      await sim.register(webJob({ id }));
      index[id] = await createIndex(id);
    }
    for (const id of ['a', 'b', 'a', 'c']) await specs.get('default', id, index[id]!, 0);
    expect(specs.size).toBe(2);
    expect(reads()).toHaveLength(3);
    // a was used after b: b was dropped.
    await specs.get('default', 'a', index.a!, 0);
    expect(reads()).toHaveLength(3);
    await specs.get('default', 'b', index.b!, 0);
    expect(reads()).toHaveLength(4);
  });
});
