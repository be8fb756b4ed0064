/**
 * Notifications never hold up a decision, end to end: the daemon and the simulator as separate
 * processes, webhooks to a local receiver. Two runs side by side in one daemon, each a deployment
 * failed at its canary timeout (told first) and then one promoted after its bake: one receiver
 * answers at once, the other hangs on the first webhook until the promote has reached Nomad.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ServerResponse } from 'node:http';
import type { Deployment } from '../../src/domain/nomad.js';
import { startServer, type LocalServer } from '../checks/local-server.js';
import { eventually, stableV0, startHarness, webJob, type Harness } from './harness.js';

const BAKE_MS = 2_000;
const RUNS = ['quick', 'hang'] as const;
type Run = (typeof RUNS)[number];

/** Per run: a policy that fails at the canary timeout (the bake outlasts it), and one that promotes after the bake. */
function policies(port: number): Record<string, string> {
  const notify = (run: Run) => `notify:
  - webhook:
      url: http://127.0.0.1:${port}/${run}
    on: [failed, promoted]
    timeout: 30s
`;
  return Object.fromEntries(
    RUNS.flatMap((run) => [
      [`${run}-bad.yaml`, `name: ${run}-bad\nmatch:\n  jobs: ["${run}-bad"]\ncanary:\n  bake: 1m\n  timeout: 1s\n  onTimeout: fail\n${notify(run)}`],
      [`${run}-good.yaml`, `name: ${run}-good\nmatch:\n  jobs: ["${run}-good"]\ncanary:\n  bake: ${BAKE_MS / 1000}s\n${notify(run)}`],
    ]),
  );
}

let h: Harness;
let receiver: LocalServer;
/** The hang run's requests, unanswered until released. */
const hanging: ServerResponse[] = [];

beforeAll(async () => {
  receiver = await startServer((req, res) => {
    if (req.url === '/hang') hanging.push(res);
    else res.end();
  });
  h = await startHarness(policies(receiver.port));
});
afterAll(async () => {
  await h.close();
  await receiver.close();
});

const received = (run: Run) => receiver.requests.filter((r) => r.url === `/${run}`).map((r) => JSON.parse(r.body) as { event: string; job: string; url?: string });

/** From the last canary becoming healthy (the simulator's clock) to the promote request in its log. */
async function promoteDelay(d: Deployment): Promise<number> {
  const canaries = new Set(d.TaskGroups['web']!.PlacedCanaries ?? []);
  const healthyAt = Math.max(...(await h.sim.allocationsOf(d.ID)).filter((a) => canaries.has(a.ID)).map((a) => Date.parse(a.DeploymentStatus!.Timestamp!)));
  const writes = await h.sim.writesTo(d.ID);
  expect(writes.map((w) => [w.route, w.status])).toEqual([['/v1/deployment/promote/:id', 200]]);
  return writes[0]!.at - healthyAt;
}

async function run(name: Run): Promise<number> {
  await h.sim.register(webJob(`${name}-bad`, 'v1'));
  await eventually(async () => received(name).length === 1, `${name}: the failed webhook at the receiver`);
  await h.sim.register(webJob(`${name}-good`, 'v1'));
  const promoted = await eventually(async () => {
    const d = await h.sim.latest(`${name}-good`);
    return d?.JobVersion === 1 && d.TaskGroups['web']!.Promoted ? d : undefined;
  }, `${name}-good promoted`);
  if (name === 'hang') {
    // Nomad has the promote while the receiver still sits on the first webhook; the next waits behind it.
    expect(hanging.map((res) => res.writableEnded)).toEqual([false]);
    expect(received('hang')).toHaveLength(1);
  }
  return promoteDelay(promoted);
}

test('a receiver that hangs delays no decision; its webhooks arrive, in order, once it answers', async () => {
  await Promise.all(RUNS.flatMap((r) => [stableV0(h.sim, `${r}-bad`), stableV0(h.sim, `${r}-good`)]));
  const daemon = await h.startDaemon(['--external-url', 'https://promoter.example.com/']);

  const [quick, hang] = await Promise.all([run('quick'), run('hang')]);
  // Both promoted after their bake, and the hung receiver made the promote no later than the other's.
  expect(quick).toBeGreaterThanOrEqual(BAKE_MS);
  expect(hang).toBeGreaterThanOrEqual(BAKE_MS);
  expect(Math.abs(hang - quick)).toBeLessThan(BAKE_MS / 2);

  for (const res of hanging.splice(0)) res.end();
  await eventually(async () => {
    for (const res of hanging.splice(0)) res.end();
    return received('hang').length === 2;
  }, 'the promoted webhook after the receiver answered');
  for (const name of RUNS) {
    expect(received(name).map((b) => [b.event, b.job])).toEqual([
      ['failed', `${name}-bad`],
      ['promoted', `${name}-good`],
    ]);
  }
  const good = (await h.sim.latest('hang-good'))!;
  expect(received('hang')[1]!.url).toBe(`https://promoter.example.com/#/deployments/${good.ID}`);
  await eventually(async () => (await (await fetch(`${daemon.url}/metrics`)).text()).includes('nomad_promoter_notifications_total{target="webhook",result="ok"} 4'), 'four delivered');
  expect(await daemon.process.stop('SIGTERM')).toBe(0);
});
