import { describe, expect, test } from '@jest/globals';
import { startDeployment, step } from '../../src/machine/machine.js';
import { scheduleMeasurements } from '../../src/machine/due.js';
import { alloc, check, deployment, group, policy } from '../support/builders.js';

const T0 = Date.parse('2026-11-27T10:00:00Z');

function contextAfter(obs: ReturnType<typeof deployment>) {
  const s = startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 });
  return step(s, { type: 'observe', now: T0, observation: obs, measurements: [] }).snapshot.context;
}

describe('scheduleMeasurements', () => {
  const errorRate = check('error-rate', { initialDelayMs: 5000, intervalMs: 10_000 });
  const healthz = check('healthz', { scope: 'allocation', source: { kind: 'http', url: 'http://{{ alloc.addr.http }}/', method: 'GET', headers: {}, body: '', timeoutMs: 1000 }, pass: 'response.status == 200' });
  const p = policy({ checks: { 'error-rate': errorRate, healthz }, canary: { analysis: ['error-rate', 'healthz'] } });

  test('canary analysis starts once all canaries are healthy, after initialDelay; allocation checks per canary', () => {
    const notYet = deployment([group('web', { policy: p, canaries: [alloc('c1', true), alloc('c2', null)] })]);
    expect(scheduleMeasurements(contextAfter(notYet), notYet)).toEqual([]);

    const ready = deployment([group('web', { policy: p, canaries: [alloc('c1', true), alloc('c2', true)] })]);
    const due = scheduleMeasurements(contextAfter(ready), ready).map((d) => [d.stage, d.spec.name, d.allocId, d.due - T0]);
    expect(due).toEqual([
      ['canary', 'error-rate', undefined, 5000],
      ['canary', 'healthz', 'c1', 0],
      ['canary', 'healthz', 'c2', 0],
    ]);
  });

  test('ungoverned groups are never measured', () => {
    const obs = deployment([group('web', { canaries: [alloc('c1', true)] })]);
    expect(scheduleMeasurements(contextAfter(obs), obs)).toEqual([]);
  });
});
