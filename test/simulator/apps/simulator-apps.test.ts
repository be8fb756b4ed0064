/**
 * The simulator runs a real app per running allocation, on the port the allocation reports, and
 * the control API drives the apps' health, error rate and latency.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { get as httpGet } from 'node:http';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { SimulatorOptions } from '../../../src/simulator/index.js';
import { SimClient, webJob, withSim } from '../helpers.js';
import { eventually } from '../../support/eventually.js';
import { scrape, valueOf } from './exposition.js';

interface Port {
  Label: string;
  Value: number;
  To: number;
  HostIP: string;
}
interface Stub {
  ID: string;
  Name: string;
  NodeName: string;
  JobVersion: number;
  ClientStatus: string;
  DesiredStatus: string;
  AllocatedResources: { Shared: { Ports: Port[] } };
}

const clients: SimClient[] = [];
const dirs: string[] = [];
async function sim(opts: SimulatorOptions = {}): Promise<SimClient> {
  const c = await withSim(opts);
  clients.push(c);
  return c;
}
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.sim.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sim-apps-'));
  dirs.push(dir);
  return dir;
}

async function allocs(c: SimClient, job = 'web'): Promise<Stub[]> {
  const r = await c.get<(Stub & { JobID: string })[]>('/v1/allocations?resources=true');
  return r.body.filter((a) => a.JobID === job);
}

async function running(c: SimClient, job = 'web'): Promise<Stub[]> {
  return (await allocs(c, job)).filter((a) => a.ClientStatus === 'running' && a.DesiredStatus === 'run');
}

const httpPort = (a: Stub): number => a.AllocatedResources.Shared.Ports.find((p) => p.Label === 'http')!.Value;

/** One request on its own connection: the status and which allocation answered, or "refused". */
function probe(port: number, path = '/healthz'): Promise<{ status: number; alloc: string } | 'refused'> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, alloc: String(res.headers['x-alloc-id'] ?? '') }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? resolve('refused') : reject(err)));
  });
}

/** The allocation's app no longer answers on its port (the OS may hand the port to a new app, never to this one). */
async function gone(port: number, allocId: string): Promise<boolean> {
  const p = await probe(port);
  return p === 'refused' || p.alloc !== allocId;
}

async function statuses(port: number, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = await probe(port, '/');
    out.push(p === 'refused' ? 0 : p.status);
  }
  return out;
}

describe('an app per running allocation', () => {
  test('its real port is in the stub and the full allocation; /healthz and /metrics answer with the allocation\'s labels', async () => {
    const c = await sim();
    await c.register(webJob({ count: 2 }));
    const list = await running(c);
    expect(list).toHaveLength(2);
    const ports = new Set<number>();
    for (const a of list) {
      const port = httpPort(a);
      ports.add(port);
      expect(a.AllocatedResources.Shared.Ports).toEqual([{ Label: 'http', Value: port, To: port, HostIP: '127.0.0.1' }]);
      const full = (await c.get<{ AllocatedResources: { Shared: { Ports: Port[] } } }>(`/v1/allocation/${a.ID}`)).body;
      expect(full.AllocatedResources.Shared.Ports).toEqual([{ Label: 'http', Value: port, To: port, HostIP: '127.0.0.1' }]);

      expect(await probe(port)).toEqual({ status: 200, alloc: a.ID });
      const series = await scrape(port);
      const labels = { alloc_id: a.ID, namespace: 'default', job: 'web', group: 'web', version: '0' };
      expect(series.filter((s) => s.name === 'http_requests_total').map((s) => s.labels)).toEqual([
        { ...labels, code: '200' },
        { ...labels, code: '500' },
      ]);
      for (const s of series) expect(s.labels).toMatchObject(labels);
    }
    expect(ports.size).toBe(2);
  });

  test('a group declaring its own dynamic http port gets the app there; a reserved port keeps its value', async () => {
    const c = await sim();
    await c.register({
      ID: 'web',
      TaskGroups: [
        {
          Name: 'web',
          Count: 1,
          Networks: [{ DynamicPorts: [{ Label: 'admin' }, { Label: 'http', To: 8080 }], ReservedPorts: [{ Label: 'db', Value: 5432 }] }],
          Tasks: [{ Name: 'app', Config: {} }],
        },
      ],
    });
    const [a] = await running(c);
    const ports = Object.fromEntries(a!.AllocatedResources.Shared.Ports.map((p) => [p.Label, p]));
    expect(ports.db).toMatchObject({ Value: 5432 });
    expect(ports.http).toMatchObject({ To: 8080, HostIP: '127.0.0.1' });
    expect(await probe(ports.http!.Value)).toEqual({ status: 200, alloc: a!.ID });
  });

  test('more placements at once than ports bound ahead: the rest follow once ports are ready, each with its own app', async () => {
    const c = await sim();
    await c.register(webJob({ count: 60, update: { MaxParallel: 60 } }));
    const list = await eventually(async () => {
      const r = await running(c);
      return r.length === 60 && r;
    }, '60 running allocations');
    expect(new Set(list.map((a) => a.Name)).size).toBe(60);
    const answers = await Promise.all(list.map(async (a) => probe(httpPort(a))));
    expect(answers).toEqual(list.map((a) => ({ status: 200, alloc: a.ID })));
    const d = await c.latestDeployment('web');
    expect(d.TaskGroups.web!.PlacedAllocs).toBe(60);
  });
});

describe('application health drives /healthz and the service checks alike', () => {
  test('app-health for a job and alloc health for one allocation', async () => {
    const c = await sim();
    await c.register(webJob({ count: 2 }));
    const [a, b] = await running(c);
    const checkStatus = async (id: string) =>
      Object.values((await c.get<Record<string, { Status: string }>>(`/v1/allocation/${id}/checks`)).body).map((x) => x.Status);

    expect((await c.post('/_sim/app-health', { job: 'web', healthy: false })).status).toBe(200);
    for (const x of [a!, b!]) {
      expect(await probe(httpPort(x))).toEqual({ status: 503, alloc: x.ID });
      expect(await checkStatus(x.ID)).toEqual(['failure']);
    }
    await c.post(`/_sim/alloc/${a!.ID}/health`, { healthy: true });
    expect(await probe(httpPort(a!))).toEqual({ status: 200, alloc: a!.ID });
    expect(await checkStatus(a!.ID)).toEqual(['success']);
    expect(await probe(httpPort(b!))).toEqual({ status: 503, alloc: b!.ID });
  });

  test('sim_healthy=false in the job spec: the new allocations\' apps answer 503', async () => {
    const c = await sim();
    await c.register({ ID: 'web', TaskGroups: [{ Name: 'web', Count: 1, Tasks: [{ Name: 'app', Config: { sim_healthy: false } }] }] });
    const [a] = await running(c);
    expect(await probe(httpPort(a!))).toEqual({ status: 503, alloc: a!.ID });
  });
});

describe('error rate and latency', () => {
  test('app-profile errorRate 1 for a job: / answers 500 and the 5xx counter grows; 0 makes it clean again', async () => {
    const c = await sim();
    await c.register(webJob({ count: 1 }));
    const [a] = await running(c);
    const port = httpPort(a!);
    expect(await statuses(port, 3)).toEqual([200, 200, 200]);
    const before = valueOf(await scrape(port), 'http_requests_total', { code: '500' });

    expect((await c.post('/_sim/app-profile', { job: 'web', errorRate: 1 })).status).toBe(200);
    expect(await statuses(port, 5)).toEqual([500, 500, 500, 500, 500]);
    expect(valueOf(await scrape(port), 'http_requests_total', { code: '500' })).toBeGreaterThanOrEqual(before + 5);

    await c.post('/_sim/app-profile', { job: 'web', errorRate: 0 });
    expect(await statuses(port, 3)).toEqual([200, 200, 200]);
  });

  test('a profile for a job version applies to apps of that version started later, and not to other versions', async () => {
    const c = await sim();
    await c.register(webJob({ count: 1 }));
    await c.advance('10s');
    const [v0] = await running(c);
    await c.post('/_sim/app-profile', { job: 'web', version: 1, errorRate: 1, latencyMs: 5 });
    await c.register(webJob({ count: 1, image: 'app:2', update: { Canary: 1 } }));
    const canary = (await running(c)).find((a) => a.JobVersion === 1)!;
    expect(await statuses(httpPort(canary), 3)).toEqual([500, 500, 500]);
    expect(await statuses(httpPort(v0!), 3)).toEqual([200, 200, 200]);
    const state = (await c.get<{ allocations: { ID: string; App: { errorRate: number; latencyMs: number; healthy: boolean; port: number } | null }[] }>('/_sim/state')).body;
    expect(state.allocations.find((x) => x.ID === canary.ID)!.App).toEqual({ port: httpPort(canary), errorRate: 1, latencyMs: 5, healthy: true });
  });

  test('a profile for one allocation leaves its siblings alone', async () => {
    const c = await sim();
    await c.register(webJob({ count: 2 }));
    const [a, b] = await running(c);
    expect((await c.post('/_sim/app-profile', { allocId: a!.ID, errorRate: 1 })).status).toBe(200);
    expect(await statuses(httpPort(a!), 3)).toEqual([500, 500, 500]);
    expect(await statuses(httpPort(b!), 3)).toEqual([200, 200, 200]);
  });

  test('bad app-profile requests are refused', async () => {
    const c = await sim();
    await c.register(webJob({ count: 1 }));
    const bad = async (body: unknown) => {
      const r = await c.post<{ error: string }>('/_sim/app-profile', body);
      return [r.status, r.body.error];
    };
    expect(await bad({ job: 'web', errorRate: 1.5 })).toEqual([400, '"errorRate" must be within 0..1']);
    expect(await bad({ job: 'web', latencyMs: -1 })).toEqual([400, '"latencyMs" must be >= 0']);
    expect(await bad({ job: 'web' })).toEqual([400, '"errorRate" and/or "latencyMs" is required']);
    expect(await bad({ errorRate: 0.5 })).toEqual([400, '"job" (string) or "allocId" (string) is required']);
    expect((await bad({ allocId: 'nope', errorRate: 0.5 }))[0]).toBe(404);
  });

  test('sim_error_rate in the job spec: the version is bad from its first request; a bad value is refused at registration', async () => {
    const c = await sim();
    const job = (config: Record<string, unknown>) => ({ ID: 'web', TaskGroups: [{ Name: 'web', Count: 1, Tasks: [{ Name: 'app', Config: config }] }] });
    await c.register(job({ image: 'a', sim_error_rate: 1, sim_latency_ms: '5' }));
    const [a] = await running(c);
    expect(await statuses(httpPort(a!), 3)).toEqual([500, 500, 500]);

    const refused = await c.put('/v1/jobs', { Job: job({ sim_error_rate: 2 }) });
    expect(refused.status).toBe(500);
    expect(refused.text).toBe('1 error occurred:\n\t* Task "app": sim_error_rate must be within 0..1, got 2\n\n');
    expect((await c.put('/v1/jobs', { Job: job({ sim_latency_ms: 'slow' }) })).text).toContain('sim_latency_ms must be a number');
  });
});

describe('apps stop with their allocations', () => {
  test('stopping the job stops every app', async () => {
    const c = await sim();
    await c.register(webJob({ count: 2 }));
    const list = await running(c);
    expect((await c.request('DELETE', '/v1/job/web')).status).toBe(200);
    for (const a of list) await eventually(() => gone(httpPort(a), a.ID), `${a.Name}'s app to stop`);
    expect(c.sim.apps!.fleet.size).toBe(0);
  });

  test('a destructive update replaces the apps; a failed allocation\'s app stops', async () => {
    const c = await sim();
    await c.register(webJob({ count: 2, update: { MaxParallel: 2 } }));
    await c.advance('10s');
    const old = await running(c);
    await c.register(webJob({ count: 2, image: 'app:2', update: { MaxParallel: 2 } }));
    const fresh = await running(c);
    expect(fresh.map((a) => a.JobVersion)).toEqual([1, 1]);
    for (const a of old) await eventually(() => gone(httpPort(a), a.ID), `${a.Name} v0's app to stop`);
    for (const a of fresh) expect(await probe(httpPort(a))).toEqual({ status: 200, alloc: a.ID });

    await c.post(`/_sim/alloc/${fresh[0]!.ID}/fail`);
    await eventually(() => gone(httpPort(fresh[0]!), fresh[0]!.ID), 'the failed allocation\'s app to stop');
    expect(await probe(httpPort(fresh[1]!))).toEqual({ status: 200, alloc: fresh[1]!.ID });
  });
});

describe('file_sd', () => {
  test('the targets file lists exactly the running allocations, and is empty after close', async () => {
    const dir = await tempDir();
    const fileSdPath = join(dir, 'targets.json');
    const c = await sim({ fileSdPath });
    type Target = { targets: string[]; labels: Record<string, string> };
    const byName = (list: Target[]) => list.sort((x, y) => x.labels.alloc_name!.localeCompare(y.labels.alloc_name!));
    const listed = async () => byName(JSON.parse(await readFile(fileSdPath, 'utf8')) as Target[]);
    const expected = async () => byName((await running(c)).map((a) => ({ targets: [`127.0.0.1:${httpPort(a)}`], labels: { alloc_name: a.Name, node: a.NodeName } })));
    expect(await listed()).toEqual([]);

    await c.register(webJob({ count: 3 }));
    const want = await expected();
    await eventually(async () => (await listed()).length === 3, 'three targets');
    expect(await listed()).toEqual(want);

    await c.register(webJob({ count: 1 }));
    await eventually(async () => (await listed()).length === 1, 'one target');
    expect(await listed()).toEqual(await expected());

    await c.sim.close();
    expect(await listed()).toEqual([]);
  });

  test('an unwritable targets path fails startSimulator', async () => {
    const dir = await tempDir();
    const fileSdPath = join(dir, 'targets.json');
    await mkdir(fileSdPath);
    await expect(withSim({ fileSdPath })).rejects.toThrow(/EISDIR/);
  });
});

describe('lifecycle', () => {
  test('close stops every app and leaves no timers, servers or sockets behind', async () => {
    const resources = () => {
      const counts: Record<string, number> = {};
      for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
      return { timers: counts.Timeout ?? 0, servers: counts.TCPServerWrap ?? 0, sockets: counts.TCPSocketWrap ?? 0 };
    };
    const baseline = resources();
    const c = await withSim({ frozenClock: false });
    await c.register(webJob({ count: 3 }));
    const list = await running(c);
    // A slow request in flight on one app, a kept-alive connection on another.
    await c.post('/_sim/app-profile', { allocId: list[0]!.ID, latencyMs: 60_000 });
    const inFlight = probe(httpPort(list[0]!), '/').catch(() => 'cut off');
    await fetch(`http://127.0.0.1:${httpPort(list[1]!)}/healthz`);
    expect(resources().servers).toBeGreaterThan(baseline.servers + 3);

    await c.sim.close();
    expect(await inFlight).toBe('cut off');
    for (const a of list) expect(await probe(httpPort(a))).toBe('refused');
    await eventually(async () => {
      const now = resources();
      return now.timers <= baseline.timers && now.servers <= baseline.servers && now.sockets <= baseline.sockets;
    }, 'the simulator\'s timers, servers and sockets to be gone');
  });

  test('apps: false: ports are mere numbers and app-profile is refused', async () => {
    const c = await sim({ apps: false });
    await c.register(webJob({ count: 1 }));
    const [a] = await running(c);
    expect(a!.AllocatedResources.Shared.Ports).toEqual([{ Label: 'http', Value: 21000, To: 0, HostIP: '127.0.0.1' }]);
    expect(c.sim.apps).toBeNull();
    const r = await c.post<{ error: string }>('/_sim/app-profile', { job: 'web', errorRate: 1 });
    expect([r.status, r.body.error]).toEqual([400, 'the simulator runs without apps']);
  });
});
