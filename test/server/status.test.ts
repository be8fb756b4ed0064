import { describe, expect, test } from '@jest/globals';
import { persistDeployment, startDeployment, step } from '../../src/machine/machine.js';
import { statusView } from '../../src/server/status.js';
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
});
