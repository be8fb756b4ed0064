/**
 * The watch against a simulator that answers badly: index 0 or no index at once, bodies that are
 * not lists, a server that never answers.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import pino from 'pino';
import { HttpNomadClient } from '../../src/nomad/client.js';
import { readNomadConfig } from '../../src/nomad/config.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import type { Fault } from '../../src/simulator/control/faults.js';
import { ClusterCache } from '../../src/watch/cache.js';
import { Watcher, type WatcherOptions } from '../../src/watch/watcher.js';
import { eventually } from '../support/eventually.js';
import { SimClient, webJob } from '../simulator/helpers.js';

let sim: RunningSimulator;
let clients: HttpNomadClient[] = [];
let watcher: Watcher | undefined;

beforeEach(async () => {
  sim = await startSimulator({ apps: false });
});
afterEach(async () => {
  await watcher?.stop();
  watcher = undefined;
  for (const c of clients) c.close();
  clients = [];
  await sim.close();
});

function client(): HttpNomadClient {
  const c = new HttpNomadClient(readNomadConfig({ NOMAD_ADDR: sim.url }).config!, { retries: 0, blockingMarginMs: 200, requestTimeoutMs: 2000 });
  clients.push(c);
  return c;
}

function fault(kind: Fault['kind'], path: string, count: number): void {
  sim.services.faults.add({ kind, count, ms: 0, to: 0, bytes: 0, path });
}

function start(options: Partial<WatcherOptions> = {}): Watcher {
  watcher = new Watcher({
    deploymentsApi: client(),
    allocationsApi: client(),
    cache: new ClusterCache(),
    namespace: '*',
    waitMs: 1000,
    resyncMs: 3_600_000,
    onChange: () => undefined,
    onError: () => undefined,
    logger: pino({ level: 'silent' }),
    ...options,
  });
  watcher.start();
  return watcher;
}

const requestsTo = (path: string) => sim.services.requests.list().filter((r) => r.path === path);

describe('watch pacing', () => {
  for (const kind of ['index-zero', 'no-index'] as const) {
    test(`${kind} on every answer: the loop keeps blocking on index 1 and never sends faster than its floor`, async () => {
      fault(kind, '/v1/deployments', 1000);
      // A 1 ms wait: every blocking query comes back at once, as from a server that never blocks.
      start({ minIntervalMs: 200, waitMs: 1 });
      await eventually(async () => requestsTo('/v1/deployments').length >= 6, 'six deployment requests');
      const sent = requestsTo('/v1/deployments');
      const gaps = sent.slice(1).map((r, i) => r.at - sent[i]!.at);
      // Arrivals jitter by the time each request takes to reach the simulator; a spinning loop
      // would show gaps of a millisecond or two.
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(150);
      // One full list, then blocking queries on 1: a 0 answer is no change, not a reset.
      expect(sent.map((r) => r.query.index ?? null).slice(0, 6)).toEqual([null, '1', '1', '1', '1', '1']);
    });
  }

  test('a burst of writes: lists are spaced by a multiple of what the last one cost, and the burst is read together', async () => {
    // No floor, and a factor so large that any list's cost (above a microsecond) reaches the cap.
    const cache = new ClusterCache();
    start({ cache, minIntervalMs: 0, listCostFactor: 1_000_000, maxIntervalMs: 1000 });
    await eventually(async () => watcher!.notReadyReason === undefined, 'ready');
    const nomad = new SimClient(sim);
    const tables = ['/v1/deployments', '/v1/allocations'];
    // New versions of one job, one after the other, until each table was listed four times.
    let writes = 0;
    while (tables.some((path) => requestsTo(path).length < 4)) await nomad.register(webJob({ id: 'burst', count: 1, image: `app:${++writes}` }));
    await eventually(async () => cache.allDeployments().some((d) => d.JobVersion === writes - 1), 'the last version seen');
    for (const path of tables) {
      const sent = requestsTo(path);
      const gaps = sent.slice(1).map((r, i) => r.at - sent[i]!.at);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(950);
      expect(sent.length * 10).toBeLessThan(writes);
    }
  });
});

describe('failures of any kind back off', () => {
  test('a null body over and over: each retry waits longer than the one before', async () => {
    fault('null-body', '/v1/allocations', 6);
    const delays: number[] = [];
    const errors: string[] = [];
    start({
      minBackoffMs: 10,
      maxBackoffMs: 60_000,
      minIntervalMs: 0,
      onError: (table, err, retryInMs) => {
        if (table !== 'allocations') return;
        delays.push(retryInMs);
        errors.push((err as Error).message);
      },
    });
    await eventually(async () => delays.length === 6 && watcher!.notReadyReason === undefined, 'six failures, then ready');
    for (let i = 1; i < delays.length; i++) expect(delays[i]!).toBeGreaterThanOrEqual(delays[i - 1]!);
    // 10 ms doubling five times: the sixth wait is at least 160 ms, never stuck at the first step.
    expect(delays[5]!).toBeGreaterThanOrEqual(160);
    expect(errors[0]).toBe('Nomad answered the allocations list with null, not a list of objects');
  });
});

describe('readiness while Nomad says nothing', () => {
  test('a server that accepts and never answers turns readiness off before any request times out, and back on when it answers', async () => {
    const probeClient = client();
    start({ waitMs: 60_000, silenceMs: 600, probe: (signal) => probeClient.listDeployments({ perPage: 1, signal }) });
    await eventually(async () => watcher!.notReadyReason === undefined, 'ready');
    // The long-polls now block for up to a minute; a healthy server answers the probe meanwhile.
    const probes = () => requestsTo('/v1/deployments').filter((r) => r.query.per_page === '1').length;
    await eventually(async () => probes() >= 2, 'two probes answered');
    expect(watcher!.notReadyReason).toBeUndefined();

    fault('hang', '/v1/deployments', 1000);
    const reason = await eventually(async () => watcher!.notReadyReason, 'not ready');
    expect(reason).toMatch(/^nothing heard from Nomad for \d+ s$/);

    sim.services.faults.clear();
    await eventually(async () => watcher!.notReadyReason === undefined, 'ready again');
  });
});
