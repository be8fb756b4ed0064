/**
 * Issue 9 acceptance, end to end: three `run --ha --state nomad` processes against the simulator
 * in its own process, each with its own ACL token so the simulator's request log says which
 * replica sent every request (by accessor ID). Ten canary deployments turn healthy at staggered
 * times across three faults of the leader: SIGKILL, SIGSTOP past its lease, and a partition of
 * its lock requests. Throughout, the replicas' /metrics are sampled: never two leaders.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Job } from '../../src/domain/nomad.js';
import type { RunningProcess } from '../support/processes.js';
import { eventually, SECOND_NS, stableV0, startHarness, webJob, type Harness, type SimRequest } from './harness.js';

const TTL_MS = 10_000;
const LOCK_DELAY_MS = 1_000;
/** Nomad frees an abandoned lock 2×TTL + LockDelay after the last renew; a standby tries every 2 s. */
const TAKEOVER_MS = 2 * TTL_MS + LOCK_DELAY_MS + 2_000;
const SLACK_MS = 5_000;
const POLICY = 'name: ha-bake\nmatch:\n  jobs: ["ha-*"]\ncanary:\n  bake: 4s\n';
const TEST_TOKEN = 'ha-e2e-test-token';

interface Replica {
  name: string;
  token: string;
  accessor: string;
  process: RunningProcess;
  url: string;
  /** SIGSTOPped: its /metrics is not sampled (it cannot answer). */
  frozen: boolean;
}

interface Sample {
  at: number;
  /** Replica name → nomad_promoter_leader, or null when it did not answer. */
  leader: Record<string, number | null>;
}

let h: Harness;
const replicas: Replica[] = [];
const samples: Sample[] = [];
/** [from, to] wall-clock windows in which no leader is allowed: a fault until a new leader shows. */
const takeovers: [number, number][] = [];
const deployments = new Map<string, string>();
let sampling = true;
let sampler: Promise<void> = Promise.resolve();

async function leaderGauge(r: Replica): Promise<number | null> {
  try {
    const text = await (await fetch(`${r.url}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    const m = /^nomad_promoter_leader (\d)$/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function sample(): Promise<Sample> {
  const live = replicas.filter((r) => !r.frozen && r.process.child.exitCode === null && r.process.child.signalCode === null);
  const values = await Promise.all(live.map(async (r) => [r.name, await leaderGauge(r)] as const));
  return { at: Date.now(), leader: Object.fromEntries(values) };
}

async function sampleUntilStopped(): Promise<void> {
  while (sampling) {
    samples.push(await sample());
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The one replica that reports leader = 1 now (and every other live one 0). */
async function soleLeader(): Promise<Replica | undefined> {
  const s = await sample();
  const leaders = Object.entries(s.leader).filter(([, v]) => v === 1);
  if (leaders.length !== 1 || Object.values(s.leader).some((v) => v === null)) return undefined;
  return replicas.find((r) => r.name === leaders[0]![0] && !r.frozen);
}

async function startReplica(name: string, token: string, accessor: string): Promise<Replica> {
  const { process, url } = await h.startDaemon(
    ['--state', 'nomad', '--ha', '--ha-identity', name, '--ha-lock-ttl', `${TTL_MS / 1000}s`, '--ha-lock-delay', `${LOCK_DELAY_MS / 1000}s`],
    { NOMAD_TOKEN: token },
  );
  const r: Replica = { name, token, accessor, process, url, frozen: false };
  replicas.push(r);
  return r;
}

/** Canaries that turn healthy `healthyAfterS` after placement; then the 4 s bake runs. */
function canaryJob(id: string, healthyAfterS: number): Job {
  const job = webJob(id, 'v1');
  job.TaskGroups[0]!.Update!.MinHealthyTime = healthyAfterS * SECOND_NS;
  job.TaskGroups[0]!.Update!.HealthyDeadline = 120 * SECOND_NS;
  return job;
}

async function releaseCanaries(jobs: [string, number][]): Promise<void> {
  for (const [id, healthyAfterS] of jobs) {
    await h.sim.register(canaryJob(id, healthyAfterS));
    const d = await eventually(async () => {
      const x = await h.sim.latest(id);
      return x?.JobVersion === 1 ? x : undefined;
    }, `${id} v1 deployment`);
    deployments.set(id, d.ID);
  }
}

const isLockOp = (r: SimRequest) => 'lock-acquire' in r.query || 'lock-renew' in r.query || 'lock-release' in r.query;
const promotesOf = (log: SimRequest[], job: string) => log.filter((r) => r.route === '/v1/deployment/promote/:id' && r.path.endsWith(`/${deployments.get(job)}`)).length;

async function promoted(job: string): Promise<boolean> {
  const id = deployments.get(job);
  return (await h.sim.state()).deployments.find((d) => d.ID === id)?.TaskGroups['web']?.Promoted === true;
}

async function waitPromoted(jobs: string[], timeoutMs: number): Promise<void> {
  for (const job of jobs) await eventually(() => promoted(job), `${job} promoted`, timeoutMs, 200);
}

/** Waits for a leader other than `old` to show; records the window with no leader; returns it. */
async function takeover(old: Replica, faultAt: number): Promise<Replica> {
  const next = await eventually(async () => {
    const l = await soleLeader();
    return l && l.accessor !== old.accessor ? l : undefined;
  }, `a replica other than ${old.name} leads`, TAKEOVER_MS + SLACK_MS + 10_000, 200);
  takeovers.push([faultAt, Date.now()]);
  return next;
}

beforeAll(async () => {
  h = await startHarness({ 'ha.yaml': POLICY });
  const tokens = { [TEST_TOKEN]: ['management'], 'token-r1': ['management'], 'token-r2': ['management'], 'token-r3': ['management'] };
  const { accessors } = (await h.sim.send('PUT', '/_sim/acl', { enabled: true, tokens })) as { accessors: string[] };
  h.sim.token = TEST_TOKEN;
  await Promise.all(Array.from({ length: 10 }, (_, i) => stableV0(h.sim, `ha-${i}`)));
  for (const i of [1, 2, 3]) await startReplica(`r${i}`, `token-r${i}`, accessors[i]!);
  await eventually(soleLeader, 'one replica leads', 30_000, 200);
  takeovers.push([0, Date.now()]);
  sampler = sampleUntilStopped();
}, 60_000);

afterAll(async () => {
  sampling = false;
  await sampler;
  for (const r of replicas) if (r.frozen) r.process.child.kill('SIGCONT');
  await h.close();
});

test('SIGKILL of the leader mid-bake: another leads within 2×TTL + LockDelay and promotes the rest once', async () => {
  const leader = (await soleLeader())!;
  await releaseCanaries([['ha-0', 1], ['ha-1', 2], ['ha-2', 3], ['ha-3', 4]]);
  await waitPromoted(['ha-0'], 20_000);
  expect(await promoted('ha-3')).toBe(false);
  const killedAt = Date.now();
  await leader.process.stop('SIGKILL');

  await takeover(leader, killedAt);
  expect(Date.now() - killedAt).toBeLessThan(TAKEOVER_MS + SLACK_MS);
  await waitPromoted(['ha-1', 'ha-2', 'ha-3'], 20_000);
  const log = await h.sim.requests();
  expect(['ha-0', 'ha-1', 'ha-2', 'ha-3'].map((j) => promotesOf(log, j))).toEqual([1, 1, 1, 1]);
}, 60_000);

test('SIGSTOP of the leader past its lease: another takes over; after SIGCONT it writes nothing and reports leader 0', async () => {
  const leader = (await soleLeader())!;
  await releaseCanaries([['ha-4', 1], ['ha-5', 3], ['ha-6', 5]]);
  await waitPromoted(['ha-4'], 20_000);
  leader.frozen = true;
  leader.process.child.kill('SIGSTOP');
  const stoppedAt = Date.now();

  await takeover(leader, stoppedAt);
  await waitPromoted(['ha-5', 'ha-6'], 20_000);
  // Nomad only frees a lock 2×TTL + LockDelay after the last renew, so the freeze outlasted it.
  expect(Date.now() - stoppedAt).toBeGreaterThan(2 * TTL_MS + LOCK_DELAY_MS);

  const resumedFrom = (await h.sim.requests()).length;
  leader.process.child.kill('SIGCONT');
  leader.frozen = false;
  const sinceResume = async () => (await h.sim.requests()).slice(resumedFrom).filter((r) => r.accessor === leader.accessor);
  // Running again: it answers leader 0 and contends (its acquire attempts reach the simulator).
  await eventually(async () => (await leaderGauge(leader)) === 0 && (await sinceResume()).some((r) => 'lock-acquire' in r.query), `${leader.name} resumed as a standby`, 15_000, 200);
  const writes = (await sinceResume()).filter((r) => r.method !== 'GET' && !('lock-acquire' in r.query && r.status === 409));
  expect(writes).toEqual([]);
  const log = await h.sim.requests();
  expect(['ha-4', 'ha-5', 'ha-6'].map((j) => promotesOf(log, j))).toEqual([1, 1, 1]);
}, 70_000);

test('a leader partitioned from Nomad stops writing within TTL; another takes over; nothing is acted on twice', async () => {
  const leader = (await soleLeader())!;
  await releaseCanaries([['ha-7', 1], ['ha-8', 3], ['ha-9', 5]]);
  await waitPromoted(['ha-7'], 20_000);
  const partitionedAt = Date.now();
  await h.sim.send('POST', '/_sim/lock-faults', { kind: 'partition', token: leader.token });

  await takeover(leader, partitionedAt);
  await waitPromoted(['ha-8', 'ha-9'], 20_000);
  const log = await h.sim.requests();
  const late = log.filter((r) => r.accessor === leader.accessor && r.method !== 'GET' && !isLockOp(r) && r.at > partitionedAt + TTL_MS);
  expect(late).toEqual([]);
  expect(['ha-7', 'ha-8', 'ha-9'].map((j) => promotesOf(log, j))).toEqual([1, 1, 1]);
  await h.sim.send('DELETE', '/_sim/lock-faults');
}, 70_000);

test('throughout: never two leaders, one outside takeovers; each deployment promoted once; every write from the lock holder', async () => {
  sampling = false;
  await sampler;
  const duringTakeover = (at: number) => takeovers.some(([from, to]) => at >= from && at <= to);
  const badSamples = samples.filter((s) => {
    const leaders = Object.values(s.leader).filter((v) => v === 1).length;
    return leaders > 1 || (leaders === 0 && !duringTakeover(s.at));
  });
  expect(samples.length).toBeGreaterThan(50);
  expect(badSamples).toEqual([]);

  const log = await h.sim.requests();
  expect(Array.from({ length: 10 }, (_, i) => promotesOf(log, `ha-${i}`))).toEqual(Array(10).fill(1));

  // The holder: whoever's acquire last succeeded. A write must come from it, and within TTL of
  // its last successful acquire or renew (the fence), so never after Nomad could free the lock.
  const ours = new Set(replicas.map((r) => r.accessor));
  const violations: string[] = [];
  let holder: string | undefined;
  const lastGood = new Map<string, number>();
  for (const r of log) {
    if (!r.accessor || !ours.has(r.accessor)) continue;
    if (('lock-acquire' in r.query || 'lock-renew' in r.query) && r.status === 200) {
      if ('lock-acquire' in r.query) holder = r.accessor;
      lastGood.set(r.accessor, r.at);
      continue;
    }
    if (r.method === 'GET' || isLockOp(r)) continue;
    const who = replicas.find((x) => x.accessor === r.accessor)!.name;
    if (r.accessor !== holder) violations.push(`${r.method} ${r.path} by ${who}, not the holder`);
    else if (r.at - (lastGood.get(r.accessor) ?? -Infinity) >= TTL_MS) violations.push(`${r.method} ${r.path} by ${who} ${r.at - lastGood.get(r.accessor)!} ms after its last good renew`);
  }
  expect(violations).toEqual([]);
  // The daemons did write (promotions, snapshots): the check above was not vacuous.
  expect(log.filter((r) => r.accessor && ours.has(r.accessor) && r.method !== 'GET' && !isLockOp(r)).length).toBeGreaterThan(20);
});
