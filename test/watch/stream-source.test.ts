import { afterEach, describe, expect, test } from '@jest/globals';
import pino from 'pino';

import { DEFAULT_MAX_RESPONSE_BYTES, HttpNomadClient } from '../../src/nomad/client.js';
import { readNomadConfig } from '../../src/nomad/config.js';
import { HttpTransport } from '../../src/nomad/transport.js';
import type { SimulatorOptions } from '../../src/simulator/index.js';
import { ClusterCache } from '../../src/watch/cache.js';
import { StreamSource } from '../../src/watch/stream-source.js';
import { SimClient, webJob, withSim } from '../simulator/helpers.js';
import { eventually } from '../support/eventually.js';

interface Setup {
  c: SimClient;
  cache: ClusterCache;
  source: StreamSource;
  changed: Set<string>;
  errors: unknown[];
  refused: string[];
}

describe('event stream source', () => {
  let s: Setup | undefined;
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    await s?.source.stop();
    for (const close of closers.splice(0)) await close();
    await s?.c.sim.close();
    s = undefined;
  });

  async function start(opts: { sim?: SimulatorOptions; refusable?: boolean; silenceMs?: number } = {}): Promise<Setup> {
    const c = await withSim(opts.sim);
    const config = readNomadConfig({ NOMAD_ADDR: c.sim.url }).config;
    if (!config) throw new Error('no config');
    const api = new HttpNomadClient(config, { keepAlive: true });
    const transport = new HttpTransport(config, { maxSockets: 1, keepAlive: false, maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES });
    closers.push(() => api.close(), () => transport.close());
    const cache = new ClusterCache();
    const changed = new Set<string>();
    const errors: unknown[] = [];
    const refused: string[] = [];
    const source = new StreamSource({
      transport,
      api,
      cache,
      namespace: '*',
      resyncMs: 3_600_000,
      minBackoffMs: 20,
      maxBackoffMs: 100,
      ...(opts.silenceMs ? { silenceMs: opts.silenceMs } : {}),
      onChange: (ids) => ids.forEach((id) => changed.add(id)),
      onError: (err) => errors.push(err),
      ...(opts.refusable ? { onRefused: (reason: string) => refused.push(reason) } : {}),
      logger: pino({ level: 'silent' }),
    });
    s = { c, cache, source, changed, errors, refused };
    return s;
  }

  const healthyOf = (cache: ClusterCache, allocId: string): boolean | null | undefined => cache.allocation(allocId)?.DeploymentStatus?.Healthy;

  test('lists in full, then applies events: new deployments and allocations, then their health', async () => {
    const { c, cache, source, changed } = await start();
    await c.register(webJob({ id: 'before', count: 1 }));
    source.start();
    await eventually(async () => source.notReadyReason === undefined, 'ready');
    expect(cache.allDeployments().map((d) => d.JobID)).toEqual(['before']);

    await c.register(webJob({ id: 'web', count: 2 }));
    const d = await c.latestDeployment('web');
    await eventually(async () => cache.allocationsOf(d).length === 2, 'allocations of the new deployment, with their job version');
    expect(changed.has(d.ID)).toBe(true);
    const [a] = cache.allocationsOf(d);
    expect(healthyOf(cache, a?.ID ?? '')).not.toBe(true);

    await c.advance('15s');
    await eventually(async () => healthyOf(cache, a?.ID ?? '') === true, 'health from an event');
    await eventually(async () => cache.deployment(d.ID)?.Status === 'successful', 'the deployment update');
  });

  test('a cut stream reconnects and re-lists; a change missed while away, older than the buffer, is caught by the re-list', async () => {
    const { c, cache, source } = await start({ sim: { eventBufferSize: 2 } });
    await c.register(webJob({ id: 'web', count: 1 }));
    source.start();
    await eventually(async () => source.notReadyReason === undefined, 'ready');
    const lists = async () => (await c.get<{ path: string }[]>('/_sim/requests')).body.filter((r) => r.path === '/v1/deployments').length;
    expect(await lists()).toBe(1);

    // Hold the reconnect back while writes go by (more frames than the buffer keeps).
    await c.post('/_sim/faults', { kind: 'latency', ms: 1000, path: '/v1/event/stream' });
    await c.post('/_sim/event-stream/cut');
    for (const id of ['x1', 'x2', 'x3']) await c.register(webJob({ id, count: 1 }));
    await eventually(async () => ['x1', 'x2', 'x3'].every((job) => cache.allDeployments().some((d) => d.JobID === job)), 'the missed deployments');
    expect(await lists()).toBe(2);
    // The reconnect resumed after the last frame seen rather than replaying the buffer.
    const streams = (await c.get<{ path: string; query: Record<string, string> }[]>('/_sim/requests')).body.filter((r) => r.path === '/v1/event/stream');
    // The first connect starts at the latest frame instead of replaying the buffer.
    expect(streams[0]?.query.index).toBe(String(Number.MAX_SAFE_INTEGER));
    const resumedAt = Number(streams[1]?.query.index);
    expect(resumedAt).toBeGreaterThan(1);
    // A gap: the buffer's oldest frame is newer than where the stream resumed, and newer than x1's
    // deployment, which the stream therefore never sent: only the re-list can have brought it.
    const oldest = c.sim.services.events.from(resumedAt)[0]!.Index;
    expect(oldest).toBeGreaterThan(resumedAt);
    expect(cache.allDeployments().find((d) => d.JobID === 'x1')!.CreateIndex).toBeLessThan(oldest);
  });

  test('an index reset (snapshot restore) ends the stream; the re-list takes the lower indexes, and later changes still apply', async () => {
    const { c, cache, source } = await start();
    await c.register(webJob({ id: 'web', count: 1 }));
    await c.advance('15s');
    source.start();
    await eventually(async () => source.notReadyReason === undefined && cache.allDeployments()[0]?.Status === 'successful', 'ready');
    const before = cache.allDeployments()[0]?.ModifyIndex ?? 0;
    await c.post('/_sim/faults', { kind: 'index-reset', to: 1, path: '/v1/deployments' });
    await c.get('/v1/deployments');
    const lowered = (await c.latestDeployment('web')).ModifyIndex;
    expect(lowered).toBeLessThan(before);
    await eventually(async () => cache.allDeployments()[0]?.ModifyIndex === lowered, 'the re-listed, lower index');
    await c.register(webJob({ id: 'web', count: 1, image: 'app:2' }));
    await eventually(async () => cache.allDeployments().some((d) => d.JobVersion === 1), 'a change after the reset');
  });

  test('200 then EOF is a refusal: reported once, with onRefused', async () => {
    const { c, source, refused } = await start({ refusable: true });
    await c.post('/_sim/faults', { kind: 'stream-deny', path: '/v1/event/stream' });
    source.start();
    await eventually(async () => refused.length === 1, 'refusal');
    expect(refused[0]).toMatch(/200 and ended without a line/);
    expect(source.notReadyReason).toBeDefined();
  });

  test("Nomad 1.11.2's HTTP/0.0 status line is a refusal too", async () => {
    const { c, source, refused } = await start({ refusable: true });
    await c.post('/_sim/faults', { kind: 'http-0.0', path: '/v1/event/stream' });
    source.start();
    await eventually(async () => refused.length === 1, 'refusal');
    expect(refused[0]).toMatch(/not valid HTTP/);
  });

  test('without onRefused a denial is an error and the source keeps trying until the stream works', async () => {
    const { c, source, errors } = await start();
    await c.post('/_sim/faults', { kind: 'stream-deny', count: 2, path: '/v1/event/stream' });
    source.start();
    await eventually(async () => source.notReadyReason === undefined, 'ready after two denials');
    expect(errors).toHaveLength(2);
  });

  test('silence longer than silenceMs reconnects (and re-lists)', async () => {
    const { c, source } = await start({ silenceMs: 200 });
    source.start();
    await eventually(async () => source.notReadyReason === undefined, 'ready');
    // Heartbeats come every 30 s: the stream looks dead after 200 ms and is opened again.
    await eventually(async () => (await c.get<{ path: string }[]>('/_sim/requests')).body.filter((r) => r.path === '/v1/event/stream').length >= 3, 'reconnects');
  });
});
