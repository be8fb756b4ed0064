/**
 * GET /v1/stream against a real status server and an ObservedStore: snapshot, one event per
 * accepted change, removals, heartbeats; a client that stops reading is dropped while the store's
 * writers and the other clients carry on.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { request, type IncomingMessage } from 'node:http';
import { persistDeployment, startDeployment, step, type StoredSnapshot } from '../../src/machine/machine.js';
import { StatusServer } from '../../src/server/http.js';
import { Recorder } from '../../src/server/metrics.js';
import { MemorySnapshotStore } from '../../src/store/memory.js';
import { ObservedStore } from '../../src/store/observed.js';
import { alloc, deployment, group, policy } from '../support/builders.js';
import { eventually } from '../support/eventually.js';

const T0 = Date.parse('2026-11-27T10:00:00Z');

function snapshot(id: string, now = T0, warnings: string[] = []): StoredSnapshot {
  const obs = deployment([group('web', { policy: policy(), canaries: [alloc('c1', true)] })], { id });
  const s = step(startDeployment({ deploymentId: id, namespace: 'default', job: `web-${id}`, jobVersion: 1, now }), { type: 'observe', now, observation: obs, measurements: [] }).snapshot;
  const stored = persistDeployment(s);
  return { ...stored, context: { ...stored.context, warnings } };
}

interface Frame {
  event: string;
  data: unknown;
}

/** An SSE reader: frames as they arrive; `paused` leaves the socket unread. */
function connect(url: string, paused = false): Promise<{ res: IncomingMessage; frames: Frame[]; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/stream`, { agent: false }, (res) => {
      const frames: Frame[] = [];
      let buffer = '';
      const ended = new Promise<void>((done) => {
        res.on('close', done);
        res.on('error', () => done());
      });
      if (!paused) {
        res.setEncoding('utf8').on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event && data) frames.push({ event, data: JSON.parse(data) });
          }
        });
      } else {
        res.pause();
      }
      resolve({ res, frames, ended });
    });
    req.on('error', reject);
    req.end();
  });
}

let server: StatusServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(store: ObservedStore, stream: { heartbeatMs?: number; maxBufferedBytes?: number; maxClients?: number } = {}, onStreamDrop?: () => void): Promise<string> {
  server = new StatusServer({ recorder: new Recorder('test', { defaultMetrics: false }), store, notReadyReason: () => undefined, stream, ...(onStreamDrop ? { onStreamDrop } : {}) });
  const address = await server.listen('127.0.0.1', 0);
  return `http://127.0.0.1:${address.port}`;
}

describe('GET /v1/stream', () => {
  test('a snapshot of every tracked deployment, then one event per accepted change and removal, and heartbeats', async () => {
    const store = new ObservedStore(new MemorySnapshotStore(), () => undefined);
    await store.put('d-1', snapshot('d-1'));
    const url = await start(store, { heartbeatMs: 50 });
    const client = await connect(url);
    expect(client.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const first = await eventually(async () => client.frames[0], 'the snapshot');
    expect(first).toMatchObject({ event: 'snapshot', data: { deployments: [{ id: 'd-1', job: 'web-d-1', state: 'baking', updatedAt: '2026-11-27T10:00:00.000Z' }] } });

    await store.put('d-2', snapshot('d-2'));
    await store.put('d-1', snapshot('d-1', T0 + 1000));
    await store.delete('d-2');
    const changes = await eventually(async () => {
      const c = client.frames.filter((f) => f.event !== 'heartbeat' && f.event !== 'snapshot');
      return c.length >= 3 ? c : undefined;
    }, 'three changes');
    expect(changes).toEqual([
      { event: 'deployment', data: expect.objectContaining({ id: 'd-2' }) },
      { event: 'deployment', data: expect.objectContaining({ id: 'd-1', updatedAt: '2026-11-27T10:00:01.000Z' }) },
      { event: 'removed', data: { id: 'd-2' } },
    ]);
    const beat = await eventually(async () => client.frames.find((f) => f.event === 'heartbeat'), 'a heartbeat');
    expect(typeof (beat.data as { at: string }).at).toBe('string');
    client.res.destroy();
  });

  test('a client that stops reading is dropped; writes and the other clients carry on', async () => {
    const store = new ObservedStore(new MemorySnapshotStore(), () => undefined);
    let drops = 0;
    const url = await start(store, { maxBufferedBytes: 64 * 1024 }, () => drops++);
    const slow = await connect(url, true);
    const fast = await connect(url);
    await eventually(async () => fast.frames.some((f) => f.event === 'snapshot'), 'the fast client’s snapshot');
    const big = ['x'.repeat(100_000)];
    const received = () => fast.frames.filter((f) => f.event === 'deployment').length;
    // The fast client reads each change before the next is written; the slow one never reads:
    // far more than the kernel's socket buffers and the 64 KiB allowance are written to it.
    let puts = 0;
    while (drops === 0 || puts < 5) {
      expect(puts).toBeLessThan(500);
      await store.put('d-1', snapshot('d-1', T0 + puts, big));
      puts++;
      await eventually(async () => received() === puts, `change ${puts} at the fast client`, 5000, 2);
    }
    expect(drops).toBe(1);
    slow.res.resume();
    await slow.ended;
    const last = fast.frames.filter((f) => f.event === 'deployment').pop()!.data as { updatedAt: string };
    expect(last.updatedAt).toBe(new Date(T0 + puts - 1).toISOString());
    fast.res.destroy();
  });

  test('beyond maxClients a stream is refused with 503 and a reason; a place freed is taken again', async () => {
    const store = new ObservedStore(new MemorySnapshotStore(), () => undefined);
    const url = await start(store, { maxClients: 2 });
    const open = [await connect(url), await connect(url)];
    const refused = await fetch(`${url}/v1/stream`);
    expect([refused.status, await refused.json()]).toEqual([503, { error: 'too many /v1/stream clients (at most 2); try again later' }]);
    open[0]!.res.destroy();
    const again = await eventually(async () => {
      const c = await connect(url);
      if (c.res.statusCode === 200) return c;
      c.res.destroy();
      return undefined;
    }, 'a stream accepted once one closed');
    await eventually(async () => again.frames.some((f) => f.event === 'snapshot'), 'its snapshot');
    for (const c of [open[1]!, again]) c.res.destroy();
  });

  test('a store that fails to list ends that stream; the server goes on answering', async () => {
    class FailingList extends MemorySnapshotStore {
      override async list(): Promise<StoredSnapshot[]> {
        throw new Error('store unavailable');
      }
    }
    const url = await start(new ObservedStore(new FailingList(), () => undefined));
    // Ended before or after the status line reached the client: either way, no frames.
    const outcome = await connect(url).then(
      async (c) => (await c.ended, c.frames),
      (err: Error) => err.message,
    );
    expect([[], 'socket hang up']).toContainEqual(outcome);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
