/**
 * --state nomad: snapshots in Nomad Variables. A promoter killed mid-analysis and started again
 * continues the analysis where it was (measurements kept), and promotes exactly once.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { eventually, stableV0, startHarness, webJob, type Harness } from './harness.js';

const POLICY = `name: keep
match:
  jobs: ["keep-*"]
checks:
  healthz:
    scope: allocation
    http:
      url: "http://{{ alloc.addr.http }}/healthz"
      timeout: 1s
    pass: "response.status == 200"
    interval: 1s
    count: 8
canary:
  analysis: [healthz]
  bake: 0s
`;

interface CheckView {
  check: string;
  measurements: number;
}
interface StatusView {
  state: string;
  groups: Record<string, { checks: CheckView[] }>;
  history: { action: string; outcome: string }[];
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ 'keep.yaml': POLICY });
});
afterAll(() => h.close());

const measured = (s: StatusView | undefined) => s?.groups['web']?.checks.find((c) => c.check === 'healthz')?.measurements ?? 0;

test('a restarted promoter continues the analysis from Nomad Variables and promotes once', async () => {
  await stableV0(h.sim, 'keep-app');
  const first = await h.startDaemon(['--state', 'nomad']);
  await h.sim.register(webJob('keep-app', 'v1'));
  const d = await eventually(async () => {
    const x = await h.sim.latest('keep-app');
    return x?.JobVersion === 1 ? x : undefined;
  }, 'keep-app v1 deployment');
  const statusOf = async (url: string): Promise<StatusView | undefined> => {
    const res = await fetch(`${url}/v1/deployments/${d.ID}`);
    return res.ok ? ((await res.json()) as StatusView) : undefined;
  };
  const before = await eventually(async () => {
    const s = await statusOf(first.url);
    return measured(s) >= 6 ? measured(s) : undefined;
  }, 'some measurements taken', 30_000);
  await first.process.stop('SIGKILL');

  const second = await h.startDaemon(['--state', 'nomad']);
  await second.process.waitForLine(/snapshots loaded from Nomad Variables/);
  const resumed = await eventually(statusOf.bind(null, second.url), 'the deployment known to the new promoter', 15_000);
  expect(measured(resumed)).toBeGreaterThanOrEqual(before);

  await eventually(async () => (await h.sim.latest('keep-app'))?.TaskGroups['web']!.Promoted, 'promoted', 30_000);
  const writes = (await h.sim.writesTo(d.ID)).map((w) => w.route);
  expect(writes).toEqual(['/v1/deployment/promote/:id']);
  const variableWrites = (await h.sim.requests()).filter((r) => r.route === '/v1/var/:path' && r.method === 'PUT');
  expect(variableWrites.length).toBeGreaterThan(0);
  const after = (await statusOf(second.url))!;
  expect(after.history.map((x) => [x.action, x.outcome])).toEqual([['promote', 'ok']]);
}, 90_000);
