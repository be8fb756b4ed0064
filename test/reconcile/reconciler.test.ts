import { describe, expect, test } from '@jest/globals';
import { pino } from 'pino';
import type { Policy } from '../../src/domain/policy.js';
import { selectPolicy } from '../../src/policy/select.js';
import { EffectRunner } from '../../src/reconcile/effects.js';
import { JobSpecCache } from '../../src/reconcile/job-specs.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { Recorder } from '../../src/server/metrics.js';
import { MemorySnapshotStore } from '../../src/store/memory.js';
import type { SnapshotStore } from '../../src/store/store.js';
import { ClusterCache } from '../../src/watch/cache.js';
import { NomadError } from '../../src/nomad/errors.js';
import { policy } from '../support/builders.js';
import { canaryDeployment, FakeNomad, jobVersion, stub } from '../support/fake-nomad.js';

const T0 = Date.parse('2026-11-27T10:00:00Z');

interface World {
  nomad: FakeNomad;
  cache: ClusterCache;
  store: SnapshotStore;
  recorder: Recorder;
  clock: { now: number };
  /** The watch catching up: the cache sees Nomad's current state. */
  sync: () => void;
  reconciler: (opts?: { dryRun?: boolean; store?: SnapshotStore; lines?: string[] }) => Reconciler;
}

function world(policies: Policy[], opts: { autoRevert?: boolean } = {}): World {
  const nomad = new FakeNomad();
  const d = canaryDeployment();
  d.TaskGroups['web']!.AutoRevert = opts.autoRevert ?? false;
  nomad.deployments.set(d.ID, d);
  nomad.allocs = [stub('c1', true, new Date(T0).toISOString()), stub('c2', true, new Date(T0).toISOString())];
  nomad.versions.set('web-api', [jobVersion(1, false), jobVersion(0, true)]);
  const cache = new ClusterCache();
  const store = new MemorySnapshotStore();
  const recorder = new Recorder('test', { defaultMetrics: false });
  const clock = { now: T0 };
  const sync = () => {
    cache.replaceDeployments([...nomad.deployments.values()].map((x) => structuredClone(x)));
    cache.replaceAllocations(nomad.allocs);
  };
  sync();
  return {
    nomad,
    cache,
    store,
    recorder,
    clock,
    sync,
    reconciler: (o = {}) =>
      new Reconciler({
        cache,
        jobs: new JobSpecCache(nomad),
        select: (t) => selectPolicy(policies, t),
        store: o.store ?? store,
        effects: new EffectRunner(nomad, () => clock.now),
        recorder,
        logger: o.lines ? pino({ level: 'info' }, { write: (line: string) => void o.lines!.push(line) }) : pino({ level: 'silent' }),
        now: () => clock.now,
        dryRun: o.dryRun ?? false,
      }),
  };
}

describe('Reconciler', () => {
  const bake = policy({ canary: { bakeMs: 30_000 } });

  test('requeues at the end of the bake, then promotes exactly once', async () => {
    const w = world([bake]);
    const r = w.reconciler();
    expect(await r.reconcile('d-1')).toEqual({ retry: false, requeueAfterMs: 30_000 });
    expect(w.nomad.writes()).toEqual([]);
    w.clock.now = T0 + 30_000;
    await r.reconcile('d-1');
    expect(w.nomad.writes()).toEqual([{ method: 'promote', args: ['d-1', ['web']] }]);
    await r.reconcile('d-1');
    expect(w.nomad.writes()).toHaveLength(1);
    const metrics = await w.recorder.metrics();
    expect(metrics).toContain('nomad_promoter_decisions_total{nomad_namespace="default",nomad_job="web-api",task_group="web",action="promote",outcome="ok",source="policy"} 1');
  });

  test('state changes are logged with the names status and metrics use', async () => {
    const w = world([bake]);
    const lines: string[] = [];
    const r = w.reconciler({ lines });
    await r.reconcile('d-1');
    w.clock.now = T0 + 30_000;
    await r.reconcile('d-1');
    const changes = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.msg).includes('state changed'));
    expect(changes.map(({ msg, group, from, state }) => ({ msg, group, from, state }))).toEqual([
      { msg: 'state changed', group: undefined, from: 'waiting', state: 'baking' },
      { msg: 'group state changed', group: 'web', from: undefined, state: 'baking' },
      { msg: 'state changed', group: undefined, from: 'baking', state: 'promoted' },
      { msg: 'group state changed', group: 'web', from: 'baking', state: 'promoted' },
    ]);
  });

  test('a Nomad client clock 1 h behind does not shorten the bake: it runs from the promoter’s first sight', async () => {
    const w = world([bake]);
    const anHourAgo = new Date(T0 - 3_600_000).toISOString();
    w.nomad.allocs = [stub('c1', true, anHourAgo), stub('c2', true, anHourAgo)];
    w.sync();
    const r = w.reconciler();
    expect(await r.reconcile('d-1')).toEqual({ retry: false, requeueAfterMs: 30_000 });
    w.clock.now = T0 + 29_999;
    await r.reconcile('d-1');
    expect(w.nomad.writes()).toEqual([]);
    w.clock.now = T0 + 30_000;
    await r.reconcile('d-1');
    expect(w.nomad.writes()).toEqual([{ method: 'promote', args: ['d-1', ['web']] }]);
  });

  test('a crash between promote and saving the snapshot does not promote twice', async () => {
    const w = world([bake]);
    await w.reconciler().reconcile('d-1'); // the promoter first sees the canaries healthy at T0
    w.clock.now = T0 + 30_000;
    // A crash before saving: what the promoting pass decided is never stored.
    const forgetful: SnapshotStore = { get: (id) => w.store.get(id), put: async () => undefined, delete: async () => undefined, list: async () => [] };
    await w.reconciler({ store: forgetful }).reconcile('d-1');
    // The restarted daemon has the snapshot from before the promotion and a cache that has not seen it yet.
    await w.reconciler().reconcile('d-1');
    expect(w.nomad.writes().filter((c) => c.method === 'promote')).toHaveLength(1);
  });

  test('never touches an ungoverned job', async () => {
    const w = world([policy({ match: { namespaces: ['*'], jobs: ['other-*'], groups: ['*'], meta: {} } })]);
    w.clock.now = T0 + 3_600_000;
    await w.reconciler().reconcile('d-1');
    expect(w.nomad.writes()).toEqual([]);
  });

  test('the job Meta pin "none" opts out', async () => {
    const w = world([bake]);
    w.nomad.versions.set('web-api', [jobVersion(1, false, { 'nomad-promoter.policy': 'none' })]);
    w.clock.now = T0 + 3_600_000;
    await w.reconciler().reconcile('d-1');
    expect(w.nomad.writes()).toEqual([]);
  });

  test('a transient error asks for a retry with backoff, and the retry promotes', async () => {
    const w = world([bake]);
    await w.reconciler().reconcile('d-1'); // the promoter first sees the canaries healthy at T0
    w.clock.now = T0 + 30_000;
    w.nomad.failures.set('promote', [new NomadError({ status: 500, method: 'POST', route: '/v1/deployment/promote/:id', text: 'No cluster leader' })]);
    const r = w.reconciler();
    expect((await r.reconcile('d-1')).retry).toBe(true);
    await r.reconcile('d-1');
    expect(w.nomad.writes().map((c) => c.method)).toEqual(['promote', 'promote']);
    expect(w.nomad.deployments.get('d-1')!.TaskGroups['web']!.Promoted).toBe(true);
  });

  test('a final error on an effect (403) is retried with backoff too, not left for the resync', async () => {
    const w = world([bake]);
    await w.reconciler().reconcile('d-1'); // the promoter first sees the canaries healthy at T0
    w.clock.now = T0 + 30_000;
    w.nomad.failures.set('promote', [new NomadError({ status: 403, method: 'POST', route: '/v1/deployment/promote/:id', text: 'Permission denied' })]);
    const r = w.reconciler();
    expect((await r.reconcile('d-1')).retry).toBe(true);
    expect((await r.reconcile('d-1')).retry).toBe(false);
    expect(w.nomad.deployments.get('d-1')!.TaskGroups['web']!.Promoted).toBe(true);
  });

  test('dry-run writes nothing and reports the decision once', async () => {
    const w = world([bake]);
    await w.reconciler().reconcile('d-1'); // the promoter first sees the canaries healthy at T0
    w.clock.now = T0 + 30_000;
    const r = w.reconciler({ dryRun: true });
    await r.reconcile('d-1');
    await r.reconcile('d-1');
    expect(w.nomad.calls.filter((c) => c.method !== 'jobVersions' && c.method !== 'readJob')).toEqual([]);
    const stored = await w.store.get('d-1');
    expect(stored!.context.history.map((h) => [h.action, h.outcome])).toEqual([['promote', 'dry_run']]);
    expect(await w.recorder.metrics()).toContain('action="promote",outcome="dry_run",source="policy"} 1');
  });

  test('a timed-out canary is failed and, without Nomad auto_revert, reverted to the last stable version', async () => {
    const timeout = policy({ canary: { bakeMs: 3_600_000, timeoutMs: 60_000, onTimeout: 'fail' } });
    const w = world([timeout]);
    await w.reconciler().reconcile('d-1'); // the promoter first sees the canaries healthy at T0
    w.clock.now = T0 + 60_000;
    await w.reconciler().reconcile('d-1');
    expect(w.nomad.writes()).toEqual([
      { method: 'fail', args: ['d-1'] },
      { method: 'revertJob', args: ['web-api', 'default', 0, 1] },
    ]);
    const history = (await w.store.get('d-1'))!.context.history;
    expect(history.map((h) => [h.action, h.outcome])).toEqual([['fail', 'ok'], ['revert', 'ok']]);
  });

  test('rollback auto with Nomad auto_revert: no explicit revert', async () => {
    const timeout = policy({ canary: { bakeMs: 3_600_000, timeoutMs: 60_000, onTimeout: 'fail' } });
    const w = world([timeout], { autoRevert: true });
    w.nomad.revertedJobVersion = 0;
    await w.reconciler().reconcile('d-1'); // the promoter first sees the canaries healthy at T0
    w.clock.now = T0 + 60_000;
    await w.reconciler().reconcile('d-1');
    expect(w.nomad.writes()).toEqual([{ method: 'fail', args: ['d-1'] }]);
  });

  test('a promote whose answer was lost is confirmed by reading Nomad, not sent again', async () => {
    const w = world([bake]);
    await w.reconciler().reconcile('d-1'); // the promoter first sees the canaries healthy at T0
    w.clock.now = T0 + 30_000;
    w.nomad.lostAnswers.add('promote');
    const r = w.reconciler();
    expect((await r.reconcile('d-1')).retry).toBe(false);
    await r.reconcile('d-1');
    expect(w.nomad.writes().map((c) => c.method)).toEqual(['promote']);
    expect((await w.store.get('d-1'))!.context.history.map((h) => [h.action, h.outcome])).toEqual([['promote', 'ok']]);
  });

  test('a fail whose answer was lost still leads to the rollback the policy asks for', async () => {
    const timeout = policy({ canary: { bakeMs: 3_600_000, timeoutMs: 60_000, onTimeout: 'fail' } });
    const w = world([timeout]);
    w.nomad.lostAnswers.add('fail');
    await w.reconciler().reconcile('d-1'); // the promoter first sees the canaries healthy at T0
    w.clock.now = T0 + 60_000;
    await w.reconciler().reconcile('d-1');
    expect(w.nomad.writes().map((c) => c.method)).toEqual(['fail', 'revertJob']);
    const history = (await w.store.get('d-1'))!.context.history;
    expect(history.map((h) => [h.action, h.outcome])).toEqual([['fail', 'ok'], ['revert', 'ok']]);
  });

  test('a revert that hits a transient error is owed and retried until it lands, after the deployment failed', async () => {
    const timeout = policy({ canary: { bakeMs: 3_600_000, timeoutMs: 60_000, onTimeout: 'fail' }, onFailure: { rollback: 'revert' } });
    const w = world([timeout]);
    w.nomad.failures.set('revertJob', [new NomadError({ status: 500, method: 'POST', route: '/v1/job/:id/revert', text: 'No cluster leader' })]);
    await w.reconciler().reconcile('d-1'); // the promoter first sees the canaries healthy at T0
    w.clock.now = T0 + 60_000;
    const r = w.reconciler();
    expect((await r.reconcile('d-1')).retry).toBe(true);
    w.sync();
    await r.reconcile('d-1');
    expect(w.nomad.writes().map((c) => c.method)).toEqual(['fail', 'revertJob', 'revertJob']);
    const stored = (await w.store.get('d-1'))!;
    expect(stored.context.history.map((h) => [h.action, h.outcome])).toEqual([['fail', 'ok'], ['revert', 'error'], ['revert', 'ok']]);
    expect(stored.value).toBe('failed');
  });

  test('a deployment that vanished from Nomad is forgotten', async () => {
    const w = world([bake]);
    await w.reconciler().reconcile('d-1');
    expect(await w.store.get('d-1')).toBeDefined();
    w.cache.replaceDeployments([]);
    await w.reconciler().reconcile('d-1');
    expect(await w.store.get('d-1')).toBeUndefined();
  });
});

describe('Reconciler: people decide too', () => {
  const bake = policy({ canary: { bakeMs: 30_000 } });

  test('a promote that arrives while a pass promotes is carried out once: actions and passes take turns', async () => {
    const w = world([bake]);
    const r = w.reconciler();
    await r.reconcile('d-1');
    w.clock.now = T0 + 30_000;
    const [, answer] = await Promise.all([r.reconcile('d-1'), r.act('d-1', { action: 'promote', who: 'alice' })]);
    expect(w.nomad.writes()).toEqual([{ method: 'promote', args: ['d-1', ['web']] }]);
    expect(answer).toEqual({ status: 'refused', reason: 'no canary group left to promote' });
  });

  test('an action that does not apply leaves the stored state as it was; an unknown deployment is unknown', async () => {
    const w = world([bake]);
    const r = w.reconciler();
    await r.reconcile('d-1');
    const before = await w.store.get('d-1');
    expect(await r.act('d-1', { action: 'resume', who: 'alice' })).toEqual({ status: 'refused', reason: 'the deployment is not paused' });
    expect(await r.act('d-1', { action: 'promote', group: 'api', who: 'alice' })).toEqual({ status: 'refused', reason: 'group "api" is not governed in this deployment (governed: web)' });
    expect(await w.store.get('d-1')).toEqual(before);
    expect(await r.act('d-2', { action: 'promote', who: 'alice' })).toEqual({ status: 'unknown', reason: 'deployment not tracked' });
    expect(w.nomad.writes()).toEqual([]);
  });

  test('a human promote is counted with source human', async () => {
    const w = world([bake]);
    const r = w.reconciler();
    await r.reconcile('d-1');
    const answer = await r.act('d-1', { action: 'promote', who: 'alice', reason: 'hotfix' });
    expect(answer).toMatchObject({ status: 'accepted', record: { action: 'promote', outcome: 'ok', source: 'human', who: 'alice', reason: 'hotfix' } });
    expect(w.nomad.writes()).toEqual([{ method: 'promote', args: ['d-1', ['web']] }]);
    expect(await w.recorder.metrics()).toContain('action="promote",outcome="ok",source="human"} 1');
  });
});
