/** Reading the machine's history entries as notification events: the machine's own wording, not a copy of it. */
import { expect, test } from '@jest/globals';
import type { CheckPhase } from '../../src/domain/analysis.js';
import { startDeployment, step } from '../../src/machine/machine.js';
import { phaseChanges } from '../../src/machine/plan.js';
import type { DecisionRecord, GroupTrack } from '../../src/machine/types.js';
import { eventsOf, holdChange } from '../../src/notify/events.js';
import { alloc, check, deployment, group, policy } from '../support/builders.js';

const track = (phase: CheckPhase, message?: string): Record<string, GroupTrack> => ({
  web: {
    mode: 'enforce',
    canary: true,
    promoted: false,
    healthDecided: {},
    state: 'baking',
    checks: { 'canary:error-rate': { startedAt: 0, phase, measurements: message ? [{ check: 'error-rate', result: 'error', at: 1, message }] : [] } },
  },
});

test('a check entering or leaving a hold, as the machine words it, is one hold of that check in that group', () => {
  const reasonOf = (from: CheckPhase, to: CheckPhase, message?: string) => phaseChanges(track(from), track(to, message))[0]!.reason;
  const record = (reason: string) => ({ at: 1, action: 'check' as const, groups: ['web'], outcome: 'ok' as const, reason, evidence: [] });
  expect(holdChange(record(reasonOf('running', 'errored', 'connect ECONNREFUSED: a -> b')))).toEqual({ id: 'web|canary:error-rate', entering: true });
  expect(holdChange(record(reasonOf('errored', 'inconclusive')))).toEqual({ id: 'web|canary:error-rate', entering: true });
  expect(holdChange(record(reasonOf('inconclusive', 'passed')))).toEqual({ id: 'web|canary:error-rate', entering: false });
});

const revert = (extra: Partial<DecisionRecord>): DecisionRecord => ({ at: 1, action: 'revert', groups: ['web'], outcome: 'ok', reason: 'rollback: revert', evidence: [], source: 'policy', ...extra });

test('a revert that found the job already at its stable version is no rollback to tell', () => {
  expect(eventsOf(revert({}))).toEqual(['rolled_back']);
  expect(eventsOf(revert({ skipped: true, message: 'job already at version 1' }))).toEqual([]);
});

test('allocations marked unhealthy by the health checks fail the deployment: that is told as failed', () => {
  const T0 = Date.parse('2026-11-27T10:00:00Z');
  const healthz = check('healthz', { scope: 'allocation', count: 1 });
  const p = policy({ checks: { healthz }, health: { checks: ['healthz'] } });
  const obs = deployment([group('web', { policy: p, healthCheck: 'manual', desiredCanaries: 0, canaries: [], allocs: [alloc('a1', null), alloc('a2', null)] })]);
  let s = startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 });
  s = step(s, { type: 'observe', now: T0, observation: obs, measurements: [] }).snapshot;
  const r = step(s, {
    type: 'observe',
    now: T0 + 1,
    observation: obs,
    measurements: [
      { group: 'web', stage: 'health', measurement: { check: 'healthz', result: 'pass', at: T0 + 1, allocId: 'a1' } },
      { group: 'web', stage: 'health', measurement: { check: 'healthz', result: 'fail', at: T0 + 1, allocId: 'a2' } },
    ],
  });
  const [effect] = r.effects;
  expect(effect?.unhealthy).toEqual(['a2']);
  const done = step(r.snapshot, { type: 'effect.result', now: T0 + 2, key: effect!.key, action: effect!.action, groups: effect!.groups, outcome: 'ok', allocIds: ['a1', 'a2'] }).snapshot;
  const told = done.context.history.filter((h) => h.action === 'set_health').map(eventsOf);
  expect(told).toEqual([['failed']]);
});

test('allocations all marked healthy fail nothing', () => {
  expect(eventsOf({ at: 1, action: 'set_health', groups: ['web'], outcome: 'ok', reason: 'healthy: 2 passed health checks', evidence: [] })).toEqual([]);
});
