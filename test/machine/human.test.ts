import { describe, expect, test } from '@jest/globals';
import { startDeployment, stateOf, step, type DeploymentSnapshot } from '../../src/machine/machine.js';
import type { TaggedMeasurement } from '../../src/machine/plan.js';
import type { HumanAction } from '../../src/machine/human.js';
import type { DeploymentObservation } from '../../src/machine/types.js';
import { alloc, check, deployment, group, policy } from '../support/builders.js';

const T0 = Date.parse('2026-11-27T10:00:00Z');
const errorRate = check('error-rate', { count: 2, intervalMs: 10_000 });
const p = policy({ checks: { 'error-rate': errorRate }, canary: { analysis: ['error-rate'], bakeMs: 60_000 }, onFailure: { rollback: 'revert' } });
const obs = deployment([group('web', { policy: p, canaries: [alloc('c1', true), alloc('c2', true)] })]);
const m = (result: 'pass' | 'inconclusive' | 'error', at: number): TaggedMeasurement => ({
  group: 'web',
  stage: 'canary',
  measurement: { check: 'error-rate', result, at, value: 0.02 },
});

function observe(s: DeploymentSnapshot, now: number, measurements: TaggedMeasurement[] = [], o: DeploymentObservation = obs) {
  return step(s, { type: 'observe', now, observation: o, measurements }).snapshot;
}
const human = (s: DeploymentSnapshot, action: HumanAction, now: number, o: DeploymentObservation = obs) =>
  step(s, { type: 'human', now, action, who: 'alice', reason: 'checked the dashboards', observation: o });

function held(): DeploymentSnapshot {
  const start = startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 });
  return observe(observe(start, T0), T0 + 1, [m('inconclusive', T0 + 1)]);
}

describe('people decide too', () => {
  test('promote during an inconclusive hold: one promote effect, recorded as human with who and why', () => {
    const s = held();
    expect(stateOf(s)).toBe('holding');
    const r = human(s, 'promote', T0 + 5);
    expect(r.effects.map((e) => [e.action, e.groups, e.source, e.who])).toEqual([['promote', ['web'], 'human', 'alice']]);
    expect(r.snapshot.context.history.at(-1)).toMatchObject({ action: 'promote', outcome: 'pending', source: 'human', who: 'alice', reason: 'checked the dashboards' });
    const acked = step(r.snapshot, { type: 'effect.result', now: T0 + 6, key: r.effects[0]!.key, action: 'promote', groups: ['web'], outcome: 'ok' }).snapshot;
    expect(stateOf(acked)).toBe('promoted');
    // Already promoted: asking again does not apply, and nothing is emitted.
    expect(human(acked, 'promote', T0 + 7).effects).toEqual([]);
  });

  test('a promote of a person that Nomad did not acknowledge is asked again, still as theirs', () => {
    const r = human(held(), 'promote', T0 + 5);
    const failed = step(r.snapshot, { type: 'effect.result', now: T0 + 6, key: r.effects[0]!.key, action: 'promote', groups: ['web'], outcome: 'error', message: 'No cluster leader' }).snapshot;
    expect(stateOf(failed)).toBe('promoting');
    const again = step(failed, { type: 'observe', now: T0 + 7, observation: obs, measurements: [] });
    expect(again.effects.map((e) => [e.action, e.source, e.who, e.reason])).toEqual([['promote', 'human', 'alice', 'checked the dashboards']]);
    expect(again.snapshot.context.history.at(-1)).toMatchObject({ action: 'promote', outcome: 'pending', source: 'human', who: 'alice' });
  });

  test('abort mid-bake fails with the policy rollback, under the same key as the policy fail', () => {
    const baking = observe(observe(startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 }), T0), T0 + 1, [m('pass', T0 + 1), m('pass', T0 + 2)]);
    expect(stateOf(baking)).toBe('baking');
    const r = human(baking, 'abort', T0 + 3);
    expect(r.effects.map((e) => [e.action, e.key, e.rollback])).toEqual([['abort', 'fail', 'revert']]);
    expect(stateOf(r.snapshot)).toBe('failing');
    const acked = step(r.snapshot, { type: 'effect.result', now: T0 + 4, key: 'fail', action: 'abort', groups: ['web'], outcome: 'ok' }).snapshot;
    // Once failed, no promote follows, whoever asks.
    expect(stateOf(acked)).toBe('failed');
    expect(Object.values(acked.context.groups).map((g) => g.state)).toEqual(['failed']);
    expect(human(acked, 'promote', T0 + 120_001).effects).toEqual([]);
  });

  test('retry restarts the held check: its measurements start afresh and the hold ends', () => {
    const r = human(held(), 'retry', T0 + 5);
    expect(r.effects).toEqual([]);
    expect(r.snapshot.context.groups['web']!.checks['canary:error-rate']).toBeUndefined();
    expect(r.snapshot.context.history.at(-1)).toMatchObject({ action: 'retry', outcome: 'ok', source: 'human' });
    const next = observe(r.snapshot, T0 + 6);
    expect(stateOf(next)).toBe('baking');
    expect(next.context.groups['web']!.checks['canary:error-rate']).toMatchObject({ startedAt: T0 + 6, measurements: [], phase: 'pending' });
  });

  test('actions that do not apply change nothing', () => {
    const s = held();
    const r = human(s, 'resume', T0 + 5);
    expect(r.effects).toEqual([]);
    expect(r.snapshot.context.history).toEqual(s.context.history);
    // Nomad's status as observed with the request counts, even before a pass has seen it.
    const pausedObs: DeploymentObservation = { ...obs, status: 'paused' };
    expect(human(s, 'pause', T0 + 7, pausedObs).effects).toEqual([]);
    expect(human(s, 'promote', T0 + 7, pausedObs).effects).toEqual([]);
    expect(human(s, 'resume', T0 + 7, pausedObs).effects.map((e) => [e.action, e.source])).toEqual([['resume', 'human']]);
    expect(human(s, 'abort', T0 + 7, { ...obs, status: 'successful' }).effects).toEqual([]);
  });
});
