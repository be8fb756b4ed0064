import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';

import { eventually } from '../support/eventually.js';
import { SimClient, withSim } from './helpers.js';

interface LockedVar {
  Namespace: string;
  Path: string;
  ModifyIndex: number;
  Items?: Record<string, string>;
  Lock?: { ID: string; TTL: string; LockDelay: string };
}

const ZERO = { Namespace: 'default', Path: 'nomad-promoter/leader', CreateIndex: 0, CreateTime: 0, ModifyIndex: 0, ModifyTime: 0 };
const PATH = '/v1/var/nomad-promoter/leader';

describe('variable locks', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim({ apps: false });
    await c.post('/_sim/clock', { freeze: true });
  });
  afterEach(() => c.sim.close());

  const acquire = (who: SimClient, lock: Record<string, unknown> = { TTL: '10s', LockDelay: '5s' }) =>
    who.put<LockedVar>(`${PATH}?lock-acquire`, { Namespace: 'default', Items: { holder: 'x' }, Lock: lock });
  const renew = (who: SimClient, id: string) => who.put<LockedVar>(`${PATH}?lock-renew&namespace=default`, { Lock: { ID: id } });

  test('acquire returns the Lock to the holder; a second acquire gets the zero-valued 409 without an index', async () => {
    const a = await acquire(c);
    expect(a.status).toBe(200);
    expect(a.body.Lock).toMatchObject({ TTL: '10s', LockDelay: '5s' });
    expect(a.body.Lock?.ID).toMatch(/^[0-9a-f-]{36}$/);
    const b = await acquire(c);
    expect(b.status).toBe(409);
    expect(b.body).toEqual(ZERO);
    expect(b.headers.get('x-nomad-index')).toBeNull();
  });

  test('TTL outside 10s..24h is 400 with Nomad text; two operations or cas are 400', async () => {
    const r = await acquire(c, { TTL: '5s' });
    expect({ status: r.status, text: r.text }).toEqual({ status: 400, text: 'RPC Error:: 400,1 error occurred:\n\t* TTL must be between 10 seconds and 24 hours\n\n' });
    expect((await acquire(c, { TTL: '25h' })).status).toBe(400);
    expect((await c.put(`${PATH}?lock-acquire&lock-renew`, {})).text).toBe('multiple lock operations');
    expect((await c.put(`${PATH}?lock-acquire&cas=0`, {})).text).toBe("CAS can't be used with lock operations");
  });

  test('renew errors are text/plain: missing variable, no lock, wrong ID', async () => {
    const missing = await renew(c, 'x');
    expect({ status: missing.status, text: missing.text }).toEqual({ status: 404, text: "variable doesn't exist" });
    expect(missing.headers.get('content-type')).toMatch(/^text\/plain/);
    await c.put(PATH, { Items: { a: '1' } });
    expect((await renew(c, 'x')).text).toBe("variable doesn't hold a lock");
    await c.request('DELETE', PATH);
    const id = (await acquire(c)).body.Lock?.ID as string;
    const wrong = await renew(c, 'not-the-id');
    expect({ status: wrong.status, text: wrong.text }).toEqual({ status: 409, text: 'attempting to modify locked variable' });
    const ok = await renew(c, id);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-nomad-index')).toBeNull();
  });

  test('expiry: renews refused after 2×TTL, takeover only after 2×TTL + LockDelay', async () => {
    const id = (await acquire(c)).body.Lock?.ID as string;
    await c.advance('19s');
    expect((await renew(c, id)).status).toBe(200); // resets the 2×TTL timer
    await c.advance('20s');
    expect((await renew(c, id)).text).toBe('attempting to modify locked variable');
    expect((await acquire(c)).status).toBe(409);
    await c.advance('5s');
    const taken = await acquire(c);
    expect(taken.status).toBe(200);
    expect(taken.body.Lock?.ID).not.toBe(id);
  });

  test('release keeps Items; wrong ID is zero-valued 409; unlocked is 500', async () => {
    const id = (await acquire(c)).body.Lock?.ID as string;
    expect((await c.put(`${PATH}?lock-release`, { Lock: { ID: 'nope' } })).body).toEqual(ZERO);
    const r = await c.put<LockedVar>(`${PATH}?lock-release`, { Lock: { ID: id } });
    expect(r.status).toBe(200);
    expect(r.body.Items).toEqual({ holder: 'x' });
    const again = await c.put(`${PATH}?lock-release`, { Lock: { ID: id } });
    expect({ status: again.status, text: again.text }).toEqual({ status: 500, text: "variable doesn't hold a lock" });
  });

  test('a locked variable refuses PUT and DELETE without its lock ID', async () => {
    const id = (await acquire(c)).body.Lock?.ID as string;
    expect((await c.put(PATH, { Items: { a: '2' } })).body).toEqual(ZERO);
    expect((await c.request('DELETE', PATH)).status).toBe(409);
    expect((await c.put(PATH, { Items: { a: '3' }, Lock: { ID: id } })).status).toBe(200);
    expect((await renew(c, id)).status).toBe(200);
  });

  test('a partition fault drops the renewals and acquires of the client with that token, and the lock then expires', async () => {
    const a = c.withToken('client-a');
    const id = (await acquire(a)).body.Lock?.ID as string;
    expect((await c.post('/_sim/lock-faults', { kind: 'partition', token: 'client-a' })).status).toBe(200);
    expect(JSON.stringify((await c.get('/_sim/lock-faults')).body)).not.toContain('client-a');
    await expect(renew(a, id)).rejects.toThrow();
    await expect(acquire(a)).rejects.toThrow();
    expect((await acquire(c.withToken('client-b'))).status).toBe(409);
    await c.advance('20s');
    await c.request('DELETE', '/_sim/lock-faults');
    expect((await renew(a, id)).text).toBe('attempting to modify locked variable');
  });

  test('a renew-delay fault holds the renew until it lands after the deadline, so it is refused', async () => {
    const a = c.withToken('client-a');
    const id = (await acquire(a)).body.Lock?.ID as string;
    await c.post('/_sim/lock-faults', { kind: 'renew-delay', token: 'client-a', ms: 3000, count: 1 });
    const late = renew(a, id);
    // The delayed renew has reached the simulator; while it is held, the deadline passes.
    await eventually(async () => (await c.get<{ query: Record<string, string> }[]>('/_sim/requests')).body.some((r) => 'lock-renew' in r.query), 'the renew to arrive');
    await c.advance('20s');
    expect((await late).text).toBe('attempting to modify locked variable');
    expect((await c.get('/_sim/lock-faults')).body).toEqual([]);
  });

  test('all lock operations need variables write on the path', async () => {
    await c.put('/_sim/acl', { enabled: true, tokens: { reader: ['variables-read'], writer: ['variables-write'] } });
    expect((await acquire(c.withToken('reader'))).status).toBe(403);
    const id = (await acquire(c.withToken('writer'))).body.Lock?.ID as string;
    expect((await renew(c.withToken('reader'), id)).status).toBe(403);
    expect((await c.withToken('reader').put(`${PATH}?lock-release`, { Lock: { ID: id } })).status).toBe(403);
    expect((await renew(c.withToken('writer'), id)).status).toBe(200);
  });
});
