/** One pure machine step for a baking deployment of 2 canary groups (observe -> plan -> effects). */
import type { Policy } from '../src/domain/policy.js';
import { startDeployment, step } from '../src/machine/machine.js';
import type { DeploymentObservation } from '../src/machine/types.js';

export function machineStepMicros(): number {
  const policy: Policy = {
    name: 'bench', source: 'bench', priority: 0, mode: 'enforce',
    match: { namespaces: ['*'], jobs: ['*'], groups: ['*'], meta: {} },
    checks: {}, health: { checks: [] }, rollout: { analysis: [] }, onFailure: { rollback: 'auto' },
    canary: { analysis: [], bakeMs: 60_000, promote: 'auto', together: false, onTimeout: 'fail' },
  };
  const now = Date.now();
  const group = (name: string) => ({
    name, policy, healthCheck: 'checks' as const, autoPromote: false, autoRevert: false, promoted: false, desiredCanaries: 2,
    canaries: [{ id: `${name}-1`, healthy: true, running: true }, { id: `${name}-2`, healthy: true, running: true }],
    allocs: [],
  });
  const obs: DeploymentObservation = { id: 'd', namespace: 'default', job: 'bench', jobVersion: 1, status: 'running', statusDescription: '', groups: [group('api'), group('web')], jobMeta: {}, dryRun: false };
  const s = startDeployment({ deploymentId: 'd', namespace: 'default', job: 'bench', jobVersion: 1, now });
  const n = 20_000;
  for (let i = 0; i < 1000; i++) step(s, { type: 'observe', now: now + i, observation: obs, measurements: [] });
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) step(s, { type: 'observe', now: now + i, observation: obs, measurements: [] });
  return Number(process.hrtime.bigint() - start) / 1e3 / n;
}
