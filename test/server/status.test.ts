import { describe, expect, test } from '@jest/globals';
import { persistDeployment, startDeployment, step } from '../../src/machine/machine.js';
import { detailView, statusView, type ViewSources } from '../../src/server/status.js';
import { alloc, check, deployment, group, policy } from '../support/builders.js';

const T0 = Date.parse('2026-11-27T10:00:00Z');

describe('status view', () => {
  test('a hold names its cause: the held check, its last result, value and the provider message', () => {
    const p = policy({ checks: { 'error-rate': check('error-rate', { consecutiveErrorLimit: 0 }) }, canary: { analysis: ['error-rate'] } });
    const obs = deployment([group('web', { policy: p, canaries: [alloc('c1', true)] })]);
    let s = startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 });
    s = step(s, { type: 'observe', now: T0, observation: obs, measurements: [] }).snapshot;
    const measurement = { check: 'error-rate', result: 'error' as const, at: T0 + 1, message: 'prometheus: connect ECONNREFUSED 127.0.0.1:9090' };
    s = step(s, { type: 'observe', now: T0 + 1, observation: obs, measurements: [{ group: 'web', stage: 'canary', measurement }] }).snapshot;
    const view = statusView(persistDeployment(s));
    expect(view.state).toBe('holding');
    expect(view.pending).toEqual([
      {
        action: 'hold',
        groups: ['web'],
        reason: 'holding: error-rate errored',
        causes: [{ group: 'web', stage: 'canary', check: 'error-rate', state: 'errored', lastResult: 'error', lastMessage: 'prometheus: connect ECONNREFUSED 127.0.0.1:9090' }],
      },
    ]);
    expect(view.groups['web']).toMatchObject({ state: 'holding', hold: 'errored' });
    expect(view.groups['web']!.checks[0]).toMatchObject({ lastMessage: 'prometheus: connect ECONNREFUSED 127.0.0.1:9090' });
  });

  test('a running deadline shows as nextAt: the end of the bake', () => {
    const obs = deployment([group('web', { policy: policy({ canary: { bakeMs: 60_000 } }), canaries: [alloc('c1', true)] })]);
    const s = step(startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 }), { type: 'observe', now: T0, observation: obs, measurements: [] }).snapshot;
    expect(statusView(persistDeployment(s))).toMatchObject({ state: 'baking', nextAt: '2026-11-27T10:01:00.000Z' });
  });

  test('an active deployment shows its least advanced group; each group shows its own state', () => {
    const p = policy({ canary: { bakeMs: 60_000 } });
    const obs = deployment([group('api', { policy: p, canaries: [alloc('a1', true)] }), group('web', { policy: p, canaries: [alloc('w1', null)] }), group('worker', { policy: p, desiredCanaries: 0, canaries: [], allocs: [alloc('k1', true)] })]);
    const s = step(startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 }), { type: 'observe', now: T0, observation: obs, measurements: [] }).snapshot;
    const view = statusView(persistDeployment(s));
    expect(view.state).toBe('waiting');
    expect(Object.fromEntries(Object.entries(view.groups).map(([name, g]) => [name, g.state]))).toEqual({ api: 'baking', web: 'waiting', worker: 'rollout' });
  });

  test('with the daemon\'s sources: canaries healthy x/y, bake end, timeout, and the thresholds of simple expressions', () => {
    const errorRate = check('error-rate', { pass: 'result < 0.01', fail: '0.05 <= result' });
    const p = policy({ checks: { 'error-rate': errorRate, odd: check('odd', { pass: 'result < 0.01 && result > 0' }) }, canary: { analysis: ['error-rate', 'odd'], bakeMs: 60_000, timeoutMs: 600_000 } });
    const obs = deployment([group('web', { policy: p, canaries: [alloc('c1', true)] })]);
    let s = startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 });
    s = step(s, { type: 'observe', now: T0, observation: obs, measurements: [] }).snapshot;
    const measurement = { check: 'error-rate', result: 'pass' as const, value: 0.002, at: T0 + 1000 };
    s = step(s, { type: 'observe', now: T0 + 1000, observation: obs, measurements: [{ group: 'web', stage: 'canary', measurement }] }).snapshot;
    const sources: ViewSources = { policy: (name) => (name === p.name ? p : undefined), canaries: () => ({ healthy: 1, desired: 2 }), createdAt: () => T0 - 5000, now: () => T0 + 2000 };
    const view = detailView(persistDeployment(s), sources);
    expect(view.createdAt).toBe('2026-11-27T09:59:55.000Z');
    expect(view.groups['web']).toMatchObject({ canaries: { healthy: 1, desired: 2 }, bakeEndsAt: '2026-11-27T10:01:00.000Z', timeoutAt: '2026-11-27T10:10:00.000Z' });
    const [rate, odd] = view.groups['web']!.checks;
    expect(rate).toMatchObject({ check: 'error-rate', pass: 'result < 0.01', thresholds: { pass: { op: '<', value: 0.01 }, fail: { op: '>=', value: 0.05 } } });
    expect(odd).not.toHaveProperty('thresholds');
    expect(view.series).toContainEqual({ group: 'web', stage: 'canary', check: 'error-rate', measurements: [{ check: 'error-rate', result: 'pass', value: 0.002, at: '2026-11-27T10:00:01.000Z' }] });
    // Without sources (explain's fresh evaluation), the snapshot alone.
    expect(statusView(persistDeployment(s)).groups['web']).not.toHaveProperty('bakeEndsAt');
  });
});
