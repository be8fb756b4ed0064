/**
 * The chart as the real helm renders it: HA by default (two replicas, a leader lock, a rolling
 * update that keeps one, a disruption budget, spread across nodes), one Recreate replica without
 * HA, and a clear refusal of what would run promoters without a leader.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, test, expect } from '@jest/globals';
import { helm, objectOf, renderChart, type K8sObject } from './lib/helm.js';

const chart = path.resolve('helm/nomad-promoter');
const address = { 'nomad.address': 'https://nomad.example.internal:4646' };
const selectorLabels = { 'app.kubernetes.io/name': 'nomad-promoter', 'app.kubernetes.io/instance': 'release' };
const ciFiles = fs.readdirSync(path.join(chart, 'ci')).filter((f) => /\.ya?ml$/.test(f)).sort();

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

interface DeploymentView {
  replicas: number;
  strategy: { type: string; rollingUpdate?: { maxUnavailable: unknown; maxSurge: unknown } };
  podLabels: Record<string, string>;
  env: Map<string, EnvVar>;
  affinity?: unknown;
}

/** The fields of the rendered Deployment these tests look at. */
function deploymentOf(objects: K8sObject[]): DeploymentView {
  const deployment = objectOf(objects, 'Deployment');
  if (!deployment) throw new Error('the chart rendered no Deployment');
  const spec = deployment.spec as {
    replicas: number;
    strategy: DeploymentView['strategy'];
    template: { metadata: { labels: Record<string, string> }; spec: { containers: { env: EnvVar[] }[]; affinity?: unknown } };
  };
  const pod = spec.template.spec;
  return {
    replicas: spec.replicas,
    strategy: spec.strategy,
    podLabels: spec.template.metadata.labels,
    env: new Map((pod.containers[0]?.env ?? []).map((e) => [e.name, e])),
    affinity: pod.affinity,
  };
}

/** `helm template` that is expected to fail: its error output. */
function refusal(set: Record<string, string | number | boolean>): string {
  const run = helm(['template', 'release', chart, ...Object.entries({ ...address, ...set }).flatMap(([k, v]) => ['--set', `${k}=${String(v)}`])]);
  expect(run.status).not.toBe(0);
  return run.stderr;
}

describe('helm lint', () => {
  test('passes on the defaults', () => {
    const run = helm(['lint', '--strict', chart, '--set', `nomad.address=${address['nomad.address']}`]);
    expect(run.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(run.status).toBe(0);
  });

  test.each(ciFiles)('passes with ci/%s', (file) => {
    const run = helm(['lint', '--strict', chart, '-f', path.join(chart, 'ci', file)]);
    expect(run.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(run.status).toBe(0);
  });
});

describe('HA on (the default)', () => {
  const objects = renderChart(chart, address);
  const deployment = deploymentOf(objects);

  test('two replicas, rolled one at a time without a surge', () => {
    expect(deployment.replicas).toBe(2);
    expect(deployment.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  });

  test('each pod contends for the lock under its own pod name, with state in Nomad Variables', () => {
    const env = deployment.env;
    expect(env.get('PROMOTER_HA')?.value).toBe('true');
    expect(env.get('PROMOTER_HA_IDENTITY')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.get('PROMOTER_HA_LOCK_PATH')?.value).toBe('nomad-promoter/leader');
    expect(env.get('PROMOTER_HA_LOCK_TTL')?.value).toBe('15s');
    expect(env.get('PROMOTER_HA_LOCK_DELAY')?.value).toBe('15s');
    // Left to the daemon's default (the state's namespace) unless set.
    expect(env.has('PROMOTER_HA_LOCK_NAMESPACE')).toBe(false);
    expect(env.get('PROMOTER_STATE')?.value).toBe('nomad');
    expect(env.get('PROMOTER_STATE_PATH')?.value).toBe('nomad-promoter/deployments');
    expect(env.has('PROMOTER_STATE_NAMESPACE')).toBe(false);
  });

  test('a PodDisruptionBudget lets drains evict one pod at a time, selecting the pods', () => {
    const pdb = objectOf(objects, 'PodDisruptionBudget');
    expect(pdb?.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: selectorLabels } });
    expect(deployment.podLabels).toMatchObject(selectorLabels);
  });

  test('pods prefer different nodes', () => {
    expect(deployment.affinity).toEqual({
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 100,
          podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selectorLabels } },
        }],
      },
    });
    expect(deployment.podLabels).toMatchObject(selectorLabels);
  });

  test('lock and state options reach the environment; an affinity of the user replaces the default', () => {
    const custom = deploymentOf(renderChart(chart, {
      ...address,
      replicas: 3,
      'ha.lockPath': 'platform/promoter-lock',
      'ha.lockNamespace': 'ops',
      'ha.lockTtl': '30s',
      'ha.lockDelay': '5s',
      'state.path': 'platform/promoter',
      'state.namespace': 'ops',
      'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key': 'pool',
      'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator': 'Exists',
    }));
    expect(custom.replicas).toBe(3);
    expect(Object.fromEntries(['PROMOTER_HA_LOCK_PATH', 'PROMOTER_HA_LOCK_NAMESPACE', 'PROMOTER_HA_LOCK_TTL', 'PROMOTER_HA_LOCK_DELAY',
      'PROMOTER_STATE_PATH', 'PROMOTER_STATE_NAMESPACE'].map((n) => [n, custom.env.get(n)?.value]))).toEqual({
      PROMOTER_HA_LOCK_PATH: 'platform/promoter-lock',
      PROMOTER_HA_LOCK_NAMESPACE: 'ops',
      PROMOTER_HA_LOCK_TTL: '30s',
      PROMOTER_HA_LOCK_DELAY: '5s',
      PROMOTER_STATE_PATH: 'platform/promoter',
      PROMOTER_STATE_NAMESPACE: 'ops',
    });
    expect(Object.keys(custom.affinity as object)).toEqual(['nodeAffinity']);
  });

  test('podDisruptionBudget.enabled=false leaves the budget out', () => {
    expect(objectOf(renderChart(chart, { ...address, 'podDisruptionBudget.enabled': false }), 'PodDisruptionBudget')).toBeUndefined();
  });
});

describe('HA off', () => {
  const objects = renderChart(chart, { ...address, 'ha.enabled': false });
  const deployment = deploymentOf(objects);

  test('one replica with Recreate, no budget, no lock, no anti-affinity', () => {
    expect(deployment.replicas).toBe(1);
    expect(deployment.strategy).toEqual({ type: 'Recreate' });
    expect(objectOf(objects, 'PodDisruptionBudget')).toBeUndefined();
    expect([...deployment.env.keys()].filter((n) => n.startsWith('PROMOTER_HA'))).toEqual([]);
    expect(deployment.affinity).toBeUndefined();
  });

  test('state may stay in memory', () => {
    const env = deploymentOf(renderChart(chart, { ...address, 'ha.enabled': false, 'state.kind': 'memory' })).env;
    expect(env.get('PROMOTER_STATE')?.value).toBe('memory');
    expect(env.has('PROMOTER_STATE_PATH')).toBe(false);
  });
});

describe('the chart refuses', () => {
  test('more than one replica without HA, saying why and what to set', () => {
    const stderr = refusal({ 'ha.enabled': false, replicas: 3 });
    expect(stderr).toContain('replicas=3 needs ha.enabled=true: without the leader lock every replica would act on the same deployments');
    expect(stderr).toContain('Set replicas=1, or enable HA');
  });

  test('HA with state in memory', () => {
    expect(refusal({ 'state.kind': 'memory' })).toContain('ha.enabled=true needs state.kind=nomad');
  });

  test('state without a namespace while a namespace glob is watched', () => {
    expect(refusal({ 'nomad.namespace': 'prod-*' })).toContain('state.namespace is required while nomad.namespace is the glob "prod-*"');
  });

  test('zero replicas, through the schema', () => {
    expect(refusal({ replicas: 0 })).toMatch(/\/replicas/);
  });
});

describe('the ci/ examples', () => {
  test.each(ciFiles)('ci/%s renders a Deployment of two HA replicas', (file) => {
    const run = helm(['template', 'release', chart, '-f', path.join(chart, 'ci', file)]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^ {2}replicas: 2$/m);
    expect(run.stdout).toContain('name: PROMOTER_HA\n');
  });
});
