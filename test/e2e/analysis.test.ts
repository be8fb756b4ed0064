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
  // count 15 at 1 s: the analysis is still running when Prometheus stops after the first pass.
  'outage.yaml': canaryPolicy('outage', 'outage-*').replace('count: 3', 'count: 15').replace('inconclusiveLimit: 10', 'inconclusiveLimit: 10\n    consecutiveErrorLimit: 1'),
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
let fileSd: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'promoter-analysis-'));
  fileSd = join(dir, 'targets.json');
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

async function status(id: string): Promise<{ state: string; pending: { action: string; reason: string }[]; history: { action: string; outcome: string; reason: string; evidence: { at: unknown }[] }[] }> {
  return (await fetch(`${daemonUrl}/v1/deployments/${id}`)).json() as never;
}

/**
 * The daemon's status once it has recorded what Nomad answered to its promote: Nomad shows the
 * promotion as soon as it applies it, a moment before the daemon has the answer and saves it.
 */
async function afterPromoteAnswered(id: string): ReturnType<typeof status> {
  return eventually(async () => {
    const s = await status(id);
    return s.history.some((x) => x.action === 'promote' && x.outcome !== 'pending') ? s : undefined;
  }, 'the promote answer recorded');
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
    const s = await afterPromoteAnswered(d.ID);
    expect(s.history.map((x) => [x.action, x.outcome])).toEqual([['promote', 'ok']]);
    expect(s.history[0]!.reason).toMatch(/analysis passed \(error-rate\)/);
    // The measurements behind the decision carry RFC 3339 times, as every time in the status API.
    const evidence = s.history[0]!.evidence;
    expect(evidence.length).toBeGreaterThan(0);
    for (const m of evidence) expect(m.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const metrics = await (await fetch(`${daemonUrl}/metrics`)).text();
    // count 3: three measurements taken (a no-data one while Prometheus warms up counts, being
    // tolerated), at least one of them a pass.
    const taken = [...metrics.matchAll(/nomad_promoter_check_measurements_total\{nomad_namespace="default",nomad_job="shop-good",task_group="web",check="error-rate",result="(\w+)"\} (\d+)/g)];
    expect(taken.filter((x) => x[1] !== 'error').reduce((sum, x) => sum + Number(x[2]), 0)).toBeGreaterThanOrEqual(3);
    expect(metrics).toMatch(/nomad_job="shop-good",task_group="web",check="error-rate",result="pass"\} [1-9]/);
    expect(metrics).toContain('nomad_promoter_check_value{nomad_namespace="default",nomad_job="shop-good",task_group="web",check="error-rate"} 0');
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
    expect(metrics).toContain('nomad_promoter_decisions_total{nomad_namespace="default",nomad_job="dry-bad",task_group="web",action="fail",outcome="dry_run",source="policy"} 1');
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

  test('Prometheus stopped for 20 s: errored holds with its error shown; once it is back a good canary is promoted and a bad one failed once', async () => {
    const OUTAGE_MS = 20_000;
    await Promise.all(['outage-good', 'outage-bad'].map((job) => stableV0(h.sim, job)));
    await h.sim.register(webJob('outage-good', 'v1'));
    const good = await v1Deployment('outage-good');
    const passes = async (job: string) => /result="pass"\} [1-9]/.test((await (await fetch(`${daemonUrl}/metrics`)).text()).split('\n').filter((l) => l.includes(`job="${job}"`)).join('\n'));
    await eventually(() => passes('outage-good'), 'a first passing measurement of the good canary', 30_000);
    // The bad canary's first measurement (5 s initialDelay after it is healthy) falls in the outage.
    await h.sim.register(webJob('outage-bad', 'v1', { errorRate: 0.2 }));
    const bad = await v1Deployment('outage-bad');
    const address = new URL(prometheus.url);
    await prometheus.stop();
    const stoppedAt = Date.now();

    for (const d of [good, bad]) {
      const held = await eventually(async () => {
        const x = (await (await fetch(`${daemonUrl}/v1/deployments/${d.ID}`)).json()) as { state: string; groups: Record<string, { checks: { state: string; lastMessage?: string }[] }> };
        return x.state === 'holding' ? x : undefined;
      }, `${d.JobID} holding`, OUTAGE_MS);
      const check = held.groups['web']!.checks[0]!;
      expect(check.state).toBe('errored');
      expect(check.lastMessage).toMatch(new RegExp(`${address.host}|ECONNREFUSED|fetch failed`));
    }
    // The outage lasts its full length, then Prometheus is back at the same address.
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));
    prometheus = await startPrometheus({ fileSdPath: fileSd, scrapeIntervalSeconds: 1, honorLabels: true, port: Number(address.port) });

    await eventually(async () => (await h.sim.latest('outage-good'))?.TaskGroups['web']!.Promoted, 'outage-good promoted', 60_000);
    expect((await h.sim.writesTo(good.ID)).map((w) => w.route)).toEqual(['/v1/deployment/promote/:id']);
    const goodHistory = (await afterPromoteAnswered(good.ID)).history.map((x) => [x.action, x.outcome]);
    expect(goodHistory).toEqual([['check', 'ok'], ['check', 'ok'], ['promote', 'ok']]);
    // Each phase change of the hold is one warning (and only one) with the cause.
    const warnings = h.daemons[0]!.lines.filter((l) => l.includes(`"deploymentId":"${good.ID}"`) && l.includes('"level":"warn"') && l.includes('"check":"error-rate"'));
    expect(warnings.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ msg: 'check phase changed', group: 'web', stage: 'canary', from: 'running', phase: 'errored', lastResult: 'error', message: expect.stringMatching(/Prometheus request failed/) }),
      expect.objectContaining({ msg: 'check phase changed', group: 'web', stage: 'canary', from: 'errored', phase: 'running', lastResult: expect.any(String), message: expect.any(String) }),
    ]);

    await eventually(async () => (await h.sim.state()).deployments.find((y) => y.ID === bad.ID)?.Status === 'failed', 'outage-bad failed', 30_000);
    expect((await h.sim.writesTo(bad.ID)).map((w) => w.route)).toEqual(['/v1/deployment/fail/:id']);
    const badHistory = await status(bad.ID);
    expect(badHistory.history.filter((x) => x.action === 'fail')).toHaveLength(1);
    expect(badHistory.history.find((x) => x.action === 'fail')!.reason).toMatch(/canary analysis failed: error-rate failed/);
  }, 150_000);

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
    expect(held.pending).toEqual([
      {
        action: 'hold',
        groups: ['web'],
        reason: 'holding: error-rate errored',
        causes: [expect.objectContaining({ group: 'web', stage: 'canary', check: 'error-rate', state: 'errored', lastResult: 'error', lastMessage: expect.stringMatching(/Prometheus request failed/) })],
      },
    ]);
    // The daemon measures again while held (Prometheus still down) and decides nothing.
    const measured = async () => ((await (await fetch(`${daemonUrl}/v1/deployments/${d.ID}`)).json()) as { groups: Record<string, { checks: { measurements: number }[] }> }).groups['web']!.checks[0]!.measurements;
    const atHold = await measured();
    await eventually(async () => (await measured()) > atHold, 'a further measurement during the hold', 30_000);
    expect((await status(d.ID)).state).toBe('holding');
    expect(await h.sim.writesTo(d.ID)).toEqual([]);
    // The hold is history (no decision sent to Nomad), with Prometheus's unreachability as the cause.
    expect((await status(d.ID)).history.map((x) => [x.action, x.reason.split(':')[0]])).toEqual([['check', 'canary check error-rate running -> errored']]);
    const metrics = await (await fetch(`${daemonUrl}/metrics`)).text();
    expect(metrics).toMatch(/nomad_job="hold-app",task_group="web",check="error-rate",result="error"\} [2-9]/);
    expect(metrics).toContain('nomad_promoter_deployments{state="holding"} 1');
  }, 60_000);
});
