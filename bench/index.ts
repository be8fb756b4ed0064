/**
 * `npm run bench`: how fast the promoter decides, printed as a table.
 * - the pure core: one machine step for a deployment (observe -> plan -> effects);
 * - the watcher cache: absorbing a full allocation list (the long-poll answer) by ModifyIndex;
 * - end to end against the built-in simulator: from the moment a bake ends to Nomad
 *   acknowledging the promote (the decision latency), for many deployments at once.
 */
import { pino } from 'pino';
import type { AllocationStub } from '../src/domain/nomad.js';
import type { Policy } from '../src/domain/policy.js';
import { startDeployment, step } from '../src/machine/machine.js';
import type { DeploymentObservation } from '../src/machine/types.js';
import { startDaemon } from '../src/app/daemon.js';
import { readNomadConfig } from '../src/nomad/config.js';
import { startSimulator } from '../src/simulator/index.js';
import { ClusterCache } from '../src/watch/cache.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Row {
  benchmark: string;
  result: string;
  unit: string;
}

function timeIt(iterations: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(iterations, 1000); i++) fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function machineStep(): Row {
  const policy: Policy = {
    name: 'bench', source: 'bench', priority: 0, mode: 'enforce',
    match: { namespaces: ['*'], jobs: ['*'], groups: ['*'], meta: {} },
    checks: {}, health: { checks: [] }, rollout: { analysis: [] }, onFailure: { rollback: 'auto' },
    canary: { analysis: [], bakeMs: 60_000, promote: 'auto', together: false, onTimeout: 'fail' },
  };
  const now = Date.now();
  const group = (name: string) => ({
    name, policy, healthCheck: 'checks' as const, autoPromote: false, autoRevert: false, promoted: false, desiredCanaries: 2,
    canaries: [{ id: `${name}-1`, healthy: true, healthAt: now, running: true }, { id: `${name}-2`, healthy: true, healthAt: now, running: true }],
    allocs: [],
  });
  const obs: DeploymentObservation = { id: 'd', namespace: 'default', job: 'bench', jobVersion: 1, status: 'running', statusDescription: '', groups: [group('api'), group('web')], jobMeta: {}, dryRun: false };
  const s = startDeployment({ deploymentId: 'd', namespace: 'default', job: 'bench', jobVersion: 1, now });
  const n = 20_000;
  const ms = timeIt(n, (i) => step(s, { type: 'observe', now: now + i, observation: obs, measurements: [] }));
  return { benchmark: 'machine step (2 canary groups, baking)', result: ((ms * 1000) / n).toFixed(1), unit: 'µs per step' };
}

function cacheDiff(): Row {
  const allocs: AllocationStub[] = Array.from({ length: 10_000 }, (_, i) => ({
    ID: `alloc-${i}`, EvalID: 'e', Name: `job-${i % 500}.web[${i % 20}]`, Namespace: 'default', NodeID: 'n', NodeName: 'n', JobID: `job-${i % 500}`, JobType: 'service',
    JobVersion: i % 3, TaskGroup: 'web', DesiredStatus: 'run', DesiredDescription: '', ClientStatus: 'running', ClientDescription: '', CreateIndex: i, ModifyIndex: i,
  }));
  const cache = new ClusterCache();
  const n = 50;
  const ms = timeIt(n, (i) => {
    allocs[i]!.ModifyIndex++;
    cache.replaceAllocations(allocs);
  });
  return { benchmark: 'watch cache: absorb a 10,000-allocation list', result: (ms / n).toFixed(2), unit: 'ms per list' };
}

async function decisionLatency(deployments: number): Promise<Row[]> {
  const sim = await startSimulator();
  const dir = await mkdtemp(join(tmpdir(), 'promoter-bench-'));
  await writeFile(join(dir, 'bench.yaml'), 'name: bench\nmatch:\n  jobs: ["bench-*"]\ncanary:\n  bake: 2s\n');
  const nomad = readNomadConfig({ NOMAD_ADDR: sim.url }).config!;
  const job = (i: number, release: string) => ({
    Job: {
      ID: `bench-${i}`, Name: `bench-${i}`, Type: 'service', Namespace: 'default', Meta: { release },
      TaskGroups: [{ Name: 'web', Count: 2, Update: { MaxParallel: 2, Canary: 1, HealthCheck: 'checks', MinHealthyTime: 200_000_000, HealthyDeadline: 60e9, ProgressDeadline: 120e9 }, Tasks: [{ Name: 'app', Driver: 'docker', Config: {} }] }],
    },
  });
  const put = (body: unknown) => fetch(`${sim.url}/v1/jobs`, { method: 'PUT', body: JSON.stringify(body) });
  for (let i = 0; i < deployments; i++) await put(job(i, 'v0'));
  await new Promise((r) => setTimeout(r, 1500));
  const daemon = await startDaemon(
    { policies: dir, listen: { host: '127.0.0.1', port: 0 }, dryRun: false, namespace: '*', logLevel: 'silent', watchWaitMs: 60_000, resyncMs: 300_000, state: { kind: 'memory' }, nomad },
    { logger: pino({ level: 'silent' }) },
  );
  const started = Date.now();
  for (let i = 0; i < deployments; i++) await put(job(i, 'v1'));
  for (;;) {
    const list = (await (await fetch(`${sim.url}/v1/deployments?namespace=*`)).json()) as { JobVersion: number; TaskGroups: Record<string, { Promoted: boolean }> }[];
    if (list.filter((d) => d.JobVersion === 1 && d.TaskGroups['web']!.Promoted).length === deployments) break;
    if (Date.now() - started > 120_000) throw new Error('bench: promotions did not all happen within 120 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
  const buckets = [...metrics.matchAll(/nomad_promoter_decision_latency_seconds_bucket\{le="([^"]+)",action="promote"\} (\d+)/g)].map((m) => ({ le: Number(m[1]), count: Number(m[2]) }));
  const total = buckets[buckets.length - 1]!.count;
  const quantile = (q: number) => buckets.find((b) => b.count >= q * total)!.le;
  const requests = [...metrics.matchAll(/nomad_promoter_nomad_requests_total\{endpoint="([^"]+)",code="(\d+)"\} (\d+)/g)].reduce((sum, m) => sum + Number(m[3]), 0);
  await daemon.stop();
  await sim.close();
  await rm(dir, { recursive: true, force: true });
  return [
    { benchmark: `decision latency, ${deployments} deployments (bake end -> promote acknowledged), p50 bucket`, result: `<= ${quantile(0.5)}`, unit: 's' },
    { benchmark: `decision latency, ${deployments} deployments, p99 bucket`, result: `<= ${quantile(0.99)}`, unit: 's' },
    { benchmark: `Nomad requests per deployment, ${deployments} deployments (watch, job specs, promote)`, result: (requests / deployments).toFixed(1), unit: 'requests' },
  ];
}

const rows = [machineStep(), cacheDiff(), ...(await decisionLatency(10)), ...(await decisionLatency(100))];
const width = (k: keyof Row) => Math.max(k.length, ...rows.map((r) => r[k].length));
const line = (r: Row) => `| ${r.benchmark.padEnd(width('benchmark'))} | ${r.result.padStart(width('result'))} | ${r.unit.padEnd(width('unit'))} |`;
console.log(line({ benchmark: 'benchmark', result: 'result', unit: 'unit' }));
console.log(`|${'-'.repeat(width('benchmark') + 2)}|${'-'.repeat(width('result') + 2)}|${'-'.repeat(width('unit') + 2)}|`);
for (const r of rows) console.log(line(r));
