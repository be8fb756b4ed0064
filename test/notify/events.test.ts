/** Reading the machine's history entries as notification events: the machine's own wording, not a copy of it. */
import { expect, test } from '@jest/globals';
import type { CheckPhase } from '../../src/domain/analysis.js';
import { phaseChanges } from '../../src/machine/plan.js';
import type { GroupTrack } from '../../src/machine/types.js';
import { holdChange } from '../../src/notify/events.js';

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
  expect(holdChange(record(reasonOf('running', 'errored', 'connect ECONNREFUSED: a -> b')))).toEqual({ id: 'web|canary:error-rate', group: 'web', entering: true });
  expect(holdChange(record(reasonOf('errored', 'inconclusive')))).toEqual({ id: 'web|canary:error-rate', group: 'web', entering: true });
  expect(holdChange(record(reasonOf('inconclusive', 'passed')))).toEqual({ id: 'web|canary:error-rate', group: 'web', entering: false });
});
