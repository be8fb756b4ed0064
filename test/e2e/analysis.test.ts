/**
 * Analysis end to end with a REAL Prometheus (Debian package, 1 s scrape interval) scraping the
 * simulator's allocations through file_sd; simulator and daemon as separate processes.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Deployment } from '../../src/domain/nomad.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { eventually, sleep, stableV0, startHarness, webJob, type Harness } from './harness.js';

const ERROR_RATE = (canaryRegex: string) => `sum(rate(http_requests_total{alloc_id=~"${canaryRegex}",code=~"5.."}[4s])) / sum(rate(http_requests_total{alloc_id=~"${canaryRegex}"}[4s]))`;

const canaryPolicy = (name: string, jobs: string, extra = '') => `name: ${name}
match:
  jobs: ["${jobs}"]
checks:
  error-rate:
    prometheus:
      query: '${ERROR_RATE('{{ canary.allocIdsRegex }}')}'
      timeout: 2s
    pass: "result < 0.05"
    fail: "result >= 0.1"
    initialDelay: 5s
    interval: 1s
    count: 3
    inconclusiveLimit: 10
${extra}canary:
  analysis: [error-rate]
  bake: 1s
onFailure:
  rollback: auto
`;

const POLICIES = {
  'analysis.yaml': canaryPolicy('analysis', 'shop-*'),
  'revert.yaml': canaryPolicy('revert', 'cart-*').replace('rollback: auto', 'rollback: revert'),
  'dry.yaml': canaryPolicy('dry', 'dry-*').replace('onFailure:', 'mode: dry-run\nonFailure:'),
  'hold.yaml': canaryPolicy('hold', 'hold-*').replace('count: 3', 'count: 60').replace('inconclusiveLimit: 10', 'inconclusiveLimit: 10\n    consecutiveErrorLimit: 1'),
  'manual.yaml': `name: manual-health
match:
  jobs: ["manual-*"]
checks:
  healthz:
    scope: allocation
    http:
      url: "http://{{ alloc.addr.http }}/healthz"
      timeout: 2s
    pass: "response.status == 200"
    initialDelay: 2s
    interval: 1s
    count: 1
health:
  checks: [healthz]
`,
};

let h: Harness;
let prometheus: RunningPrometheus;
let daemonUrl: string;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'promoter-analysis-'));
  const fileSd = join(dir, 'targets.json');
  h = await startHarness(POLICIES, ['--file-sd', fileSd]);
  prometheus = await startPrometheus({ fileSdPath: fileSd, scrapeIntervalSeconds: 1, honorLabels: true });
  daemonUrl = (await h.startDaemon(['--prometheus-addr', prometheus.url])).url;
}, 60_000);

afterAll(async () => {
  await h?.close();
  await prometheus?.stop();
  await rm(dir, { recursive: true, force: true });
});

const deploymentOf = (job: string, version: number) => async () => {
  const d = await h.sim.latest(job);
  return d && d.JobVersion === version ? d : undefined;
};

async function status(id: string): Promise<{ state: string; pending: { action: string; reason: string }[]; history: { action: string; outcome: string; reason: string }[] }> {
  return (await fetch(`${daemonUrl}/v1/deployments/${id}`)).json() as never;
}

async function v1Deployment(job: string): Promise<Deployment> {
  return eventually(deploymentOf(job, 1), `${job} v1 deployment`);
}

describe('canary analysis against a real Prometheus', () => {
  test('a good canary (0 % errors) is promoted after its analysis passes', async () => {
    await stableV0(h.sim, 'shop-good');
    await h.sim.register(webJob('shop-good', 'v1'));
    const d = await v1Deployment('shop-good');
    await eventually(async () => (await h.sim.latest('shop-good'))?.TaskGroups['web']!.Promoted, 'shop-good promoted', 40_000);
    const s = await status(d.ID);
    expect(s.history.map((x) => [x.action, x.outcome])).toEqual([['promote', 'ok']]);
    expect(s.history[0]!.reason).toMatch(/analysis passed \(error-rate\)/);
    const metrics = await (await fetch(`${daemonUrl}/metrics`)).text();
    // count 3: three measurements taken (a no-data one while Prometheus warms up counts, being
    // tolerated), at least one of them a pass.
    const taken = [...metrics.matchAll(/nomad_promoter_check_measurements_total\{namespace="default",job="shop-good",group="web",check="error-rate",result="(\w+)"\} (\d+)/g)];
    expect(taken.filter((x) => x[1] !== 'error').reduce((sum, x) => sum + Number(x[2]), 0)).toBeGreaterThanOrEqual(3);
    expect(metrics).toMatch(/job="shop-good",group="web",check="error-rate",result="pass"\} [1-9]/);
    expect(metrics).toContain('nomad_promoter_check_value{namespace="default",job="shop-good",group="web",check="error-rate"} 0');
  }, 60_000);

  test('a bad canary (20 % 5xx) fails the deployment, and Nomad auto_revert rolls the job back', async () => {
    await stableV0(h.sim, 'shop-bad', { autoRevert: true });
    await h.sim.register(webJob('shop-bad', 'v1', { errorRate: 0.2, autoRevert: true }));
    const d = await v1Deployment('shop-bad');
    const failed = await eventually(async () => {
      const x = (await h.sim.state()).deployments.find((y) => y.ID === d.ID);
      return x?.Status === 'failed' ? x : undefined;
    }, 'shop-bad failed', 40_000);
    expect(failed.StatusDescription).toBe('Deployment marked as failed - rolling back to job version 0');
    expect((await h.sim.writesTo(d.ID)).map((w) => w.route)).toEqual(['/v1/deployment/fail/:id']);
    // Nomad registered the stable spec as version 2: no explicit revert from the promoter.
    await eventually(deploymentOf('shop-bad', 2), 'the rollback deployment');
    expect((await h.sim.requests()).filter((r) => r.route === '/v1/job/:id/revert')).toEqual([]);
    const s = await status(d.ID);
    expect(s.history.map((x) => [x.action, x.outcome])).toEqual([['fail', 'ok'], ['revert', 'ok']]);
    expect(s.history[0]!.reason).toMatch(/canary analysis failed: error-rate failed/);
  }, 60_000);

  test('without auto_revert, rollback: revert reverts explicitly to the last stable version', async () => {
    await stableV0(h.sim, 'cart-bad');
    await h.sim.register(webJob('cart-bad', 'v1', { errorRate: 0.2 }));
    const d = await v1Deployment('cart-bad');
    await eventually(async () => (await h.sim.requests()).find((r) => r.route === '/v1/job/:id/revert' && r.status === 200), 'explicit revert', 40_000);
    const job = await h.sim.get<{ Version: number; Meta: Record<string, string> }>('/v1/job/cart-bad');
    expect(job).toMatchObject({ Version: 2, Meta: { release: 'v0' } });
    expect((await h.sim.writesTo(d.ID)).map((w) => w.route)).toEqual(['/v1/deployment/fail/:id']);
    const reverts = (await h.sim.requests()).filter((r) => r.route === '/v1/job/:id/revert');
    expect(reverts).toHaveLength(1);
  }, 60_000);

  test('dry-run: the fail decision shows with outcome dry_run and nothing is written', async () => {
    await stableV0(h.sim, 'dry-bad');
    await h.sim.register(webJob('dry-bad', 'v1', { errorRate: 0.2 }));
    const d = await v1Deployment('dry-bad');
    const s = await eventually(async () => {
      const x = await status(d.ID);
      return x.history?.length ? x : undefined;
    }, 'dry-run decision', 40_000);
    expect(s.history.map((x) => [x.action, x.outcome])).toEqual([['fail', 'dry_run'], ['revert', 'dry_run']]);
    await sleep(1500);
    expect(await h.sim.writesTo(d.ID)).toEqual([]);
    expect((await h.sim.requests()).filter((r) => r.method !== 'GET' && r.path.includes('dry-bad'))).toEqual([]);
    const metrics = await (await fetch(`${daemonUrl}/metrics`)).text();
    expect(metrics).toContain('nomad_promoter_decisions_total{namespace="default",job="dry-bad",group="web",action="fail",outcome="dry_run",source="policy"} 1');
  }, 60_000);

  test('a manual-health group: healthy allocations are marked healthy, a broken one unhealthy', async () => {
    await h.sim.register(webJob('manual-app', 'v0', { healthCheck: 'manual', canary: 0 }));
    const d = await eventually(deploymentOf('manual-app', 0), 'manual-app deployment');
    const allocs = await h.sim.allocationsOf(d.ID);
    expect(allocs).toHaveLength(3);
    const broken = allocs[0]!.ID;
    await h.sim.send('POST', `/_sim/alloc/${broken}/health`, { healthy: false });
    const calls = await eventually(async () => {
      const w = (await h.sim.writesTo(d.ID)).filter((r) => r.route === '/v1/deployment/allocation-health/:id');
      return w.length > 0 ? w : undefined;
    }, 'allocation health set', 30_000);
    // One batch: an unhealthy allocation fails the deployment, so all verdicts go in one call.
    expect(calls).toHaveLength(1);
    const after = await h.sim.allocationsOf(d.ID);
    const health = Object.fromEntries(after.map((a) => [a.ID, a.DeploymentStatus?.Healthy]));
    expect(health[broken]).toBe(false);
    expect(Object.entries(health).filter(([id]) => id !== broken).map(([, v]) => v)).toEqual([true, true]);
  }, 60_000);

  test('Prometheus stopped mid-analysis: errored -> hold, no promote and no fail', async () => {
    await stableV0(h.sim, 'hold-app');
    await h.sim.register(webJob('hold-app', 'v1'));
    const d = await v1Deployment('hold-app');
    await eventually(async () => (await status(d.ID)).state === 'baking', 'analysis running', 30_000);
    await eventually(async () => /check="error-rate",result="pass"\} [1-9]/.test((await (await fetch(`${daemonUrl}/metrics`)).text()).split('\n').filter((l) => l.includes('hold-app')).join('\n')), 'a first passing measurement', 30_000);
    await prometheus.stop();
    const held = await eventually(async () => {
      const x = await status(d.ID);
      return x.state === 'holding' ? x : undefined;
    }, 'holding', 30_000);
    expect(held.pending).toEqual([{ action: 'hold', groups: ['web'], reason: 'holding: error-rate errored' }]);
    await sleep(3000);
    expect(await h.sim.writesTo(d.ID)).toEqual([]);
    expect((await status(d.ID)).history).toEqual([]);
    const metrics = await (await fetch(`${daemonUrl}/metrics`)).text();
    expect(metrics).toMatch(/job="hold-app",group="web",check="error-rate",result="error"\} [2-9]/);
    expect(metrics).toContain('nomad_promoter_deployments{state="holding"} 1');
  }, 60_000);
});
