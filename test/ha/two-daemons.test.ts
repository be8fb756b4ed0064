/**
 * `run --ha` with two daemons in this process against one simulator (in its own process): one
 * leads and promotes every deployment exactly once; the standby answers with the leader's name
 * and refuses actions with 503; stopping the leader hands over at once, and the new leader
 * finishes what the old one started from the snapshots it stored.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { resolveRunConfig } from '../../src/app/config.js';
import { startDaemon, type RunningDaemon } from '../../src/app/daemon.js';
import { createLogger } from '../../src/app/logger.js';
import { eventually, stableV0, startHarness, webJob, type Harness } from '../e2e/harness.js';

const POLICY = 'name: web-bake\nmatch:\n  jobs: ["ha-*"]\ncanary:\n  bake: 3s\n';
const API_TOKEN = 'ha-test-api-token';

let h: Harness;
const daemons: RunningDaemon[] = [];
beforeAll(async () => {
  h = await startHarness({ 'web.yaml': POLICY });
});
afterAll(async () => {
  for (const d of daemons) await d.stop();
  await h.close();
});

async function replica(identity: string): Promise<RunningDaemon> {
  const { config, errors } = resolveRunConfig(
    { policies: h.policiesDir, listen: '127.0.0.1:0', state: 'nomad', ha: true, 'ha-identity': identity, 'ha-lock-ttl': '10s', 'ha-lock-delay': '1s', 'watch-wait': '10s' },
    { NOMAD_ADDR: h.sim.url, NOMAD_TOKEN: `token-${identity}`, PROMOTER_API_TOKEN: API_TOKEN },
  );
  expect(errors).toEqual([]);
  const d = await startDaemon(config!, { logger: createLogger('silent') });
  daemons.push(d);
  return d;
}

const leaderGauge = async (d: RunningDaemon): Promise<number> => Number(/^nomad_promoter_leader (\d)$/m.exec(await (await fetch(`${d.url}/metrics`)).text())?.[1]);
const promotesOf = async (deploymentId: string) => (await h.sim.writesTo(deploymentId)).filter((r) => r.route === '/v1/deployment/promote/:id').length;

async function canaryDeployment(job: string): Promise<string> {
  await h.sim.register(webJob(job, 'v1'));
  const d = await eventually(async () => {
    const x = await h.sim.latest(job);
    return x?.JobVersion === 1 ? x : undefined;
  }, `${job} v1 deployment`);
  return d.ID;
}

test('one of two replicas leads and promotes each deployment once; the other names it and refuses actions', async () => {
  const jobs = ['ha-a', 'ha-b', 'ha-c'];
  for (const job of jobs) await stableV0(h.sim, job);
  const a = await replica('a');
  await eventually(async () => (await leaderGauge(a)) === 1, 'a leads');
  const b = await replica('b');

  const ids = await Promise.all(jobs.map(canaryDeployment));
  for (const id of ids) {
    await eventually(async () => (await h.sim.state()).deployments.find((d) => d.ID === id)?.TaskGroups['web']?.Promoted, `${id} promoted`, 30_000);
  }
  expect(await Promise.all(ids.map(promotesOf))).toEqual([1, 1, 1]);
  expect(await leaderGauge(b)).toBe(0);

  const list = await fetch(`${b.url}/v1/deployments`);
  expect([list.headers.get('x-promoter-role'), list.headers.get('x-promoter-leader')]).toEqual(['standby', 'a']);
  // The standby shows what the leader stored once it has re-read it.
  await eventually(async () => ((await (await fetch(`${b.url}/v1/deployments`)).json()) as unknown[]).length === ids.length, 'standby lists what the leader stored', 20_000);
  expect((await fetch(`${b.url}/readyz`)).status).toBe(200);
  const refused = await fetch(`${b.url}/v1/deployments/${ids[0]}/promote`, { method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}` }, body: '{}' });
  expect(refused.status).toBe(503);
  expect(await refused.json()).toEqual({ error: 'this replica (b) is a standby and does not act: the leader is a; send the action to the leader', leader: 'a' });
  const own = await fetch(`${a.url}/v1/deployments`);
  expect([own.headers.get('x-promoter-role'), own.headers.get('x-promoter-leader')]).toEqual(['leader', 'a']);
}, 90_000);

test('stopping the leader mid-bake hands over: the standby takes the lock and promotes once', async () => {
  const [a, b] = daemons as [RunningDaemon, RunningDaemon];
  await stableV0(h.sim, 'ha-d');
  const id = await canaryDeployment('ha-d');
  // a has seen the deployment and stored its snapshot; then it stops and releases the lock.
  await eventually(async () => (await fetch(`${a.url}/v1/deployments/${id}`)).ok, 'a tracks ha-d');
  expect(await promotesOf(id)).toBe(0);
  await a.stop();
  daemons.splice(0, 1);
  await eventually(async () => (await leaderGauge(b)) === 1, 'b leads');
  await eventually(async () => (await h.sim.state()).deployments.find((d) => d.ID === id)?.TaskGroups['web']?.Promoted, 'ha-d promoted', 30_000);
  expect(await promotesOf(id)).toBe(1);
  const metrics = await (await fetch(`${b.url}/metrics`)).text();
  expect(metrics).toMatch(/^nomad_promoter_leader_transitions_total 1$/m);
}, 90_000);
