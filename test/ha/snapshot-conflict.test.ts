/**
 * A snapshot changed in Nomad Variables behind the daemon's back (another replica wrote it)
 * makes the daemon's next check-and-set write conflict: it takes the stored copy and decides
 * again from it, keeping what the other writer recorded, and still promotes exactly once.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { resolveRunConfig } from '../../src/app/config.js';
import { startDaemon, type RunningDaemon } from '../../src/app/daemon.js';
import { createLogger } from '../../src/app/logger.js';
import type { StoredSnapshot } from '../../src/machine/machine.js';
import { HttpNomadClient } from '../../src/nomad/client.js';
import { readNomadConfig } from '../../src/nomad/config.js';
import { eventually, stableV0, startHarness, webJob, type Harness } from '../e2e/harness.js';

const POLICY = 'name: web-bake\nmatch:\n  jobs: ["cas-*"]\ncanary:\n  bake: 4s\n';
const MARKER = 'recorded by another replica';

let h: Harness;
let daemon: RunningDaemon;
let api: HttpNomadClient;
beforeAll(async () => {
  h = await startHarness({ 'web.yaml': POLICY });
  api = new HttpNomadClient(readNomadConfig({ NOMAD_ADDR: h.sim.url }).config!);
  const { config } = resolveRunConfig({ policies: h.policiesDir, listen: '127.0.0.1:0', state: 'nomad', 'watch-wait': '10s' }, { NOMAD_ADDR: h.sim.url });
  daemon = await startDaemon(config!, { logger: createLogger('silent') });
});
afterAll(async () => {
  await daemon.stop();
  api.close();
  await h.close();
});

test('a check-and-set conflict re-reads the stored snapshot and decides from it, never overwriting it', async () => {
  await stableV0(h.sim, 'cas-app');
  await h.sim.register(webJob('cas-app', 'v1'));
  const d = await eventually(async () => {
    const x = await h.sim.latest('cas-app');
    return x?.JobVersion === 1 ? x : undefined;
  }, 'cas-app v1 deployment');
  const path = `nomad-promoter/deployments/${d.ID}`;
  const stored = await eventually(() => api.readVariable(path, 'default'), 'the daemon stores its snapshot');

  // Another writer adds to the history, against the index it read.
  const theirs = JSON.parse(stored.Items['snapshot']!) as StoredSnapshot;
  theirs.context.history.push({ at: Date.now(), action: 'retry', groups: ['web'], outcome: 'ok', reason: MARKER, evidence: [], source: 'human', who: 'replica-b' });
  await api.writeVariable(path, 'default', { snapshot: JSON.stringify(theirs) }, stored.ModifyIndex);

  await eventually(async () => (await h.sim.state()).deployments.find((x) => x.ID === d.ID)?.TaskGroups['web']?.Promoted, 'promoted', 30_000);
  const promotes = (await h.sim.writesTo(d.ID)).filter((r) => r.route === '/v1/deployment/promote/:id');
  expect(promotes).toHaveLength(1);
  const history = await eventually(async () => {
    const s = JSON.parse((await api.readVariable(path, 'default'))!.Items['snapshot']!) as StoredSnapshot;
    return s.context.history.some((r) => r.action === 'promote' && r.outcome === 'ok') ? s.context.history : undefined;
  }, 'the promote recorded');
  expect(history.filter((r) => r.reason === MARKER)).toHaveLength(1);
  const view = (await (await fetch(`${daemon.url}/v1/deployments/${d.ID}`)).json()) as { history: { reason: string }[] };
  expect(view.history.map((r) => r.reason)).toContain(MARKER);
}, 60_000);
