/**
 * A cluster whose clocks are an hour behind the promoter's: Nomad's health timestamps lie 1 h in
 * the past. The bake must still run its full length on the promoter's clock (docs/policy.md,
 * Decisions). Simulator and daemon as separate processes over HTTP.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { eventually, stableV0, startHarness, webJob, type Harness } from './harness.js';

const BAKE_MS = 3000;
const HOUR_MS = 3_600_000;

const POLICIES = {
  'web.yaml': `name: web-bake
match:
  jobs: ["web-*"]
canary:
  bake: 3s
`,
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness(POLICIES, ['--clock-offset=-1h']);
});
afterAll(() => h.close());

test('canaries whose Nomad health timestamps lie 1 h in the past are promoted no earlier than bake after the promoter first saw them healthy', async () => {
  await stableV0(h.sim, 'web-skewed');
  const daemon = await h.startDaemon();
  await h.sim.register(webJob('web-skewed', 'v1'));
  const d = await eventually(async () => {
    const x = await h.sim.latest('web-skewed');
    return x?.JobVersion === 1 && x.TaskGroups['web']!.Promoted ? x : undefined;
  }, 'web-skewed promoted', 30_000);

  const canaries = new Set(d.TaskGroups['web']!.PlacedCanaries ?? []);
  const nomadHealthyAt = Math.max(...(await h.sim.allocationsOf(d.ID)).filter((a) => canaries.has(a.ID)).map((a) => Date.parse(a.DeploymentStatus!.Timestamp!)));
  const s = (await (await fetch(`${daemon.url}/v1/deployments/${d.ID}`)).json()) as { groups: Record<string, { canariesHealthyAt: string }>; history: { action: string; at: string }[] };
  const firstSeenHealthy = Date.parse(s.groups['web']!.canariesHealthyAt);
  const promotedAt = Date.parse(s.history.find((x) => x.action === 'promote')!.at);

  // The promoter's first sight is on its own clock, an hour after Nomad's (skewed) timestamp.
  expect(firstSeenHealthy - nomadHealthyAt).toBeGreaterThanOrEqual(HOUR_MS - 1);
  expect(promotedAt - firstSeenHealthy).toBeGreaterThanOrEqual(BAKE_MS);
});
