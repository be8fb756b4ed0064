/**
 * One run: n canary deployments whose canaries turn healthy at chosen instants (all at once, or
 * spread over 30 s), watched by a daemon with one source. Per deployment, the bake end is its
 * canary's healthy instant (Nomad's DeploymentStatus.Timestamp) plus the policy's bake, and the
 * promote is acknowledged when the simulator wrote its answer (request log `answeredAt`).
 */
import type { SimControl, SimRequest } from '../test/e2e/harness.js';
import { BAKE_MS, registerCanaries, registerStable, startDaemon, startSim, waitFor, type Daemon } from './fleet.js';
import { processUsage } from './process-usage.js';
import type { BenchOptions, Shape, SourceName } from './options.js';

/** Where the simulator's and the daemon's CPU profiles go, if anywhere. */
export type Profiles = Pick<BenchOptions, 'simProfileDir' | 'daemonProfileDir'>;

export const SPREAD_MS = 30_000;
const PROMOTE_ROUTE = '/v1/deployment/promote/:id';

export interface RunResult {
  source: SourceName;
  n: number;
  shape: Shape | 'idle';
  /** Bake end -> promote acknowledged, ms, one per deployment; empty for idle runs. */
  latenciesMs: number[];
  /** Earliest bake end -> last promote acknowledged. */
  drainMs?: number;
  requestsPerDeployment: number;
  bytesPerDeployment: number;
  /** The same bytes by route pattern (the event stream, full lists, job reads, writes). */
  bytesPerDeploymentByRoute: Record<string, number>;
  maxConnections: number;
  cpuMsPerDeployment: number;
  rssBytes: number;
  peakRssBytes: number;
  /** Idle runs: one GET /metrics after the rest (what a Prometheus scrape costs the daemon), wall ms and bytes. */
  scrape?: { ms: number; bytes: number };
}

interface Connections {
  open: number;
  peak: number;
  bytesSent: number;
  bytesByRoute: Record<string, number>;
}

/**
 * How long after the first v1 registration the first canary turns healthy: time to register
 * them all (as long as v0 took, and more), then for the daemon to start and list the cluster.
 */
function startMarginMs(n: number, registrationMs: number): number {
  return 2 * registrationMs + 5_000 + n * 5;
}

export async function runLifecycle(source: SourceName, n: number, shape: Shape, profiles: Profiles): Promise<RunResult> {
  const sim = await startSim(profiles.simProfileDir);
  try {
    const control = sim.control;
    const registrationMs = await registerStable(control, n);
    const firstHealthy = Date.now() + startMarginMs(n, registrationMs);
    await registerCanaries(control, n, (i) => firstHealthy + (shape === 'spread' ? (i * SPREAD_MS) / n : 0));
    const measured = await measureDaemon(control, source, n, profiles.daemonProfileDir, async ({ url: daemonUrl }) => {
      await waitFor(async () => (await fetch(`${daemonUrl}/readyz`)).ok, 'the daemon ready', firstHealthy - Date.now(), 100);
      if (Date.now() >= firstHealthy) throw new Error('bench: canaries turned healthy before the daemon was ready: the run would not measure a burst');
      const deadline = firstHealthy + SPREAD_MS + BAKE_MS + 120_000 - Date.now();
      await waitFor(async () => (await control.get<SimRequest[]>(`/_sim/requests?route=${PROMOTE_ROUTE}`)).filter((r) => r.status === 200).length >= n, `${n} promotes (daemon ${daemonUrl})`, deadline);
    });
    const [state, promotes] = await Promise.all([control.state(), control.get<SimRequest[]>(`/_sim/requests?route=${PROMOTE_ROUTE}`)]);
    const latenciesMs: number[] = [];
    let earliestBakeEnd = Infinity;
    let lastAck = 0;
    for (const d of state.deployments.filter((x) => x.JobVersion === 1 && x.JobID.startsWith('bench-'))) {
      // Promotion clears DeploymentStatus.Canary; the deployment keeps its placed canaries.
      const canaries = new Set(Object.values(d.TaskGroups).flatMap((g) => g.PlacedCanaries ?? []));
      const healthy = state.allocations.filter((a) => canaries.has(a.ID) && a.DeploymentStatus?.Healthy);
      const healthyAt = Math.max(...healthy.map((a) => Date.parse(String(a.DeploymentStatus!.Timestamp))));
      const ack = Math.min(...promotes.filter((r) => r.path.endsWith(`/${d.ID}`) && r.status === 200).map((r) => r.answeredAt ?? Infinity));
      if (!Number.isFinite(healthyAt) || !Number.isFinite(ack)) throw new Error(`bench: deployment ${d.ID} of ${d.JobID} has no healthy canary or no acknowledged promote`);
      const bakeEnd = healthyAt + BAKE_MS;
      latenciesMs.push(ack - bakeEnd);
      earliestBakeEnd = Math.min(earliestBakeEnd, bakeEnd);
      lastAck = Math.max(lastAck, ack);
    }
    if (latenciesMs.length !== n) throw new Error(`bench: expected ${n} canary deployments, found ${latenciesMs.length}`);
    return { ...measured, source, n, shape, latenciesMs, drainMs: lastAck - earliestBakeEnd };
  } finally {
    await sim.stop();
  }
}

/** How long a tracked fleet is left alone before its RSS is read: long enough for V8 to give back what filling the cache took. */
export const REST_MS = 60_000;

/** n deployments whose canaries stay unhealthy for half an hour: what tracking them costs at rest. */
export async function runIdle(source: SourceName, n: number, profiles: Profiles): Promise<RunResult> {
  const sim = await startSim(profiles.simProfileDir);
  try {
    const control = sim.control;
    await registerStable(control, n);
    await registerCanaries(control, n, () => Date.now() + 30 * 60_000);
    let rest = 0;
    let scrape: RunResult['scrape'];
    const measured = await measureDaemon(control, source, n, profiles.daemonProfileDir, async (daemon) => {
      // Tracked once every deployment's group was governed (one log line each, read from the
      // daemon's stdout so that watching does not cost the daemon anything), then left at rest.
      const governed = (): number => daemon.process.lines.filter((l) => l.includes('"msg":"group governed"')).length;
      await waitFor(async () => governed() >= n, `${n} deployments tracked`, 120_000 + n * 20, 500);
      await new Promise((resolve) => setTimeout(resolve, REST_MS));
      rest = processUsage(daemon.process.child.pid!).rssBytes;
      const started = performance.now();
      const text = await (await fetch(`${daemon.url}/metrics`)).text();
      scrape = { ms: performance.now() - started, bytes: Buffer.byteLength(text) };
    });
    return { ...measured, rssBytes: rest, source, n, shape: 'idle', latenciesMs: [], ...(scrape ? { scrape } : {}) };
  } finally {
    await sim.stop();
  }
}

/**
 * Starts a daemon on a cluster already set up, lets `until` decide when the run is over, and
 * reads what the daemon cost: Nomad requests, bytes and connections from the simulator (its
 * counts are reset first, the setup's own requests closed), CPU and RSS from the daemon.
 */
async function measureDaemon(
  control: SimControl,
  source: SourceName,
  n: number,
  daemonProfileDir: string | undefined,
  until: (daemon: Daemon) => Promise<void>,
): Promise<Pick<RunResult, 'requestsPerDeployment' | 'bytesPerDeployment' | 'bytesPerDeploymentByRoute' | 'maxConnections' | 'cpuMsPerDeployment' | 'rssBytes' | 'peakRssBytes'>> {
  await waitFor(async () => (await control.get<Connections>('/_sim/connections')).open === 0, 'the setup connections to close', 10_000, 100);
  await control.send('DELETE', '/_sim/requests');
  await control.send('POST', '/_sim/connections/reset-peak');
  const before = await control.get<Connections>('/_sim/connections');
  const daemon = await startDaemon(control, source, daemonProfileDir);
  try {
    const pid = daemon.process.child.pid!;
    const first = processUsage(pid);
    await until(daemon);
    const last = processUsage(pid);
    const connections = await control.get<Connections>('/_sim/connections');
    const requests = await control.get<SimRequest[]>('/_sim/requests');
    return {
      requestsPerDeployment: requests.length / n,
      bytesPerDeployment: (connections.bytesSent - before.bytesSent) / n,
      bytesPerDeploymentByRoute: Object.fromEntries(Object.entries(connections.bytesByRoute).map(([route, bytes]) => [route, (bytes - (before.bytesByRoute[route] ?? 0)) / n])),
      maxConnections: connections.peak,
      cpuMsPerDeployment: ((last.cpuSeconds - first.cpuSeconds) * 1000) / n,
      rssBytes: last.rssBytes,
      peakRssBytes: last.peakRssBytes,
    };
  } finally {
    await daemon.stop();
  }
}
