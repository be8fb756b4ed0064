/** The decision core on the edges: timeouts, several groups, modes, Nomad's own moves. */
import { describe, expect, test } from '@jest/globals';
import { startDeployment, stateOf, step, type DeploymentSnapshot } from '../../src/machine/machine.js';
import type { EffectRequest, TaggedMeasurement } from '../../src/machine/plan.js';
import type { DeploymentObservation } from '../../src/machine/types.js';
import { alloc, check, deployment, group, policy } from '../support/builders.js';

const T0 = Date.parse('2026-11-27T10:00:00Z');
const start = () => startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 });
const observe = (s: DeploymentSnapshot, obs: DeploymentObservation, now: number, measurements: TaggedMeasurement[] = []) =>
  step(s, { type: 'observe', now, observation: obs, measurements });
const ack = (s: DeploymentSnapshot, e: EffectRequest, now: number, extra: Record<string, unknown> = {}) =>
  step(s, { type: 'effect.result', now, key: e.key, action: e.action, groups: e.groups, outcome: e.dryRun ? 'dry_run' : 'ok', ...extra }).snapshot;
const healthy = (prefix: string) => [alloc(`${prefix}1`, true), alloc(`${prefix}2`, true)];
const m = (groupName: string, checkName: string, result: 'pass' | 'fail' | 'error' | 'inconclusive', at: number, stage: 'canary' | 'rollout' | 'health' = 'canary', allocId?: string): TaggedMeasurement => ({
  group: groupName,
  stage,
  measurement: { check: checkName, result, at, ...(allocId ? { allocId } : {}) },
});

describe('canary timeout', () => {
  test('onTimeout wait: after the timeout no deadline in the past is asked for (no busy requeue)', () => {
    const p = policy({ canary: { bakeMs: 3_600_000, timeoutMs: 2000, onTimeout: 'wait' } });
    const obs = deployment([group('web', { policy: p, canaries: healthy('c') })]);
    let r = observe(start(), obs, T0);
    expect(r.snapshot.context.wakeAt).toBe(T0 + 2000);
    r = observe(r.snapshot, obs, T0 + 5000);
    expect(r.snapshot.context.wakeAt).toBe(T0 + 3_600_000);
    expect(r.effects).toEqual([]);
  });

  test('onTimeout promote never promotes through an errored or inconclusive check, nor a manual policy', () => {
    const errorRate = check('error-rate', { consecutiveErrorLimit: 0 });
    const p = policy({ checks: { 'error-rate': errorRate }, canary: { analysis: ['error-rate'], bakeMs: 0, timeoutMs: 1000, onTimeout: 'promote' } });
    const obs = deployment([group('web', { policy: p, canaries: healthy('c') })]);
    let r = observe(start(), obs, T0);
    r = observe(r.snapshot, obs, T0 + 10, [m('web', 'error-rate', 'error', T0 + 10)]);
    r = observe(r.snapshot, obs, T0 + 5000);
    expect(r.effects).toEqual([]);
    expect(stateOf(r.snapshot)).toBe('holding');

    const manual = policy({ canary: { bakeMs: 0, timeoutMs: 1000, onTimeout: 'promote', promote: 'manual' } });
    const o2 = deployment([group('web', { policy: manual, canaries: healthy('c') })]);
    expect(observe(observe(start(), o2, T0).snapshot, o2, T0 + 5000).effects).toEqual([]);
  });

  test('time spent paused does not count toward the timeout, and nothing is promoted while paused', () => {
    const p = policy({ canary: { bakeMs: 0, timeoutMs: 10_000, onTimeout: 'fail', promote: 'manual' } });
    const running = deployment([group('web', { policy: p, canaries: healthy('c') })]);
    const paused = deployment([group('web', { policy: p, canaries: healthy('c') })], { status: 'paused' });
    let r = observe(start(), running, T0);
    r = observe(r.snapshot, paused, T0 + 5000);
    expect(stateOf(r.snapshot)).toBe('holding');
    r = observe(r.snapshot, paused, T0 + 60_000);
    expect(r.effects).toEqual([]);
    // Paused from 5 s to 62 s: the 10 s timeout ends at 67 s instead of 10 s.
    r = observe(r.snapshot, running, T0 + 62_000);
    expect(r.effects).toEqual([]);
    expect(r.snapshot.context.wakeAt).toBe(T0 + 67_000);
    r = observe(r.snapshot, running, T0 + 67_000);
    expect(r.effects.map((e) => e.action)).toEqual(['fail']);

    const auto = deployment([group('web', { policy: policy({ canary: { bakeMs: 0 } }), canaries: healthy('c') })], { status: 'paused' });
    expect(observe(start(), auto, T0 + 1).effects).toEqual([]);
  });
});

describe('paused in Nomad', () => {
  test('nothing is decided automatically: a failed check does not fail a paused deployment until it resumes', () => {
    const errorRate = check('error-rate', { count: 2 });
    const p = policy({ checks: { 'error-rate': errorRate }, canary: { analysis: ['error-rate'], bakeMs: 0 } });
    const running = deployment([group('web', { policy: p, canaries: healthy('c') })]);
    const paused = deployment(running.groups, { status: 'paused' });
    let r = observe(start(), running, T0);
    r = observe(r.snapshot, paused, T0 + 1, [m('web', 'error-rate', 'fail', T0 + 1)]);
    expect(r.snapshot.context.groups['web']!.checks['canary:error-rate']!.phase).toBe('failed');
    expect(r.effects).toEqual([]);
    expect(stateOf(r.snapshot)).toBe('holding');
    expect(r.snapshot.context.pending).toEqual([{ action: 'hold', groups: ['web'], reason: 'deployment is paused in Nomad' }]);
    r = observe(r.snapshot, running, T0 + 2);
    expect(r.effects.map((e) => e.action)).toEqual(['fail']);
  });
});

describe('several groups', () => {
  const errorRate = check('error-rate', { count: 2, consecutiveErrorLimit: 5 });
  const p = policy({ checks: { 'error-rate': errorRate }, canary: { analysis: ['error-rate'], bakeMs: 0 } });

  test("one group's measurements never count for another", () => {
    const obs = deployment([group('api', { policy: p, canaries: healthy('a') }), group('web', { policy: p, canaries: healthy('w') })]);
    let r = observe(start(), obs, T0);
    r = observe(r.snapshot, obs, T0 + 1, [m('api', 'error-rate', 'error', T0 + 1), m('web', 'error-rate', 'pass', T0 + 1)]);
    r = observe(r.snapshot, obs, T0 + 2, [m('api', 'error-rate', 'error', T0 + 2), m('web', 'error-rate', 'pass', T0 + 2)]);
    expect(r.effects.map((e) => [e.action, e.groups])).toEqual([['promote', ['web']]]);
    expect(r.snapshot.context.groups['api']!.checks['canary:error-rate']!.measurements.map((x) => x.result)).toEqual(['error', 'error']);
  });

  test('a dry-run group does not stop an enforced group from being failed for real', () => {
    const dry = policy({ name: 'dry', mode: 'dry-run', checks: { 'error-rate': errorRate }, canary: { analysis: ['error-rate'], bakeMs: 0 } });
    const obs = deployment([group('api', { policy: dry, canaries: healthy('a') }), group('web', { policy: p, canaries: healthy('w') })]);
    let r = observe(start(), obs, T0);
    r = observe(r.snapshot, obs, T0 + 1, [m('api', 'error-rate', 'fail', T0 + 1)]);
    expect(r.effects.map((e) => [e.action, e.groups, e.dryRun])).toEqual([['fail', ['api'], true]]);
    let s = ack(r.snapshot, r.effects[0]!, T0 + 1);
    r = observe(s, obs, T0 + 2, [m('web', 'error-rate', 'fail', T0 + 2)]);
    expect(r.effects.map((e) => [e.action, e.groups, e.dryRun])).toEqual([['fail', ['web'], false]]);
    s = ack(r.snapshot, r.effects[0]!, T0 + 2);
    expect(observe(s, obs, T0 + 3).effects).toEqual([]);
  });

  test('a policy reloaded from dry-run to enforce acts for real after the dry-run report', () => {
    const dry = policy({ mode: 'dry-run', canary: { bakeMs: 0 } });
    const enforce = policy({ canary: { bakeMs: 0 } });
    let r = observe(start(), deployment([group('web', { policy: dry, canaries: healthy('c') })]), T0);
    expect(r.effects.map((e) => [e.action, e.dryRun])).toEqual([['promote', true]]);
    const s = ack(r.snapshot, r.effects[0]!, T0);
    r = observe(s, deployment([group('web', { policy: enforce, canaries: healthy('c') })]), T0 + 1);
    expect(r.effects.map((e) => [e.action, e.dryRun])).toEqual([['promote', false]]);
  });
});

describe("Nomad's own moves", () => {
  const errorRate = check('error-rate', { count: 2 });
  const p = policy({ checks: { 'error-rate': errorRate }, canary: { analysis: ['error-rate'], bakeMs: 0 } });

  test('with Nomad auto_promote, the canary analysis runs to its end and a failure still fails', () => {
    const promotedByNomad = deployment([group('web', { policy: p, autoPromote: true, promoted: true, canaries: healthy('c') })]);
    let r = observe(start(), promotedByNomad, T0);
    expect(Object.keys(r.snapshot.context.groups['web']!.checks)).toContain('canary:error-rate');
    r = observe(r.snapshot, promotedByNomad, T0 + 1, [m('web', 'error-rate', 'fail', T0 + 1)]);
    expect(r.effects.map((e) => e.action)).toEqual(['fail']);
    expect(r.snapshot.context.warnings[0]).toMatch(/auto_promote/);
  });

  test("a replaced canary does not inherit the old canary's passed analysis", () => {
    const obs = deployment([group('web', { policy: policy({ checks: { 'error-rate': errorRate }, canary: { analysis: ['error-rate'], bakeMs: 3_600_000 } }), canaries: healthy('c') })]);
    let r = observe(start(), obs, T0);
    r = observe(r.snapshot, obs, T0 + 1, [m('web', 'error-rate', 'pass', T0 + 1)]);
    r = observe(r.snapshot, obs, T0 + 2, [m('web', 'error-rate', 'pass', T0 + 2)]);
    expect(r.snapshot.context.groups['web']!.checks['canary:error-rate']!.phase).toBe('passed');
    const replaced = deployment([group('web', { policy: obs.groups[0]!.policy!, canaries: [alloc('c1', true), alloc('c3', true)] })]);
    r = observe(r.snapshot, replaced, T0 + 20);
    expect(r.snapshot.context.groups['web']!.checks['canary:error-rate']!.phase).toBe('pending');
  });

  test('a canary that crashed and was replaced (seen in between) also starts its analysis over', () => {
    const pol = policy({ checks: { 'error-rate': errorRate }, canary: { analysis: ['error-rate'], bakeMs: 3_600_000 } });
    let r = observe(start(), deployment([group('web', { policy: pol, canaries: healthy('c') })]), T0);
    r = observe(r.snapshot, deployment([group('web', { policy: pol, canaries: healthy('c') })]), T0 + 2, [m('web', 'error-rate', 'pass', T0 + 1), m('web', 'error-rate', 'pass', T0 + 2)]);
    expect(r.snapshot.context.groups['web']!.checks['canary:error-rate']!.phase).toBe('passed');
    r = observe(r.snapshot, deployment([group('web', { policy: pol, canaries: [alloc('c1', false), alloc('c2', true)] })]), T0 + 10);
    r = observe(r.snapshot, deployment([group('web', { policy: pol, canaries: [alloc('c2', true), alloc('c3', true)] })]), T0 + 30);
    expect(r.snapshot.context.groups['web']!.checks['canary:error-rate']!.phase).toBe('pending');
    expect(r.snapshot.context.groups['web']!.canariesHealthyAt).toBe(T0 + 30);
  });

  test('a rollback still owed after the deployment failed is retried as a revert; the machine waits for it', () => {
    const timeout = policy({ canary: { bakeMs: 3_600_000, timeoutMs: 1000 }, onFailure: { rollback: 'revert' } });
    const obs = deployment([group('web', { policy: timeout, canaries: healthy('c') })]);
    let r = observe(start(), obs, T0);
    r = observe(r.snapshot, obs, T0 + 1000);
    const fail = r.effects[0]!;
    let s = ack(r.snapshot, fail, T0 + 1000, { rollbackDue: { groups: ['web'], reason: 'rollback: revert' } });
    const failed = deployment(obs.groups, { status: 'failed', statusDescription: 'Deployment marked as failed' });
    r = observe(s, failed, T0 + 2000);
    expect(r.effects.map((e) => e.action)).toEqual(['revert']);
    expect(stateOf(r.snapshot)).toBe('rolling-back');
    s = ack(r.snapshot, r.effects[0]!, T0 + 2001);
    expect(stateOf(s)).toBe('failed');
    expect(s.status).toBe('done');
    expect(s.context.rollbackDue).toBeUndefined();
  });
});

describe('manual health', () => {
  test('allocations not running yet are not in scope', () => {
    const healthz = check('healthz', { scope: 'allocation', count: 1 });
    const p = policy({ checks: { healthz }, health: { checks: ['healthz'] } });
    const obs = deployment([group('web', { policy: p, healthCheck: 'manual', desiredCanaries: 0, canaries: [], allocs: [alloc('a1', null), { id: 'a2', healthy: null, running: false }] })]);
    let r = observe(start(), obs, T0);
    r = observe(r.snapshot, obs, T0 + 1, [m('web', 'healthz', 'pass', T0 + 1, 'health', 'a1')]);
    expect(r.effects.map((e) => [e.action, e.healthy, e.unhealthy, e.groups])).toEqual([['set_health', ['a1'], [], ['web']]]);
    expect(r.snapshot.context.groups['web']!.checks['health:healthz']!.allocStartedAt).toEqual({ a1: T0 });
  });
});
