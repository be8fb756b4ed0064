/** Snapshots written by machine version 1 are migrated on read and continue: one promote, no second effect. */
import { describe, expect, test } from '@jest/globals';
import { MACHINE_VERSION, restoreDeployment, stateOf, step, type StoredSnapshot } from '../../src/machine/machine.js';
import type { TaggedMeasurement } from '../../src/machine/plan.js';
import { MemorySnapshotStore } from '../../src/store/memory.js';
import { NomadVariablesStore } from '../../src/store/nomad-variables.js';
import type { SnapshotStore } from '../../src/store/store.js';
import { alloc, check, deployment, group, policy } from '../support/builders.js';
import { FakeNomad } from '../support/fake-nomad.js';

const T0 = Date.parse('2026-11-27T10:00:00Z');
const p = policy({ checks: { 'error-rate': check('error-rate', { count: 2 }) }, canary: { analysis: ['error-rate'], bakeMs: 60_000 } });
const obs = deployment([group('web', { policy: p, canaries: [alloc('c1', true), alloc('c2', true)] })]);

/** As version 1 stored it mid-bake: canaries healthy since T0, one of two passes taken, no group state. */
const v1MidBake = {
  machineVersion: 1,
  value: 'baking',
  context: {
    deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, nomadStatus: 'running',
    groups: {
      web: {
        policy: 'web-canary', mode: 'enforce', canary: true, promoted: false, canariesHealthyAt: T0, canaryIds: ['c1', 'c2'],
        checks: { 'canary:error-rate': { startedAt: T0, measurements: [{ check: 'error-rate', result: 'pass', value: 0.001, at: T0 + 10_000 }], phase: 'running' } },
        healthDecided: {},
      },
    },
    done: {},
    pending: [{ action: 'wait', groups: ['web'], reason: 'analysis running: error-rate running' }],
    history: [],
    wakeAt: T0 + 60_000,
    pausedMs: 0,
    warnings: [],
    updatedAt: T0 + 10_000,
  },
} as unknown as StoredSnapshot;

const pass = (at: number): TaggedMeasurement => ({ group: 'web', stage: 'canary', measurement: { check: 'error-rate', result: 'pass', value: 0.001, at } });

async function continues(store: SnapshotStore): Promise<void> {
  const stored = (await store.get('d-1'))!;
  expect(stored.machineVersion).toBe(MACHINE_VERSION);
  let s = restoreDeployment(stored);
  // The analysis and the bake go on from where version 1 left them.
  let r = step(s, { type: 'observe', now: T0 + 20_000, observation: obs, measurements: [pass(T0 + 20_000)] });
  expect(r.effects).toEqual([]);
  expect(stateOf(r.snapshot)).toBe('baking');
  expect(r.snapshot.context.wakeAt).toBe(T0 + 60_000);
  r = step(r.snapshot, { type: 'observe', now: T0 + 60_000, observation: obs, measurements: [] });
  expect(r.effects.map((e) => [e.action, e.groups])).toEqual([['promote', ['web']]]);
  s = step(r.snapshot, { type: 'effect.result', now: T0 + 60_001, key: r.effects[0]!.key, action: 'promote', groups: ['web'], outcome: 'ok' }).snapshot;
  expect(step(s, { type: 'observe', now: T0 + 61_000, observation: obs, measurements: [] }).effects).toEqual([]);
  expect(s.context.history.map((h) => [h.action, h.outcome])).toEqual([['promote', 'ok']]);
}

describe('snapshots of machine version 1', () => {
  test('in memory: migrated on read, the bake continues to one promote', async () => {
    const store = new MemorySnapshotStore();
    await store.put('d-1', v1MidBake);
    await continues(store);
    expect((await store.list()).map((x) => [x.machineVersion, x.value])).toEqual([[MACHINE_VERSION, 'active']]);
  });

  test('in Nomad Variables: a restarted promoter loads and migrates it, the bake continues to one promote', async () => {
    const nomad = new FakeNomad();
    await new NomadVariablesStore(nomad, { namespace: 'default' }).put('d-1', v1MidBake);
    const restarted = new NomadVariablesStore(nomad, { namespace: 'default' });
    expect(await restarted.load()).toBe(1);
    await continues(restarted);
  });

  test('a failed version-1 deployment whose rollback is still owed is rolling back', async () => {
    const store = new MemorySnapshotStore();
    const ctx = (v1MidBake as unknown as { context: Record<string, unknown> }).context;
    await store.put('d-1', { ...v1MidBake, value: 'failing', context: { ...ctx, done: { fail: 'ok' }, rollbackDue: { groups: ['web'], reason: 'rollback: revert' } } } as unknown as StoredSnapshot);
    const s = restoreDeployment((await store.get('d-1'))!);
    expect(stateOf(s)).toBe('rolling-back');
    const r = step(s, { type: 'observe', now: T0 + 1, observation: deployment(obs.groups, { status: 'failed' }), measurements: [] });
    expect(r.effects.map((e) => e.action)).toEqual(['revert']);
  });

  test('a snapshot of an unknown (newer) version is not read', async () => {
    const store = new MemorySnapshotStore();
    await store.put('d-1', { ...v1MidBake, machineVersion: MACHINE_VERSION + 1 });
    expect(await store.get('d-1')).toBeUndefined();
  });
});
