import { afterEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppFleet, type AppIdentity } from '../../../src/simulator/apps/fleet.js';
import { eventually } from '../../support/eventually.js';
import { scrape, valueOf } from './exposition.js';

const identity = (n: number, over: Partial<AppIdentity> = {}): AppIdentity => ({
  allocId: `0000000${n}-aaaa-bbbb-cccc-dddddddddddd`,
  namespace: 'default',
  job: 'checkout',
  group: 'api',
  version: 1,
  allocName: `checkout.api[${n}]`,
  nodeName: 'node-1',
  ...over,
});

const fleets: AppFleet[] = [];
const dirs: string[] = [];
function fleet(opts: ConstructorParameters<typeof AppFleet>[0] = {}): AppFleet {
  const f = new AppFleet(opts);
  fleets.push(f);
  return f;
}
afterEach(async () => {
  await Promise.allSettled(fleets.splice(0).map((f) => f.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

/** Sends n real requests to `/` and counts the answers by status. */
async function hit(port: number, n: number): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  for (let i = 0; i < n; i++) {
    const { status } = await get(port, '/');
    counts[status] = (counts[status] ?? 0) + 1;
  }
  return counts;
}

describe('an app', () => {
  test('listens on loopback, on a port of its own', async () => {
    const f = fleet();
    const a = await f.start(identity(1));
    const b = await f.start(identity(2));
    expect(a.host).toBe('127.0.0.1');
    expect(a.port).toBeGreaterThan(0);
    expect(b.port).not.toBe(a.port);
    expect(f.size).toBe(2);
  });

  test('/healthz follows the healthy profile', async () => {
    const f = fleet();
    const { port } = await f.start(identity(1));
    expect(await get(port, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    f.setProfile(identity(1).allocId, { healthy: false });
    expect((await get(port, '/healthz')).status).toBe(503);
    f.setProfile(identity(1).allocId, { healthy: true });
    expect((await get(port, '/healthz')).status).toBe(200);
  });

  test('/ answers 500 never at errorRate 0, always at 1, and about errorRate of the time between', async () => {
    // No synthetic traffic: the counters then hold exactly the real requests.
    const f = fleet({ requestsPerSecond: 0 });
    const id = identity(1).allocId;
    const { port } = await f.start(identity(1), { errorRate: 0, latencyMs: 0 });
    expect(await hit(port, 50)).toEqual({ 200: 50 });
    f.setProfile(id, { errorRate: 1 });
    expect(await hit(port, 50)).toEqual({ 500: 50 });
    f.setProfile(id, { errorRate: 0.3 });
    const mixed = await hit(port, 400);
    // Binomial(400, 0.3): 0.1 is more than four standard deviations.
    expect(Math.abs((mixed[500] ?? 0) / 400 - 0.3)).toBeLessThan(0.1);

    const series = await scrape(port);
    expect(valueOf(series, 'http_requests_total', { code: '200' })).toBe(50 + (mixed[200] ?? 0));
    expect(valueOf(series, 'http_requests_total', { code: '500' })).toBe(50 + (mixed[500] ?? 0));
    expect(valueOf(series, 'http_request_duration_seconds_count')).toBe(500);
  });

  test('/ takes at least half of latencyMs, and the histogram records it', async () => {
    const f = fleet({ requestsPerSecond: 0 });
    const { port } = await f.start(identity(1), { latencyMs: 200 });
    expect((await get(port, '/')).status).toBe(200);
    const series = await scrape(port);
    expect(valueOf(series, 'http_request_duration_seconds_sum')).toBeGreaterThanOrEqual(0.09);
    expect(valueOf(series, 'http_request_duration_seconds_bucket', { le: '0.05' })).toBe(0);
  });

  test('/metrics is text exposition 0.0.4 that passes promtool check metrics', async () => {
    const f = fleet({ requestsPerSecond: 200, tickMs: 10 });
    const { port } = await f.start(identity(1, { job: 'we"ird\\job' }), { errorRate: 0.5 });
    await eventually(async () => valueOf(await scrape(port), 'http_requests_total', { code: '500' }) > 0, 'traffic');
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# TYPE http_requests_total counter');
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toContain('job="we\\"ird\\\\job"');
    // promtool exits non-zero on problems and prints them.
    expect(execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })).toBe('');
  });

  test('unknown paths are 404 and writes to /healthz are 405, neither counted', async () => {
    const f = fleet({ requestsPerSecond: 0 });
    const { port } = await f.start(identity(1));
    expect((await get(port, '/nope')).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`, { method: 'POST' })).status).toBe(405);
    expect(valueOf(await scrape(port), 'http_request_duration_seconds_count')).toBe(0);
  });
});

describe('synthetic traffic', () => {
  test('counters grow with ticks and carry the alloc labels', async () => {
    const f = fleet({ requestsPerSecond: 200, tickMs: 10 });
    const { port } = await f.start(identity(7, { namespace: 'prod', job: 'web', group: 'frontend', version: 3 }));
    const first = valueOf(await scrape(port), 'http_requests_total', { code: '200' });
    const later = await eventually(async () => {
      const v = valueOf(await scrape(port), 'http_requests_total', { code: '200' });
      return v > first + 10 && v;
    }, 'the counter to grow');
    expect(later).toBeGreaterThan(first);
    const labels = { alloc_id: identity(7).allocId, namespace: 'prod', job: 'web', group: 'frontend', version: '3' };
    const series = await scrape(port);
    for (const s of series) expect(s.labels).toMatchObject(labels);
    expect(series.filter((s) => s.name === 'http_requests_total').map((s) => s.labels.code)).toEqual(['200', '500']);
  });

  test('errorRate 0.2 gives a 5xx share of 0.2 +- 0.05 of the counted requests', async () => {
    const f = fleet({ requestsPerSecond: 1000, tickMs: 10 });
    const { port } = await f.start(identity(1), { errorRate: 0.2 });
    const series = await eventually(async () => {
      const s = await scrape(port);
      return valueOf(s, 'http_request_duration_seconds_count') >= 500 && s;
    }, '500 requests');
    const errors = valueOf(series, 'http_requests_total', { code: '500' });
    const ok = valueOf(series, 'http_requests_total', { code: '200' });
    expect(errors / (errors + ok)).toBeGreaterThanOrEqual(0.15);
    expect(errors / (errors + ok)).toBeLessThanOrEqual(0.25);
  });

  test('counters stay monotonic across profile changes, and only the profile code grows', async () => {
    const f = fleet({ requestsPerSecond: 1000, tickMs: 10 });
    const id = identity(1).allocId;
    const { port } = await f.start(identity(1), { errorRate: 0.2 });
    await eventually(async () => valueOf(await scrape(port), 'http_requests_total', { code: '500' }) > 10, 'traffic');

    f.setProfile(id, { errorRate: 1, latencyMs: 3000 });
    const before = await scrape(port);
    const after = await eventually(async () => {
      const s = await scrape(port);
      return valueOf(s, 'http_requests_total', { code: '500' }) > valueOf(before, 'http_requests_total', { code: '500' }) + 50 && s;
    }, 'more traffic');
    expect(valueOf(after, 'http_requests_total', { code: '200' })).toBe(valueOf(before, 'http_requests_total', { code: '200' }));
    // Every series (counters, buckets, sum, count) is at least what it was.
    for (const s of before) {
      const now = after.find((a) => a.name === s.name && JSON.stringify(a.labels) === JSON.stringify(s.labels));
      expect(now?.value).toBeGreaterThanOrEqual(s.value);
    }
    // The new latency shows: every request since the change took over 1 s.
    const slowSince = (s: typeof after) =>
      valueOf(s, 'http_request_duration_seconds_count') - valueOf(s, 'http_request_duration_seconds_bucket', { le: '1' });
    expect(slowSince(after) - slowSince(before)).toBe(
      valueOf(after, 'http_request_duration_seconds_count') - valueOf(before, 'http_request_duration_seconds_count'),
    );

    f.setProfile(id, { errorRate: 0 });
    const clean = await scrape(port);
    const later = await eventually(async () => {
      const s = await scrape(port);
      return valueOf(s, 'http_requests_total', { code: '200' }) > valueOf(clean, 'http_requests_total', { code: '200' }) + 50 && s;
    }, 'more traffic');
    expect(valueOf(later, 'http_requests_total', { code: '500' })).toBe(valueOf(clean, 'http_requests_total', { code: '500' }));
  });
});

describe('the fleet', () => {
  test('file_sd lists each running app with non-clashing labels, rewritten on start, stop and close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'apps-sd-'));
    dirs.push(dir);
    const fileSdPath = join(dir, 'targets.json');
    const f = fleet({ fileSdPath });
    const targets = async () => JSON.parse(await readFile(fileSdPath, 'utf8')) as { targets: string[]; labels: Record<string, string> }[];

    const a = await f.start(identity(1, { nodeName: 'node-a' }));
    expect(await targets()).toEqual([{ targets: [`127.0.0.1:${a.port}`], labels: { alloc_name: 'checkout.api[1]', node: 'node-a' } }]);
    const b = await f.start(identity(2));
    expect((await targets()).map((t) => t.targets[0])).toEqual([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
    // The series' own labels are never target labels: Prometheus would overwrite or rename them.
    for (const t of await targets()) {
      for (const name of ['alloc_id', 'namespace', 'job', 'group', 'version', 'code', 'le']) expect(t.labels).not.toHaveProperty(name);
    }

    await f.stop(identity(1).allocId);
    expect((await targets()).map((t) => t.targets[0])).toEqual([`127.0.0.1:${b.port}`]);
    await f.close();
    expect(await targets()).toEqual([]);
    // Only the targets file is left: temporary files were renamed into place.
    expect(await readdir(dir)).toEqual(['targets.json']);
  });

  test('concurrent starts all end up in the targets file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'apps-sd-'));
    dirs.push(dir);
    const fileSdPath = join(dir, 'targets.json');
    const f = fleet({ fileSdPath });
    const started = await Promise.all([1, 2, 3, 4, 5].map((n) => f.start(identity(n))));
    const listed = (JSON.parse(await readFile(fileSdPath, 'utf8')) as { targets: string[] }[]).map((t) => t.targets[0]).sort();
    expect(listed).toEqual(started.map((s) => `127.0.0.1:${s.port}`).sort());
  });

  test('a stop issued while the app is still starting stops it once it listens', async () => {
    const f = fleet();
    const starting = f.start(identity(1));
    await f.stop(identity(1).allocId);
    const { port } = await starting;
    expect(f.size).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  test('a stopped app no longer answers; stop of an unknown alloc is a no-op', async () => {
    const f = fleet();
    const { port } = await f.start(identity(1));
    await f.stop(identity(1).allocId);
    await f.stop('never-started');
    expect(f.size).toBe(0);
    expect(f.profile(identity(1).allocId)).toBeUndefined();
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  test('close ends apps with open keep-alive connections, then refuses new apps', async () => {
    const f = fleet();
    const { port } = await f.start(identity(1));
    expect((await get(port, '/healthz')).status).toBe(200); // fetch keeps the connection open
    await f.close();
    expect(f.size).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    await expect(f.start(identity(2))).rejects.toThrow(/closed/);
  });

  test('close leaves no timers, servers or sockets behind', async () => {
    const resources = () => {
      const counts: Record<string, number> = {};
      for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
      return { timers: counts.Timeout ?? 0, servers: counts.TCPServerWrap ?? 0, sockets: counts.TCPSocketWrap ?? 0 };
    };
    const baseline = resources();
    const f = fleet({ tickMs: 10 });
    const { port } = await f.start(identity(1), { latencyMs: 60_000 });
    await f.start(identity(2));
    // A slow request in flight, on a connection that stays open.
    const inFlight = new Promise<string>((resolve) => {
      const req = httpGet({ host: '127.0.0.1', port, path: '/', agent: false }, () => resolve('answered'));
      req.on('error', () => resolve('cut off'));
    });
    // One tick timer for the fleet, one for the pending request.
    await eventually(async () => resources().timers >= baseline.timers + 2, 'the slow request to be pending');
    expect(resources().servers).toBe(baseline.servers + 2);
    await f.close();
    expect(await inFlight).toBe('cut off');
    // Earlier tests' client connections may close meanwhile, so "no more than before", not "equal".
    const settled = () => {
      const now = resources();
      return now.timers <= baseline.timers && now.servers <= baseline.servers && now.sockets <= baseline.sockets;
    };
    await eventually(async () => settled(), 'the fleet\'s timers and sockets to be gone');
  });

  test('profiles: defaults, partial changes, and values out of range rejected', async () => {
    const f = fleet();
    const id = identity(1).allocId;
    await f.start(identity(1), { latencyMs: 50 });
    expect(f.profile(id)).toEqual({ errorRate: 0, latencyMs: 50, healthy: true });
    f.setProfile(id, { errorRate: 0.4 });
    expect(f.profile(id)).toEqual({ errorRate: 0.4, latencyMs: 50, healthy: true });
    expect(() => f.setProfile(id, { errorRate: 1.5 })).toThrow(RangeError);
    expect(() => f.setProfile(id, { latencyMs: -1 })).toThrow(RangeError);
    expect(() => f.setProfile(id, { errorRate: Number.NaN })).toThrow(RangeError);
    expect(f.profile(id)).toEqual({ errorRate: 0.4, latencyMs: 50, healthy: true });
    expect(() => f.setProfile('unknown', { healthy: false })).toThrow(/unknown/);
    await expect(f.start(identity(2), { errorRate: 2 })).rejects.toThrow(RangeError);
    await expect(f.start(identity(1))).rejects.toThrow(/already running/);
    expect(f.size).toBe(1);
  });
});

describe('file_sd failures', () => {
  test('a start whose targets file cannot be written fails and leaves no app running', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'apps-sd-'));
    dirs.push(dir);
    // The targets path is a directory: the rename over it fails.
    const fileSdPath = join(dir, 'targets.json');
    await mkdir(fileSdPath);
    const f = fleet({ fileSdPath });
    await expect(f.start(identity(1))).rejects.toThrow();
    expect(f.size).toBe(0);
    expect(f.profile(identity(1).allocId)).toBeUndefined();
    // close still stops everything, and says the empty targets file could not be written.
    await expect(f.close()).rejects.toThrow(/EISDIR/);
  });
});

describe('pre-bound ports', () => {
  test('startNow answers at once on a pre-bound port, returns null when none is ready, and works again after portsReady', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'apps-sd-'));
    dirs.push(dir);
    const fileSdPath = join(dir, 'targets.json');
    const f = fleet({ prebound: 2, fileSdPath });
    await expect(fleet().portsReady()).rejects.toThrow(/pre-bound/);
    await f.portsReady();
    const a = f.startNow(identity(1));
    const b = f.startNow(identity(2));
    const none = f.startNow(identity(3));
    expect(a && b).toBeTruthy();
    expect(none).toBeNull();
    // The port was known synchronously and the app answers without any further start-up.
    expect((await get(a!.port, '/healthz')).status).toBe(200);
    await f.portsReady();
    const c = f.startNow(identity(3), { healthy: false });
    expect((await get(c!.port, '/healthz')).status).toBe(503);
    await Promise.all([a!.listed, b!.listed, c!.listed]);
    const listed = (JSON.parse(await readFile(fileSdPath, 'utf8')) as { targets: string[] }[]).map((t) => t.targets[0]).sort();
    expect(listed).toEqual([a!, b!, c!].map((s) => `127.0.0.1:${s.port}`).sort());
    expect(() => f.startNow(identity(1))).toThrow(/already running/);
  });
});
