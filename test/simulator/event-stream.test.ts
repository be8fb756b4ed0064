import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';

import { afterEach, describe, expect, test } from '@jest/globals';

import type { SimulatorOptions } from '../../src/simulator/index.js';
import { eventually } from '../support/eventually.js';
import { SimClient, rawRequest, webJob, withSim } from './helpers.js';

interface Event {
  Topic: string;
  Type: string;
  Key: string;
  Namespace: string;
  FilterKeys: string[] | null;
  Index: number;
  Payload: Record<string, Record<string, unknown>>;
}
interface Frame {
  Index?: number;
  Events?: Event[];
}

/** An open event stream: every line received so far, parsed, and whether the body has ended. */
class Stream {
  lines: Frame[] = [];
  raw = '';
  ended = false;
  status = 0;
  contentType = '';
  private res: IncomingMessage | null = null;

  static open(c: SimClient, query: string, token?: string): Promise<Stream> {
    const s = new Stream();
    return new Promise((resolve, reject) => {
      const req = request(`${c.sim.url}/v1/event/stream${query}`, { headers: token ? { 'X-Nomad-Token': token } : {} }, (res) => {
        s.res = res;
        s.status = res.statusCode ?? 0;
        s.contentType = String(res.headers['content-type'] ?? '');
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          s.raw += chunk;
          const parts = s.raw.split('\n');
          s.raw = parts.pop() ?? '';
          for (const p of parts) s.lines.push(JSON.parse(p) as Frame);
        });
        res.on('end', () => (s.ended = true));
        res.on('error', () => (s.ended = true));
        resolve(s);
      });
      req.on('error', reject);
      req.end();
    });
  }

  get frames(): Required<Frame>[] {
    return this.lines.filter((l): l is Required<Frame> => l.Index !== undefined);
  }

  get events(): Event[] {
    return this.frames.flatMap((f) => f.Events);
  }

  close(): void {
    this.res?.destroy();
  }
}

describe('event stream', () => {
  let c: SimClient;
  const streams: Stream[] = [];
  const start = async (opts: SimulatorOptions = {}): Promise<void> => {
    c = await withSim(opts);
  };
  const open = async (query: string, token?: string): Promise<Stream> => {
    const s = await Stream.open(c, query, token);
    streams.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await c.sim.close();
  });

  test('200 with a {} line at once, then frames of Deployment and Allocation events keyed as Nomad keys them', async () => {
    await start();
    const s = await open('?topic=Deployment&topic=Allocation');
    expect(s.status).toBe(200);
    expect(s.contentType).toBe('application/json');
    await eventually(async () => s.lines.length >= 1, 'the first {} line');
    expect(s.lines[0]).toEqual({});

    await c.register(webJob({ count: 2 }));
    const d = await c.latestDeployment('web');
    await eventually(async () => s.events.filter((e) => e.Topic === 'Allocation').length >= 2 && s.events.some((e) => e.Topic === 'Deployment'), 'events');
    for (const f of s.frames) for (const e of f.Events) expect(e.Index).toBe(f.Index);

    const dep = s.events.find((e) => e.Topic === 'Deployment') as Event;
    expect(dep).toMatchObject({ Type: 'PlanResult', Key: d.ID, Namespace: 'default', FilterKeys: ['web'] });
    expect(dep.Payload.Deployment?.ID).toBe(d.ID);

    const alloc = s.events.find((e) => e.Topic === 'Allocation') as Event;
    const a = alloc.Payload.Allocation as Record<string, unknown>;
    expect(alloc).toMatchObject({ Key: a.ID, FilterKeys: ['web', d.ID] });
    expect(a.DeploymentID).toBe(d.ID);
    expect(a).not.toHaveProperty('Job');
    expect(a).not.toHaveProperty('JobVersion');

    // Health after min_healthy_time arrives as updates of the same allocations and deployment.
    await c.advance('15s');
    await eventually(async () => s.events.some((e) => e.Type === 'AllocationUpdated') && s.events.some((e) => e.Type === 'DeploymentStatusUpdate'), 'update events');
    const latest = s.events.filter((e) => e.Topic === 'Deployment').pop() as Event;
    expect(latest.Payload.Deployment).toEqual((await c.get(`/v1/deployment/${d.ID}`)).body);
  });

  test('keys select by deployment ID, and an event matching two subscribed keys comes twice', async () => {
    await start();
    await c.register(webJob({ id: 'a' }));
    await c.register(webJob({ id: 'b' }));
    const da = await c.latestDeployment('a');
    const byDeployment = await open(`?topic=Allocation:${da.ID}`);
    const twice = await open(`?topic=Deployment:a&topic=Deployment:${da.ID}`);
    await eventually(async () => byDeployment.events.length >= 2 && twice.events.length >= 2, 'replayed events');
    expect(new Set(byDeployment.events.map((e) => e.Topic))).toEqual(new Set(['Allocation']));
    expect(byDeployment.events.every((e) => e.FilterKeys?.includes(da.ID))).toBe(true);
    expect(twice.frames[0]?.Events.map((e) => e.Key)).toEqual([da.ID, da.ID]);
  });

  test('index: 0 replays the buffer, a buffered index starts at that frame, an older one silently at the oldest, a newer one at the latest', async () => {
    await start({ eventBufferSize: 3 });
    for (const id of ['j1', 'j2', 'j3', 'j4', 'j5']) await c.register(webJob({ id, count: 1 }));
    const all = await open('?topic=Deployment&index=0');
    await eventually(async () => all.frames.length === 3, 'three buffered frames');
    const indexes = all.frames.map((f) => f.Index);
    const keys = all.frames.map((f) => f.Events[0]?.Payload.Deployment?.JobID);
    expect(keys).toEqual(['j3', 'j4', 'j5']);

    const atMiddle = await open(`?topic=Deployment&index=${indexes[1]}`);
    const tooOld = await open('?topic=Deployment&index=1');
    const ahead = await open(`?topic=Deployment&index=${(indexes[2] as number) + 100}`);
    await eventually(async () => atMiddle.frames.length === 2 && tooOld.frames.length === 3 && ahead.frames.length === 1, 'starting frames');
    expect(atMiddle.frames.map((f) => f.Index)).toEqual(indexes.slice(1));
    expect(tooOld.frames.map((f) => f.Index)).toEqual(indexes);
    expect(tooOld.lines[0]).toEqual({});
    expect(ahead.frames.map((f) => f.Index)).toEqual(indexes.slice(2));
  });

  test('heartbeats: {} lines keep arriving on an idle stream', async () => {
    await start({ eventHeartbeatMs: 50 });
    const s = await open('?topic=Deployment');
    await eventually(async () => s.lines.length >= 3, 'heartbeats');
    expect(s.lines.slice(0, 3)).toEqual([{}, {}, {}]);
    expect(s.ended).toBe(false);
  });

  test('bad topic, bad index and a non-GET method get Nomad’s errors', async () => {
    await start();
    const topic = await c.get('/v1/event/stream?topic=Deployment:a:b');
    expect(topic.status).toBe(400);
    expect(topic.text).toBe('Invalid topic query: error parsing topics: Invalid key value pair for topic, topic: Deployment:a:b');
    const index = await c.get('/v1/event/stream?topic=Deployment&index=x');
    expect(index.status).toBe(400);
    expect(index.text).toBe('Unable to parse index: strconv.ParseUint: parsing "x": invalid syntax');
    const post = await c.post('/v1/event/stream?topic=Deployment');
    expect(post.status).toBe(405);
    expect(post.text).toBe('Invalid method');
  });

  test('denied: 200 then EOF with no body, for a missing capability and for namespace * without every namespace', async () => {
    await start();
    await c.register(webJob({ id: 'other', namespace: 'team' }));
    await c.put('/_sim/acl', { enabled: true, tokens: { reader: { default: ['read-job'] }, both: ['read-job'], nobody: [] } });
    for (const [query, token] of [
      ['?topic=Deployment', 'nobody'],
      ['?topic=Deployment&namespace=*', 'reader'],
      ['?topic=Deployment', 'bogus'],
      ['?topic=*', 'both'],
    ] as const) {
      const s = await open(query, token);
      await eventually(async () => s.ended, `end of the denied stream ${query} (${token})`);
      expect({ status: s.status, lines: s.lines, raw: s.raw }).toEqual({ status: 200, lines: [], raw: '' });
    }
    const allowed = await open('?topic=Deployment&namespace=*', 'both');
    await eventually(async () => allowed.events.length >= 1, 'events for a token reading every namespace');
    expect(allowed.ended).toBe(false);
  });

  test('control: a cut ends open streams; stream-deny answers 200 then EOF; http-0.0 sends Nomad 1.11.2’s status line', async () => {
    await start();
    const s = await open('?topic=Deployment');
    await eventually(async () => s.lines.length >= 1, 'the first line');
    const cut = await c.post<{ cut: number }>('/_sim/event-stream/cut');
    expect(cut.body).toEqual({ cut: 1 });
    await eventually(async () => s.ended, 'the cut stream ends');

    await c.post('/_sim/faults', { kind: 'stream-deny', path: '/v1/event/stream' });
    const denied = await open('?topic=Deployment');
    await eventually(async () => denied.ended, 'the denied stream ends');
    expect({ status: denied.status, lines: denied.lines }).toEqual({ status: 200, lines: [] });

    await c.post('/_sim/faults', { kind: 'http-0.0', path: '/v1/event/stream' });
    const raw = await rawRequest(c.sim.port, 'GET /v1/event/stream?topic=Deployment HTTP/1.1\r\nHost: sim\r\n\r\n');
    expect(raw.startsWith('HTTP/0.0 200 OK\r\n')).toBe(true);
  });
});
