/** Given/when/then builders for the pure core: policies and observations as plain data. */
import type { CheckSpec, Policy } from '../../src/domain/policy.js';
import type { AllocObservation, DeploymentObservation, GroupObservation } from '../../src/machine/types.js';

export function policy(overrides: Partial<Omit<Policy, 'canary'>> & { canary?: Partial<Policy['canary']> } = {}): Policy {
  const { canary, ...rest } = overrides;
  return {
    name: 'web-canary',
    source: 'policies/web.yaml:1:1',
    match: { namespaces: ['*'], jobs: ['web-*'], groups: ['*'], meta: {} },
    priority: 0,
    mode: 'enforce',
    checks: {},
    health: { checks: [] },
    rollout: { analysis: [] },
    onFailure: { rollback: 'auto' },
    ...rest,
    canary: { analysis: [], bakeMs: 60_000, promote: 'auto', together: false, onTimeout: 'fail', ...canary },
  };
}

export function check(name: string, overrides: Partial<CheckSpec> = {}): CheckSpec {
  return {
    name,
    scope: 'deployment',
    source: { kind: 'prometheus', query: 'vector(0)', timeoutMs: 10_000 },
    pass: 'result < 0.01',
    intervalMs: 10_000,
    count: 2,
    initialDelayMs: 0,
    failureLimit: 0,
    inconclusiveLimit: 0,
    consecutiveErrorLimit: 2,
    noData: 'inconclusive',
    ...overrides,
  };
}

export function alloc(id: string, healthy: boolean | null): AllocObservation {
  return { id, healthy, running: true };
}

export function group(name: string, overrides: Partial<GroupObservation> = {}): GroupObservation {
  const canaries = overrides.canaries ?? [];
  return {
    name,
    healthCheck: 'checks',
    autoPromote: false,
    autoRevert: false,
    promoted: false,
    desiredCanaries: canaries.length,
    canaries,
    allocs: canaries,
    ...overrides,
  };
}

export function deployment(groups: GroupObservation[], overrides: Partial<DeploymentObservation> = {}): DeploymentObservation {
  return {
    id: 'd-1',
    namespace: 'default',
    job: 'web-api',
    jobVersion: 1,
    status: 'running',
    statusDescription: 'Deployment is running but requires manual promotion',
    groups,
    jobMeta: {},
    dryRun: false,
    ...overrides,
  };
}
