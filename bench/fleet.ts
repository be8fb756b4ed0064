/**
 * The benchmark's processes: the simulator (`simulate --no-apps`) and the daemon (`run`), each in
 * its own process as in production, so that the figures read from the daemon's /metrics are its
 * own. Jobs are registered, and the simulator read, over HTTP on short connections (see SimControl).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Job } from '../src/domain/nomad.js';
import { SimControl } from '../test/e2e/harness.js';
import { startNodeProcess, type RunningProcess } from '../test/support/processes.js';
import type { SourceName } from './options.js';

const CLI = fileURLToPath(new URL('./cli-entry.js', import.meta.url));
const NS_PER_MS = 1_000_000;
/** Registrations in flight at once while the cluster is set up. */
const REGISTER_CONCURRENCY = 4;

export const BAKE_MS = 5_000;
const POLICY = `name: bench\nmatch:\n  jobs: ["bench-*"]\ncanary:\n  bake: ${BAKE_MS / 1000}s\n`;

export interface Simulator {
  control: SimControl;
  process: RunningProcess;
  stop(): Promise<void>;
}

export async function startSim(profileDir?: string): Promise<Simulator> {
  const nodeFlags = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const p = startNodeProcess([...nodeFlags, CLI, 'simulate', '--listen', '127.0.0.1:0', '--no-apps']);
  const line = await p.waitForLine(/Nomad simulator listening/);
  return {
    control: new SimControl((JSON.parse(line) as { url: string }).url),
    process: p,
    async stop() {
      await p.stop('SIGTERM');
    },
  };
}

export interface Daemon {
  url: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

export async function startDaemon(sim: SimControl, source: SourceName, profileDir?: string): Promise<Daemon> {
  const nodeFlags = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const dir = await mkdtemp(join(tmpdir(), 'promoter-bench-'));
  await writeFile(join(dir, 'bench.yaml'), POLICY);
  const p = startNodeProcess([...nodeFlags, CLI, 'run', '--listen', '127.0.0.1:0', '--policies', dir, '--watch-source', source, '--log-level', 'info'], { NOMAD_ADDR: sim.url });
  const started = await p.waitForLine(/nomad-promoter started/, 60_000);
  return {
    url: (JSON.parse(started) as { listen: string }).listen,
    process: p,
    async stop() {
      await p.stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const jobId = (i: number): string => `bench-${i}`;

/**
 * A job of 2 allocations; from its second version on, 1 canary. Its allocations turn healthy
 * `minHealthyMs` after they are placed, which is how the benchmark sets each canary's healthy
 * instant (and so its bake end) from the start.
 */
function benchJob(i: number, release: string, minHealthyMs: number): Job {
  const deadlineMs = minHealthyMs + 120_000;
  return {
    ID: jobId(i),
    Name: jobId(i),
    Type: 'service',
    Namespace: 'default',
    Meta: { release },
    TaskGroups: [
      {
        Name: 'web',
        Count: 2,
        Update: {
          MaxParallel: 2,
          Canary: 1,
          HealthCheck: 'checks',
          MinHealthyTime: Math.round(minHealthyMs * NS_PER_MS),
          HealthyDeadline: deadlineMs * NS_PER_MS,
          ProgressDeadline: (deadlineMs + 60_000) * NS_PER_MS,
          AutoRevert: false,
        },
        Tasks: [{ Name: 'app', Driver: 'docker', Config: { image: `example/bench:${release}` } }],
      },
    ],
  } as Job;
}

/** Runs `fn` for 0..n-1, a few at a time. */
async function forEach(n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(REGISTER_CONCURRENCY, n) }, worker));
}

/** Registers v0 of n jobs and waits until every one's deployment succeeded (so v1 places canaries); returns how long the registrations took. */
export async function registerStable(sim: SimControl, n: number): Promise<number> {
  const started = Date.now();
  await forEach(n, (i) => sim.register(benchJob(i, 'v0', 0)));
  const took = Date.now() - started;
  await waitFor(async () => (await sim.state()).deployments.filter((d) => d.Status === 'successful').length >= n, `${n} v0 deployments successful`, 60_000 + n * 20);
  return took;
}

/** Registers v1 of n jobs, job i's canary to turn healthy at `healthyAt(i)` (epoch ms), and waits until every canary is placed. */
export async function registerCanaries(sim: SimControl, n: number, healthyAt: (i: number) => number): Promise<void> {
  await forEach(n, (i) => sim.register(benchJob(i, 'v1', Math.max(0, healthyAt(i) - Date.now()))));
  await waitFor(
    async () => (await sim.state()).allocations.filter((a) => a.JobVersion === 1 && a.DeploymentStatus?.Canary === true).length >= n,
    `${n} canaries placed`,
    60_000 + n * 20,
  );
}

export async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs: number, everyMs = 500): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
