/**
 * At-least-once under HA: a leader that dies between a write and its acknowledgement leaves a
 * snapshot that never saw the ack, so the next leader may repeat the write once. Against the
 * in-process simulator (answering as Nomad does, per nomad-api.md), the repeat changes nothing:
 * a second promote is accepted without a new outcome, and a second fail is refused as final,
 * which the effects take as done.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';

import type { Deployment } from '../../src/domain/nomad.js';
import type { EffectRequest } from '../../src/machine/plan.js';
import type { DeploymentRef, NomadApi, QueryOptions, QueryResult } from '../../src/nomad/api.js';
import { HttpNomadClient } from '../../src/nomad/client.js';
import { readNomadConfig } from '../../src/nomad/config.js';
import { EffectRunner } from '../../src/reconcile/effects.js';
import { SimClient, webJob, withSim } from '../simulator/helpers.js';

const effect = (action: 'promote' | 'fail'): EffectRequest => ({ key: `${action}:web`, action, groups: ['web'], reason: 'test', dryRun: false, evidence: [], decidableAt: 0 });

/** What a second write could change: the outcome, the canaries, the allocations running. */
async function outcome(c: SimClient, api: HttpNomadClient, ref: DeploymentRef) {
  const d = (await api.readDeployment(ref)).body;
  const { Promoted, PlacedCanaries, DesiredCanaries, HealthyAllocs } = d.TaskGroups['web']!;
  const live = (await c.liveAllocs('web')).map((a) => a.ID).sort();
  return { status: d.Status, description: d.StatusDescription, jobVersion: (await c.get<{ Version: number }>('/v1/job/web')).body.Version, Promoted, PlacedCanaries, DesiredCanaries, HealthyAllocs, live };
}

/**
 * The new leader's pre-check read answered by a server that has not applied the old leader's
 * write yet (a stale read): the one way a repeat gets past the effect's own "still needed?" check.
 */
function lagging(api: NomadApi, before: Deployment): NomadApi {
  let stale = true;
  return Object.assign(Object.create(api) as NomadApi, {
    readDeployment: async (ref: DeploymentRef, opts?: QueryOptions): Promise<QueryResult<Deployment>> => {
      if (!stale) return api.readDeployment(ref, opts);
      stale = false;
      return { body: before, index: before.ModifyIndex, knownLeader: true, lastContactMs: 0 };
    },
  });
}

describe('a write repeated after a takeover changes nothing', () => {
  let c: SimClient;
  let api: HttpNomadClient;
  let ref: DeploymentRef;
  let before: Deployment;

  beforeEach(async () => {
    c = await withSim({ apps: false });
    const { config } = readNomadConfig({ NOMAD_ADDR: c.sim.url });
    api = new HttpNomadClient(config!, { retries: 0 });
    await c.register(webJob({ count: 3, update: { Canary: 1, MaxParallel: 1 } }));
    await c.advance('11s');
    await c.register(webJob({ count: 3, image: 'app:2', update: { Canary: 1, MaxParallel: 1 } }));
    await c.advance('10s');
    const d = await c.latestDeployment('web');
    ref = { id: d.ID, namespace: 'default' };
    before = (await api.readDeployment(ref)).body;
    expect(before.TaskGroups['web']).toMatchObject({ Promoted: false, HealthyAllocs: 1 });
  });
  afterEach(async () => {
    api.close();
    await c.sim.close();
  });

  test('promote: the repeat is skipped after a fresh read, and accepted without effect when it reaches Nomad', async () => {
    const effects = new EffectRunner(api, Date.now);
    expect(await effects.run(effect('promote'), before)).toMatchObject({ outcome: 'ok' });
    const once = await outcome(c, api, ref);
    expect(once).toMatchObject({ status: 'running', Promoted: true });

    expect(await effects.run(effect('promote'), before)).toMatchObject({ outcome: 'skipped', message: 'already promoted in Nomad' });
    const repeated = await new EffectRunner(lagging(api, before), Date.now).run(effect('promote'), before);
    expect(repeated).toMatchObject({ outcome: 'ok' });
    expect(await outcome(c, api, ref)).toEqual(once);
    const promotes = (await c.get<{ route: string | null; status: number }[]>('/_sim/requests')).body.filter((r) => r.route === '/v1/deployment/promote/:id');
    expect(promotes.map((r) => r.status)).toEqual([200, 200]);
  });

  test('fail: the repeat is refused by Nomad as final, and the effect takes it as done, not as an error', async () => {
    const effects = new EffectRunner(api, Date.now);
    expect(await effects.run(effect('fail'), before)).toMatchObject({ outcome: 'ok' });
    const once = await outcome(c, api, ref);
    expect(once).toMatchObject({ status: 'failed', description: 'Deployment marked as failed' });

    await expect(api.fail(ref)).rejects.toMatchObject({ status: 500, text: "can't fail terminal deployment", transient: false });
    expect(await effects.run(effect('fail'), before)).toMatchObject({ outcome: 'skipped', message: 'deployment is failed' });
    const repeated = await new EffectRunner(lagging(api, before), Date.now).run(effect('fail'), before);
    expect(repeated).toMatchObject({ outcome: 'ok', followUps: [] });
    expect(await outcome(c, api, ref)).toEqual(once);
  });
});
