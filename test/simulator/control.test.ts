import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { Agent, request as httpRequest } from 'node:http';

import { startSimulator } from '../../src/simulator/index.js';
import type { RunningSimulator } from '../../src/simulator/index.js';
import { eventually } from '../support/eventually.js';
import { SimClient, openRawConnection, rawRequest, webJob, withSim } from './helpers.js';
import type { RawConnection } from './helpers.js';

describe('control API', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim();
  });
  afterEach(() => c.sim.close());

  test('clock: frozen time moves only when advanced; unfreezing continues from there', async () => {
    const t0 = (await c.get<{ now: number; frozen: boolean }>('/_sim/clock')).body;
    expect(t0.frozen).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect((await c.get<{ now: number }>('/_sim/clock')).body.now).toBe(t0.now);
    const advanced = await c.post<{ now: number }>('/_sim/clock', { advance: '1m30s' });
    expect(advanced.body.now).toBe(t0.now + 90_000);
    const thawed = await c.post<{ now: number; frozen: boolean }>('/_sim/clock', { freeze: false });
    expect(thawed.body.frozen).toBe(false);
    expect(thawed.body.now).toBeGreaterThanOrEqual(t0.now + 90_000);
    expect((await c.post('/_sim/clock', { advance: 'soon' })).status).toBe(400);
  });

  test('clockOffsetMs: a cluster whose clock runs an hour behind the host', async () => {
    const skewed = await startSimulator({ apps: false, clockOffsetMs: -3_600_000 });
    try {
      const before = Date.now();
      const now = skewed.clock.now();
      expect(now).toBeGreaterThanOrEqual(before - 3_600_000);
      expect(now).toBeLessThanOrEqual(Date.now() - 3_600_000);
    } finally {
      await skewed.close();
    }
  });

  test('with a running clock, time-driven transitions happen on the tick', async () => {
    await c.post('/_sim/clock', { freeze: false });
    await c.register(webJob({ count: 1, update: { MinHealthyTime: 50e6 } }));
    await new Promise((r) => setTimeout(r, 400));
    expect((await c.latestDeployment('web')).Status).toBe('successful');
  });

  test('app-health sets whether new allocations of a job version pass their checks', async () => {
    await c.register(webJob({ count: 1 }));
    await c.advance('10s');
    await c.post('/_sim/app-health', { job: 'web', version: 1, healthy: false });
    await c.register(webJob({ count: 1, image: 'app:2', update: { HealthyDeadline: 30e9 } }));
    await c.advance('30s');
    expect((await c.latestDeployment('web')).StatusDescription).toBe('Failed due to unhealthy allocations');
  });

  test('a task Config with sim_healthy=false starts unhealthy', async () => {
    await c.register({
      ID: 'bad',
      TaskGroups: [{ Name: 'g', Count: 1, Update: { HealthyDeadline: 20e9 }, Tasks: [{ Name: 't', Config: { sim_healthy: false } }] }],
    });
    await c.advance('20s');
    expect((await c.latestDeployment('bad')).Status).toBe('failed');
  });

  test('unknown allocation in control calls: 404 JSON error', async () => {
    const r = await c.post<{ error: string }>('/_sim/alloc/nope/fail');
    expect(r.status).toBe(404);
    expect(r.body.error).toContain('nope');
  });

  test('state dump shows jobs, deployments, allocations and indexes', async () => {
    await c.register(webJob({ count: 1 }));
    const s = await c.get<Record<string, unknown[]> & { tables: Record<string, number> }>('/_sim/state');
    expect(s.body.jobs).toHaveLength(1);
    expect(s.body.deployments).toHaveLength(1);
    expect(s.body.allocations).toHaveLength(1);
    expect(s.body.tables.allocs).toBeGreaterThan(0);
  });
});

describe('request log', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim();
  });
  afterEach(() => c.sim.close());

  test('logs API requests with their route pattern and status, not control requests', async () => {
    await c.register(webJob({ count: 1 }));
    const d = await c.latestDeployment('web');
    await c.post(`/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID, All: true });
    await c.get('/v1/deployments?index=0&namespace=*');
    await c.get('/v1/unknown');
    const log = (await c.get<{ method: string; path: string; route: string | null; query: Record<string, string>; status: number; at: number; answeredAt: number | null }[]>('/_sim/requests')).body;
    expect(log.map((e) => [e.method, e.route, e.status])).toEqual([
      ['PUT', '/v1/jobs', 200],
      ['GET', '/v1/job/:id/deployment', 200],
      ['POST', '/v1/deployment/promote/:id', 200],
      ['GET', '/v1/deployments', 200],
      ['GET', null, 404],
    ]);
    expect(log[2]?.path).toBe(`/v1/deployment/promote/${d.ID}`);
    expect(log[3]?.query).toEqual({ index: '0', namespace: '*' });
    expect((await c.get<{ path: string }[]>('/_sim/requests?route=/v1/deployment/promote/:id')).body.map((e) => e.path)).toEqual([`/v1/deployment/promote/${d.ID}`]);
    expect(typeof log[0]?.at).toBe('number');
    for (const e of log) expect(e.answeredAt).toBeGreaterThanOrEqual(e.at);
    await c.request('DELETE', '/_sim/requests');
    expect((await c.get<unknown[]>('/_sim/requests')).body).toEqual([]);
  });
});

describe('faults', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim();
    await c.register(webJob({ count: 1 }));
  });
  afterEach(() => c.sim.close());

  test('no-leader: 500 No cluster leader for the next N matching requests', async () => {
    await c.post('/_sim/faults', { kind: 'no-leader', count: 2, path: '/v1/deployments' });
    const a = await c.get('/v1/deployments');
    expect([a.status, a.text, a.headers.get('content-type')]).toEqual([500, 'No cluster leader', 'text/plain; charset=utf-8']);
    expect((await c.get('/v1/allocations')).status).toBe(200);
    expect((await c.get('/v1/deployments')).status).toBe(500);
    expect((await c.get('/v1/deployments')).status).toBe(200);
  });

  test('latency delays the answer', async () => {
    await c.post('/_sim/faults', { kind: 'latency', ms: 200 });
    const started = Date.now();
    expect((await c.get('/v1/deployments')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  test('reset destroys the connection without an answer', async () => {
    await c.post('/_sim/faults', { kind: 'reset' });
    await expect(c.get('/v1/deployments')).rejects.toThrow();
    const log = (await c.get<{ status: number }[]>('/_sim/requests')).body;
    expect(log.at(-1)?.status).toBe(0);
  });

  test('too-many: raw 429 with the connlimit body, then the connection closes', async () => {
    await c.post('/_sim/faults', { kind: 'too-many' });
    const raw = await rawRequest(c.sim.port, 'GET /v1/deployments HTTP/1.1\r\nHost: sim\r\n\r\n', 1000);
    expect(raw).toBe(
      'HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: 81\r\nConnection: close\r\n\r\n' +
        'Your IP is issuing too many concurrent connections, please rate limit your calls\n',
    );
  });

  test('index-reset: later answers carry a lower index, writes continue from it, blocked queries keep blocking', async () => {
    const before = Number((await c.get('/v1/allocations')).headers.get('x-nomad-index'));
    expect(before).toBeGreaterThan(1);
    const blocked = c.get(`/v1/allocations?index=${before}&wait=400ms`);
    await new Promise((r) => setTimeout(r, 50));
    await c.post('/_sim/faults', { kind: 'index-reset', to: 1, path: '/v1/jobs' });
    await c.get('/v1/jobs');
    const r = await blocked;
    expect(Number(r.headers.get('x-nomad-index'))).toBe(1);
    expect(Number((await c.get('/v1/deployments')).headers.get('x-nomad-index'))).toBe(1);
    const reg = await c.register(webJob({ id: 'next', count: 1 }));
    expect(reg.Index).toBe(2); // the next write after the reset
    expect(Number((await c.get('/v1/allocations')).headers.get('x-nomad-index'))).toBe(3); // then the plan
  });

  test('index-zero and no-index: the normal answer, with X-Nomad-Index 0 or without it', async () => {
    await c.post('/_sim/faults', { kind: 'index-zero', path: '/v1/deployments' });
    const zero = await c.get<unknown[]>('/v1/deployments');
    expect([zero.status, zero.headers.get('x-nomad-index'), zero.body.length]).toEqual([200, '0', 1]);
    await c.post('/_sim/faults', { kind: 'no-index', path: '/v1/deployments' });
    const none = await c.get<unknown[]>('/v1/deployments');
    expect([none.status, none.headers.get('x-nomad-index'), none.headers.get('x-nomad-knownleader'), none.body.length]).toEqual([200, null, 'true', 1]);
  });

  test('malformed, null-body, forbidden: answers a client must survive', async () => {
    for (const kind of ['malformed', 'null-body', 'forbidden']) await c.post('/_sim/faults', { kind, path: '/v1/deployments' });
    const malformed = await c.request('GET', '/v1/deployments', undefined, { accept: 'text/plain' }).catch((e: unknown) => e);
    expect(malformed).toBeInstanceOf(Error); // application/json that does not parse
    const nul = await c.get('/v1/deployments');
    expect([nul.status, nul.text]).toEqual([200, 'null']);
    const forbidden = await c.get('/v1/deployments');
    expect([forbidden.status, forbidden.text]).toEqual([403, 'Permission denied']);
  });

  test('huge and gzip-bomb need a size; the bomb is small on the wire and inflates to it', async () => {
    expect((await c.post('/_sim/faults', { kind: 'gzip-bomb' })).status).toBe(400);
    await c.post('/_sim/faults', { kind: 'gzip-bomb', bytes: 4 * 1024 * 1024, path: '/v1/deployments' });
    // node:http, which hands the body over as sent (fetch would inflate it).
    const { encoding, wire } = await new Promise<{ encoding: string | undefined; wire: Buffer }>((resolve, reject) => {
      httpRequest(`${c.sim.url}/v1/deployments`, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b)).on('end', () => resolve({ encoding: res.headers['content-encoding'], wire: Buffer.concat(chunks) }));
      }).on('error', reject).end();
    });
    expect(encoding).toBe('gzip');
    expect(wire.length).toBeLessThan(64 * 1024);
    expect(gunzipSync(wire).length).toBe(4 * 1024 * 1024);
  });

  test('hang: the request is never answered', async () => {
    await c.post('/_sim/faults', { kind: 'hang', path: '/v1/deployments' });
    const answer = await fetch(`${c.sim.url}/v1/deployments`, { signal: AbortSignal.timeout(300) }).then(() => 'answered', (e: Error) => e.name);
    expect(answer).toBe('TimeoutError');
    expect((await c.get('/v1/deployments')).status).toBe(200);
  });

  test('DELETE /_sim/faults clears pending faults', async () => {
    await c.post('/_sim/faults', { kind: 'no-leader', count: 5 });
    await c.request('DELETE', '/_sim/faults');
    expect((await c.get('/v1/deployments')).status).toBe(200);
  });

  test('a bad fault is refused', async () => {
    expect((await c.post('/_sim/faults', { kind: 'meteor' })).status).toBe(400);
  });
});

describe('connection counting', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim();
  });
  afterEach(() => c.sim.close());

  function get(agent: Agent, path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${c.sim.url}${path}`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  }

  test('counts open API connections and their peak; control calls do not count', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 10 });
    const index = Number((await c.get('/v1/deployments')).headers.get('x-nomad-index')) || 1;
    const polls = Array.from({ length: 3 }, () => get(agent, `/v1/deployments?index=${index + 100}&wait=300ms`));
    await new Promise((r) => setTimeout(r, 100));
    const during = (await c.get<{ open: number; peak: number }>('/_sim/connections')).body;
    expect(during.open).toBeGreaterThanOrEqual(3);
    expect(during.peak).toBeGreaterThanOrEqual(3);
    await Promise.all(polls);
    agent.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const after = (await c.get<{ open: number; peak: number }>('/_sim/connections')).body;
    expect(after.open).toBeLessThan(during.open);
    await c.post('/_sim/connections/reset-peak');
    const reset = (await c.get<{ open: number; peak: number }>('/_sim/connections')).body;
    expect(reset.peak).toBe(reset.open);
  });

  test('counts the bytes written to API connections, event stream frames included; control answers do not count', async () => {
    const counts = async () => (await c.get<{ bytesSent: number; bytesByRoute: Record<string, number> }>('/_sim/connections')).body;
    const bytes = async () => (await counts()).bytesSent;
    const before = await counts();
    expect(await bytes()).toBe(before.bytesSent);
    const answer = await rawRequest(c.sim.port, 'GET /v1/deployments HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n', 1000);
    await eventually(async () => (await bytes()) === before.bytesSent + Buffer.byteLength(answer), 'the whole answer counted');
    // ...under its route.
    expect((await counts()).bytesByRoute['/v1/deployments']).toBe((before.bytesByRoute['/v1/deployments'] ?? 0) + Buffer.byteLength(answer));
    const stream = await fetch(`${c.sim.url}/v1/event/stream?topic=Deployment`);
    const reader = stream.body!.getReader();
    await reader.read();
    const beforeWrite = await bytes();
    await c.register(webJob({ id: 'more', count: 1 }));
    const frame = await reader.read();
    await eventually(async () => (await bytes()) >= beforeWrite + (frame.value?.length ?? 1), 'the frame counted while the stream is open');
    expect((await counts()).bytesByRoute['/v1/event/stream']).toBeGreaterThanOrEqual(frame.value?.length ?? 1);
    await reader.cancel();
  });
});

describe('per-client connection limit (http_max_conns_per_client)', () => {
  const TOO_MANY =
    'HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: 81\r\nConnection: close\r\n\r\n' +
    'Your IP is issuing too many concurrent connections, please rate limit your calls\n';
  let sim: RunningSimulator;
  let held: RawConnection[] = [];
  afterEach(async () => {
    await Promise.all(held.map((h) => h.close()));
    held = [];
    await sim.close();
  });

  /** Opens `n` connections, each proven accepted by an answered request. */
  async function hold(n: number): Promise<void> {
    const opened = await Promise.all(Array.from({ length: n }, () => openRawConnection(sim.port)));
    held.push(...opened);
    for (const answer of await Promise.all(opened.map((h) => h.get('/v1/status/leader')))) expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  }

  test('the N+1th concurrent connection gets the raw 429 at once and is closed; the first N keep working', async () => {
    sim = await startSimulator({ frozenClock: true, apps: false, httpMaxConnsPerClient: 3 });
    await hold(3);
    const started = Date.now();
    // Refused when accepted, before it sends anything.
    expect(await rawRequest(sim.port, '', 1000)).toBe(TOO_MANY);
    expect(Date.now() - started).toBeLessThan(900);
    expect(await rawRequest(sim.port, 'GET /v1/deployments HTTP/1.1\r\nHost: sim\r\n\r\n', 1000)).toBe(TOO_MANY);
    expect(sim.services.connections.rejected).toBe(2);
    for (const h of held) expect(await h.get('/v1/deployments')).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    // A closed connection frees its slot.
    await held.shift()?.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(await rawRequest(sim.port, 'GET /v1/deployments HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    const counts = await rawRequest(sim.port, 'GET /_sim/connections HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n');
    expect(JSON.parse(counts.slice(counts.indexOf('\r\n\r\n') + 4))).toMatchObject({ rejected: 2 });
  });

  test('the default is 100: the 101st concurrent connection is refused', async () => {
    sim = await startSimulator({ frozenClock: true, apps: false });
    await hold(100);
    expect(await rawRequest(sim.port, '', 1000)).toBe(TOO_MANY);
    expect(sim.services.connections.rejected).toBe(1);
  });

  test('0 means no limit', async () => {
    sim = await startSimulator({ frozenClock: true, apps: false, httpMaxConnsPerClient: 0 });
    await hold(120);
    expect(sim.services.connections.rejected).toBe(0);
  });

  test('the 429 answers are rate limited (bursts of 100, 10/s): past that a refused connection just closes', async () => {
    sim = await startSimulator({ frozenClock: true, apps: false, httpMaxConnsPerClient: 1 });
    await hold(1);
    const answers = await Promise.all(Array.from({ length: 110 }, () => rawRequest(sim.port, '', 2000)));
    const answered = answers.filter((a) => a === TOO_MANY).length;
    const silent = answers.filter((a) => a === '').length;
    expect(answered + silent).toBe(110);
    expect(answered).toBeGreaterThanOrEqual(100);
    expect(answered).toBeLessThanOrEqual(105);
    expect(sim.services.connections.rejected).toBe(110);
  });
});
