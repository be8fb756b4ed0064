/** The job-spec cache against the simulator: what it keeps, and which reads it saves. */
import { describe, expect, test } from '@jest/globals';

import { JobSpecCache } from '../../src/reconcile/job-specs.js';
import { webJob } from '../simulator/helpers.js';
import { simWithClient } from '../support/sim-api.js';

const start = simWithClient();

async function setup(options: ConstructorParameters<typeof JobSpecCache>[1] = {}) {
  const { sim, api } = await start();
  const versionReads = () => sim.sim.services.requests.list().filter((r) => r.route === '/v1/job/:id/versions').length;
  const createIndex = async (job: string) => (await sim.get<{ CreateIndex: number }>(`/v1/job/${job}`)).body.CreateIndex;
  return { sim, specs: new JobSpecCache(api, options), versionReads, createIndex };
}

describe('job-spec cache', () => {
  test('concurrent misses on one job share one read; later reads of known or pruned versions ask nothing', async () => {
    const { sim, specs, versionReads, createIndex } = await setup();
    for (let v = 0; v < 8; v++) await sim.register(webJob({ id: 'web', image: `app:${v}`, meta: { pin: `p${v}` } }));
    const created = await createIndex('web');

    const specsOf = await Promise.all([7, 7, 6, 5].map((v) => specs.get('default', 'web', created, v)));
    expect(versionReads()).toBe(1);
    expect(specsOf.map((s) => s?.TaskGroups[0]?.Meta?.pin)).toEqual(['p7', 'p7', 'p6', 'p5']);
    // Only what decisions read is kept: Meta and the health check mode, no tasks.
    expect(Object.keys(specsOf[0]!.TaskGroups[0]!).sort()).toEqual(['Meta', 'Name', 'Update']);

    // Nomad keeps six versions: 0 and 1 are gone for good, and known to be.
    expect(await specs.get('default', 'web', created, 0)).toBeUndefined();
    expect(await specs.get('default', 'web', created, 7)).toBeDefined();
    expect(versionReads()).toBe(1);

    await sim.register(webJob({ id: 'web', image: 'app:8', meta: { pin: 'p8' } }));
    expect((await specs.get('default', 'web', created, 8))?.TaskGroups[0]?.Meta?.pin).toBe('p8');
    expect(versionReads()).toBe(2);
  });

  test('a purged job, registered again, is a new incarnation; the old one is gone without asking again', async () => {
    const { sim, specs, versionReads, createIndex } = await setup();
    await sim.register(webJob({ id: 'web', meta: { pin: 'old' } }));
    const first = await createIndex('web');
    expect((await specs.get('default', 'web', first, 0))?.TaskGroups[0]?.Meta?.pin).toBe('old');
    await sim.request('DELETE', '/v1/job/web?purge=true');
    await sim.register(webJob({ id: 'web', meta: { pin: 'new' } }));
    const second = await createIndex('web');
    expect(second).not.toBe(first);

    expect((await specs.get('default', 'web', second, 0))?.TaskGroups[0]?.Meta?.pin).toBe('new');
    expect(await specs.get('default', 'web', first, 1)).toBeUndefined();
    expect(await specs.get('default', 'web', first, 1)).toBeUndefined();
    expect(versionReads()).toBe(3);
  });

  test('bounded by jobs: the least recently used job is dropped, and read again when asked', async () => {
    const { sim, specs, versionReads, createIndex } = await setup({ maxJobs: 2 });
    for (const id of ['a', 'b', 'c']) await sim.register(webJob({ id }));
    const index = Object.fromEntries(await Promise.all(['a', 'b', 'c'].map(async (id) => [id, await createIndex(id)] as const)));
    await specs.get('default', 'a', index.a!, 0);
    await specs.get('default', 'b', index.b!, 0);
    await specs.get('default', 'a', index.a!, 0);
    await specs.get('default', 'c', index.c!, 0);
    expect(specs.size).toBe(2);
    expect(versionReads()).toBe(3);
    // a was used after b: b was dropped.
    await specs.get('default', 'a', index.a!, 0);
    expect(versionReads()).toBe(3);
    await specs.get('default', 'b', index.b!, 0);
    expect(versionReads()).toBe(4);
  });

});
