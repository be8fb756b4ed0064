import { describe, expect, test } from '@jest/globals';
import { persistDeployment, restoreDeployment, startDeployment, stateOf, step, type DeploymentSnapshot } from '../../src/machine/machine.js';
import type { EffectRequest, TaggedMeasurement } from '../../src/machine/plan.js';
import type { DeploymentObservation } from '../../src/machine/types.js';
import { alloc, check, deployment, group, policy } from '../support/builders.js';

const T0 = Date.parse('2026-11-27T10:00:00Z');
const start = () => startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 });

function observe(s: DeploymentSnapshot, obs: DeploymentObservation, now: number, measurements: TaggedMeasurement[] = []) {
  return step(s, { type: 'observe', now, observation: obs, measurements });
}

function acknowledge(s: DeploymentSnapshot, effect: EffectRequest, now: number, outcome: 'ok' | 'error' | 'dry_run' = 'ok') {
  return step(s, { type: 'effect.result', now, key: effect.key, action: effect.action, groups: effect.groups, outcome }).snapshot;
}

const healthyCanaries = () => [alloc('c1', true), alloc('c2', true)];

describe('canary promotion after bake', () => {
  const p = policy({ canary: { bakeMs: 60_000 } });

  test('waits while canaries are not all healthy', () => {
    const r = observe(start(), deployment([group('web', { policy: p, canaries: [alloc('c1', true), alloc('c2', null)] })]), T0);
    expect(r.effects).toEqual([]);
    expect(stateOf(r.snapshot)).toBe('waiting');
    expect(r.snapshot.context.pending).toEqual([{ action: 'wait', groups: ['web'], reason: '1/2 canaries healthy' }]);
  });

  test('bakes, then promotes exactly once after bake has passed since the promoter saw the last canary healthy', () => {
    const obs = deployment([group('web', { policy: p, canaries: [alloc('c1', true), alloc('c2', true)] })]);
    let r = observe(start(), obs, T0);
    expect(stateOf(r.snapshot)).toBe('baking');
    expect(r.effects).toEqual([]);
    expect(r.snapshot.context.wakeAt).toBe(T0 + 60_000);

    r = observe(r.snapshot, obs, T0 + 59_999);
    expect(r.effects).toEqual([]);

    r = observe(r.snapshot, obs, T0 + 60_000);
    expect(r.effects.map((e) => [e.action, e.groups])).toEqual([['promote', ['web']]]);
    expect(r.effects[0]!.decidableAt).toBe(T0 + 60_000);

    // Same observation before the result arrives (crash before saving): emitted again, never a different action.
    const again = observe(r.snapshot, obs, T0 + 60_500);
    expect(again.effects.map((e) => e.action)).toEqual(['promote']);

    const acked = acknowledge(r.snapshot, r.effects[0]!, T0 + 60_100);
    expect(stateOf(acked)).toBe('promoted');
    const after = observe(acked, obs, T0 + 61_000);
    expect(after.effects).toEqual([]);
    // No rollout analysis: nothing is left to decide.
    expect(stateOf(after.snapshot)).toBe('succeeded');
    expect(after.snapshot.context.history.map((h) => [h.action, h.outcome])).toEqual([['promote', 'ok']]);
  });

  test('uses the time it first saw the canaries healthy when Nomad reports a later (skewed) time', () => {
    const obs = deployment([group('web', { policy: p, canaries: healthyCanaries() })]);
    const r = observe(start(), obs, T0);
    expect(r.snapshot.context.groups['web']!.canariesHealthyAt).toBe(T0);
  });

  test('a canary turning unhealthy restarts the bake', () => {
    let r = observe(start(), deployment([group('web', { policy: p, canaries: healthyCanaries() })]), T0);
    r = observe(r.snapshot, deployment([group('web', { policy: p, canaries: [alloc('c1', true), alloc('c2', false)] })]), T0 + 30_000);
    expect(r.snapshot.context.groups['web']!.canariesHealthyAt).toBeUndefined();
    r = observe(r.snapshot, deployment([group('web', { policy: p, canaries: healthyCanaries() })]), T0 + 40_000);
    r = observe(r.snapshot, deployment([group('web', { policy: p, canaries: healthyCanaries() })]), T0 + 61_000);
    expect(r.effects).toEqual([]);
  });

  test('a canary replaced between two looks restarts the bake', () => {
    let r = observe(start(), deployment([group('web', { policy: p, canaries: healthyCanaries() })]), T0);
    const replaced = deployment([group('web', { policy: p, canaries: [alloc('c1', true), alloc('c3', true)] })]);
    r = observe(r.snapshot, replaced, T0 + 55_000);
    expect(r.snapshot.context.groups['web']!.canariesHealthyAt).toBe(T0 + 55_000);
    expect(observe(r.snapshot, replaced, T0 + 114_999).effects).toEqual([]);
    expect(observe(r.snapshot, replaced, T0 + 115_000).effects.map((e) => e.action)).toEqual(['promote']);
  });

  test('promote: manual never promotes', () => {
    const manual = policy({ canary: { bakeMs: 0, promote: 'manual' } });
    const r = observe(start(), deployment([group('web', { policy: manual, canaries: healthyCanaries() })]), T0 + 1);
    expect(r.effects).toEqual([]);
    expect(r.snapshot.context.pending[0]!.reason).toBe('canary.promote is manual');
  });

  test('an ungoverned group is never touched', () => {
    const r = observe(start(), deployment([group('web', { canaries: healthyCanaries() })]), T0 + 3_600_000);
    expect(r.effects).toEqual([]);
    expect(stateOf(r.snapshot)).toBe('ignored');
  });

  test('only governed groups are promoted, each in its own call', () => {
    const obs = deployment([
      group('api', { policy: policy({ canary: { bakeMs: 0 } }), canaries: [alloc('a1', true)] }),
      group('worker', { canaries: [alloc('w1', true)] }),
    ]);
    const r = observe(start(), obs, T0 + 1);
    expect(r.effects.map((e) => [e.action, e.groups])).toEqual([['promote', ['api']]]);
  });

  test('together: one call once every governed group is ready', () => {
    const t = policy({ canary: { bakeMs: 0, together: true } });
    const waitingOne = deployment([
      group('api', { policy: t, canaries: [alloc('a1', true)] }),
      group('web', { policy: t, canaries: [alloc('w1', null)] }),
    ]);
    let r = observe(start(), waitingOne, T0 + 1);
    expect(r.effects).toEqual([]);
    const ready = deployment([
      group('api', { policy: t, canaries: [alloc('a1', true)] }),
      group('web', { policy: t, canaries: [alloc('w1', true)] }),
    ]);
    r = observe(r.snapshot, ready, T0 + 2);
    expect(r.effects.map((e) => [e.action, e.groups])).toEqual([['promote', ['api', 'web']]]);
  });

  test('a terminal deployment ends the machine', () => {
    const r = observe(start(), deployment([group('web', { policy: p, canaries: healthyCanaries() })], { status: 'successful' }), T0);
    expect(stateOf(r.snapshot)).toBe('done');
    expect(r.snapshot.status).toBe('done');
  });

  test('a failed promote is emitted again on the next pass', () => {
    const obs = deployment([group('web', { policy: policy({ canary: { bakeMs: 0 } }), canaries: healthyCanaries() })]);
    const r = observe(start(), obs, T0 + 1);
    const failed = acknowledge(r.snapshot, r.effects[0]!, T0 + 2, 'error');
    expect(observe(failed, obs, T0 + 3).effects.map((e) => e.action)).toEqual(['promote']);
  });

  test('snapshots survive a JSON round trip (restart)', () => {
    const obs = deployment([group('web', { policy: p, canaries: healthyCanaries() })]);
    const r = observe(start(), obs, T0 + 1000);
    const stored = JSON.parse(JSON.stringify(persistDeployment(r.snapshot)));
    const restored = restoreDeployment(stored);
    expect(stateOf(restored)).toBe('baking');
    expect(observe(restored, obs, T0 + 60_999).effects).toEqual([]);
    expect(observe(restored, obs, T0 + 61_000).effects.map((e) => e.action)).toEqual(['promote']);
  });
});

describe('analysis', () => {
  const errorRate = check('error-rate', { count: 2, intervalMs: 10_000 });
  const p = policy({ checks: { 'error-rate': errorRate }, canary: { analysis: ['error-rate'], bakeMs: 0 } });
  const obs = deployment([group('web', { policy: p, canaries: healthyCanaries() })]);
  const m = (result: 'pass' | 'fail' | 'inconclusive' | 'error', at: number): TaggedMeasurement => ({
    group: 'web',
    stage: 'canary',
    measurement: { check: 'error-rate', result, at, ...(result === 'error' ? { message: 'connection refused' } : { value: 0.001, message: `${result} held` }) },
  });

  test('promotes only after every analysis check passed', () => {
    let r = observe(start(), obs, T0);
    expect(r.snapshot.context.pending[0]!.reason).toBe('analysis running: error-rate pending');
    r = observe(r.snapshot, obs, T0 + 1, [m('pass', T0 + 1)]);
    expect(r.effects).toEqual([]);
    r = observe(r.snapshot, obs, T0 + 10_001, [m('pass', T0 + 10_001)]);
    expect(r.effects.map((e) => e.action)).toEqual(['promote']);
    expect(r.effects[0]!.evidence.map((e) => e.result)).toEqual(['pass']);
  });

  test('a failed check fails the deployment with the policy rollback', () => {
    let r = observe(start(), obs, T0);
    r = observe(r.snapshot, obs, T0 + 1, [m('fail', T0 + 1)]);
    expect(r.effects.map((e) => [e.action, e.rollback])).toEqual([['fail', 'auto']]);
    expect(stateOf(r.snapshot)).toBe('failing');
  });

  test('errored holds: no promote, no fail', () => {
    let r = observe(start(), obs, T0);
    r = observe(r.snapshot, obs, T0 + 1, [m('error', T0 + 1), m('error', T0 + 2), m('error', T0 + 3)]);
    expect(r.effects).toEqual([]);
    expect(stateOf(r.snapshot)).toBe('holding');
    expect(r.snapshot.context.pending[0]).toEqual({ action: 'hold', groups: ['web'], reason: 'holding: error-rate errored' });
  });

  test('errored recovers: measuring resumes, the hold ends on the first non-error measurement and a good canary is promoted', () => {
    let r = observe(start(), obs, T0);
    r = observe(r.snapshot, obs, T0 + 1, [m('pass', T0 + 1)]);
    r = observe(r.snapshot, obs, T0 + 5, [m('error', T0 + 3), m('error', T0 + 4), m('error', T0 + 5)]);
    expect(stateOf(r.snapshot)).toBe('holding');
    expect(r.snapshot.context.history.map((h) => [h.action, h.reason])).toEqual([['check', 'canary check error-rate running -> errored: connection refused']]);
    r = observe(r.snapshot, obs, T0 + 60_000, [m('pass', T0 + 60_000)]);
    expect(r.effects.map((e) => e.action)).toEqual(['promote']);
    expect(r.snapshot.context.history.map((h) => [h.action, h.reason])).toEqual([
      ['check', 'canary check error-rate running -> errored: connection refused'],
      ['check', 'canary check error-rate errored -> passed: pass held'],
      ['promote', 'analysis passed (error-rate), baked 0s since all canaries healthy'],
    ]);
  });

  test('errored, then a bad measurement once the provider is back: failed once', () => {
    let r = observe(start(), obs, T0);
    r = observe(r.snapshot, obs, T0 + 5, [m('pass', T0 + 1), m('error', T0 + 3), m('error', T0 + 4), m('error', T0 + 5)]);
    expect(stateOf(r.snapshot)).toBe('holding');
    r = observe(r.snapshot, obs, T0 + 60_000, [m('fail', T0 + 60_000)]);
    expect(r.effects.map((e) => e.action)).toEqual(['fail']);
    const acked = acknowledge(r.snapshot, r.effects[0]!, T0 + 60_001);
    expect(observe(acked, obs, T0 + 61_000).effects).toEqual([]);
  });

  test('timeout with onTimeout fail', () => {
    const timed = policy({ checks: { 'error-rate': errorRate }, canary: { analysis: ['error-rate'], timeoutMs: 60_000, onTimeout: 'fail' } });
    const o = deployment([group('web', { policy: timed, canaries: healthyCanaries() })]);
    let r = observe(start(), o, T0);
    expect(r.snapshot.context.wakeAt).toBe(T0 + 60_000);
    r = observe(r.snapshot, o, T0 + 60_000);
    expect(r.effects.map((e) => e.action)).toEqual(['fail']);
  });

  test('dry-run decisions are reported once and never again', () => {
    const dry = deployment([group('web', { policy: policy({ canary: { bakeMs: 0 } }), canaries: healthyCanaries() })], { dryRun: true });
    const r = observe(start(), dry, T0 + 1);
    expect(r.effects.map((e) => [e.action, e.dryRun])).toEqual([['promote', true]]);
    const reported = acknowledge(r.snapshot, r.effects[0]!, T0 + 2, 'dry_run');
    expect(observe(reported, dry, T0 + 3).effects).toEqual([]);
  });
});

describe('rollout analysis', () => {
  const errorRate = check('error-rate', { count: 3 });
  const p = policy({ checks: { 'error-rate': errorRate }, rollout: { analysis: ['error-rate'] } });
  const rolling = deployment([group('web', { policy: p, desiredCanaries: 0, canaries: [], allocs: [alloc('a1', true)] })]);
  const m = (result: 'pass' | 'fail', at: number): TaggedMeasurement => ({ group: 'web', stage: 'rollout', measurement: { check: 'error-rate', result, at } });

  test('a rolling update without canaries is analysed in the background and failed on a failed check', () => {
    let r = observe(start(), rolling, T0);
    // Nothing was promoted: the group is in its rollout.
    expect(stateOf(r.snapshot)).toBe('rollout');
    expect(r.snapshot.context.groups['web']!.state).toBe('rollout');
    r = observe(r.snapshot, rolling, T0 + 1, [m('pass', T0 + 1)]);
    expect(r.effects).toEqual([]);
    r = observe(r.snapshot, rolling, T0 + 2, [m('fail', T0 + 2)]);
    expect(r.effects.map((e) => [e.action, e.reason])).toEqual([['fail', 'web: rollout analysis failed: error-rate failed']]);
  });

  test('after promotion, the rollout stage takes over from the canary stage', () => {
    const canaryPolicy = policy({ checks: { 'error-rate': errorRate }, canary: { bakeMs: 0 }, rollout: { analysis: ['error-rate'] } });
    const promoted = deployment([group('web', { policy: canaryPolicy, promoted: true, canaries: healthyCanaries() })]);
    const r = observe(start(), promoted, T0);
    expect(Object.keys(r.snapshot.context.groups['web']!.checks)).toEqual(['rollout:error-rate']);
  });
});

describe('manual health', () => {
  const healthz = check('healthz', { scope: 'allocation', count: 1, source: { kind: 'http', url: 'http://x', method: 'GET', headers: {}, body: '', timeoutMs: 1000 }, pass: 'response.status == 200' });
  const p = policy({ checks: { healthz }, health: { checks: ['healthz'] } });
  const g = group('web', { policy: p, healthCheck: 'manual', desiredCanaries: 0, canaries: [], allocs: [alloc('a1', null), alloc('a2', null)] });
  const obs = deployment([g]);
  const hm = (allocId: string, result: 'pass' | 'fail', at: number): TaggedMeasurement => ({ group: 'web', stage: 'health', measurement: { check: 'healthz', allocId, result, at } });

  test('passed allocations are marked healthy and failed ones unhealthy, in one batch', () => {
    let r = observe(start(), obs, T0);
    r = observe(r.snapshot, obs, T0 + 1, [hm('a1', 'pass', T0 + 1), hm('a2', 'fail', T0 + 1)]);
    expect(r.effects.map((e) => [e.action, e.healthy, e.unhealthy])).toEqual([['set_health', ['a1'], ['a2']]]);
    const acked = acknowledge(r.snapshot, r.effects[0]!, T0 + 2);
    expect(observe(acked, obs, T0 + 3).effects).toEqual([]);
  });
});
