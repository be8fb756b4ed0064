/**
 * Nomad answers that must not hurt, end to end: unreadable bodies, a 403, null lists, a gzip
 * bomb and answers without a usable index, from the simulator to the daemon's own process.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { eventually, stableV0, startHarness, webJob, type Harness } from './harness.js';

const POLICIES = { 'web.yaml': 'name: web-bake\nmatch:\n  jobs: ["web-*"]\ncanary:\n  bake: 3s\n' };

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('bad answers mid-bake', () => {
  test('unreadable reads, a 403 on the promote, null lists and a gzip bomb: the canaries are still promoted, once, long before any resync', async () => {
    h = await startHarness(POLICIES);
    const harness = h;
    await stableV0(harness.sim, 'web-bad');
    // Resync far away: only the retry of the failed effect can promote in time.
    const daemon = await harness.startDaemon(['--watch-source', 'blocking', '--watch-wait', '2s', '--resync-interval', '1h', '--max-response-size', '1MiB']);
    await eventually(async () => (await fetch(`${daemon.url}/readyz`)).status === 200, 'ready');
    await harness.sim.register(webJob('web-bad', 'v1'));
    const baking = await eventually(async () => {
      const list = (await (await fetch(`${daemon.url}/v1/deployments`)).json()) as { id: string; version: number; state: string }[];
      return list.find((d) => d.version === 1 && d.state === 'baking');
    }, 'baking');

    const faults = [
      { kind: 'forbidden', count: 1, path: '/v1/deployment/promote' },
      { kind: 'malformed', count: 8, path: '/v1/deployment/' },
      { kind: 'null-body', count: 5, path: '/v1/deployments' },
      { kind: 'gzip-bomb', count: 2, bytes: 64 * 1024 * 1024, path: '/v1/allocations' },
    ];
    for (const f of faults) await harness.sim.send('POST', '/_sim/faults', f);

    await eventually(async () => (await harness.sim.latest('web-bad'))?.TaskGroups['web']!.Promoted === true, 'promoted through bad answers', 30_000);
    expect((await harness.sim.writesTo(baking.id)).map((r) => [r.route, r.status])).toEqual([
      ['/v1/deployment/promote/:id', 403],
      ['/v1/deployment/promote/:id', 200],
    ]);
    expect(await harness.sim.get<unknown[]>('/_sim/faults')).toEqual([]);
    const detail = (await (await fetch(`${daemon.url}/v1/deployments/${baking.id}`)).json()) as { history: { action: string; outcome: string }[] };
    // Every failed attempt is in the history; the decision itself was carried out once.
    const outcomes = detail.history.filter((x) => x.action === 'promote').map((x) => x.outcome);
    expect(outcomes.at(-1)).toBe('ok');
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    // The daemon is still there, and its watches are healthy again.
    await eventually(async () => (await fetch(`${daemon.url}/readyz`)).status === 200, 'ready again');
  }, 90_000);
});

describe('answers without a usable index', () => {
  for (const kind of ['index-zero', 'no-index']) {
    test(`${kind} on every watch answer: each watch keeps a floor between requests instead of spinning`, async () => {
      h = await startHarness(POLICIES);
      const harness = h;
      await stableV0(harness.sim, 'web-idx');
      for (const path of ['/v1/deployments', '/v1/allocations']) await harness.sim.send('POST', '/_sim/faults', { kind, count: 100_000, path });
      // A 1 ms wait: every blocking query comes back at once, as from a server that never blocks.
      const daemon = await harness.startDaemon(['--watch-source', 'blocking', '--watch-wait', '1ms']);
      await eventually(async () => (await fetch(`${daemon.url}/readyz`)).status === 200, 'ready');
      await harness.sim.send('DELETE', '/_sim/requests');
      await eventually(async () => (await harness.sim.requests()).filter((r) => r.route === '/v1/deployments').length >= 8, 'eight deployment watch requests');
      const requests = await harness.sim.requests();
      for (const route of ['/v1/deployments', '/v1/allocations']) {
        const sent = requests.filter((r) => r.route === route);
        const gaps = sent.slice(1).map((r, i) => r.at - sent[i]!.at);
        // The floor is 200 ms between sends; arrivals jitter by the time each request takes to
        // reach the simulator. A spinning loop would show gaps of a millisecond or two.
        expect(Math.min(...gaps)).toBeGreaterThanOrEqual(150);
        // Blocking on 1 throughout: a missing or 0 index is never a reason to re-list.
        expect(sent.every((r) => r.query.index === '1')).toBe(true);
      }
    }, 60_000);
  }
});

describe('a Nomad that accepts and never answers', () => {
  test('/readyz turns 503 well within the default 5 m wait, and 200 again once Nomad answers', async () => {
    h = await startHarness(POLICIES);
    const harness = h;
    const daemon = await harness.startDaemon(['--watch-source', 'blocking', '--watch-wait', '5m']);
    await eventually(async () => (await fetch(`${daemon.url}/readyz`)).status === 200, 'ready');
    for (const path of ['/v1/deployments', '/v1/allocations']) await harness.sim.send('POST', '/_sim/faults', { kind: 'hang', count: 100_000, path });
    // A new job wakes both long-polls: their next requests, and every probe, meet the hang.
    await harness.sim.register(webJob('web-hang', 'v0'));
    const body = await eventually(async () => {
      const res = await fetch(`${daemon.url}/readyz`);
      return res.status === 503 ? ((await res.json()) as { reason: string }) : undefined;
    }, '503 while Nomad says nothing', 45_000);
    expect(body.reason).toMatch(/^nothing heard from Nomad for \d+ s$/);

    await harness.sim.send('DELETE', '/_sim/faults');
    await eventually(async () => (await fetch(`${daemon.url}/readyz`)).status === 200, 'ready once Nomad answers the probe', 45_000);
  }, 110_000);
});
