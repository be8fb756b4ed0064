/** The dashboard's readings of the status view: which promote overrides the analysis, the running clock. */
import { describe, expect, test } from '@jest/globals';
import { deadline, promoteOverrides, span } from '../../web/format.js';
import type { DeploymentStatusView } from '../../src/server/status.js';

type Group = DeploymentStatusView['groups'][string];
const group = (over: Partial<Group>): Group => ({ policy: 'p', mode: 'enforce', state: 'baking', promoted: false, checks: [], ...over });
const view = (groups: Record<string, Group>): DeploymentStatusView => ({ id: 'd-1', namespace: 'default', job: 'web', version: 1, status: 'running', state: 'baking', groups, pending: [], warnings: [], updatedAt: '2026-11-27T10:00:00.000Z' });
const canaries = { healthy: 2, desired: 2 };

describe('promoteOverrides', () => {
  test('a promote follows the policy only when every canary group still to promote is ready', () => {
    expect(promoteOverrides(view({ web: group({ canaries, state: 'ready' }) }))).toBe(false);
    expect(promoteOverrides(view({ web: group({ canaries, state: 'ready' }), api: group({ canaries, state: 'baking' }) }))).toBe(true);
    expect(promoteOverrides(view({ web: group({ canaries, state: 'holding', hold: 'inconclusive' }) }))).toBe(true);
    // A promoted group and a group without canaries do not stand in the way.
    expect(promoteOverrides(view({ web: group({ canaries, state: 'ready' }), done: group({ canaries, state: 'promoted', promoted: true }), worker: group({ state: 'rollout' }) }))).toBe(false);
    // Nothing left to promote: a promote is not the policy's.
    expect(promoteOverrides(view({ worker: group({ state: 'rollout' }) }))).toBe(true);
  });
});

describe('deadline', () => {
  const now = Date.parse('2026-11-27T10:00:00Z');
  test('the bake while it runs, then the timeout, then nothing', () => {
    const g = group({ bakeEndsAt: '2026-11-27T10:01:30.000Z', timeoutAt: '2026-11-27T12:00:00.000Z' });
    expect(deadline(g, now)).toEqual({ label: 'bake ends in', left: '1m 30s' });
    expect(deadline(g, now + 91_000)).toEqual({ label: 'timeout in', left: '1h 58m' });
    expect(deadline(g, now + 3 * 3600_000)).toBeUndefined();
    expect(span(26 * 3600_000)).toBe('1d 2h');
  });
});
