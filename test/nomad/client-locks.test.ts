import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';

import { HttpNomadClient } from '../../src/nomad/client.js';
import { readNomadConfig } from '../../src/nomad/config.js';
import { SimClient, withSim } from '../simulator/helpers.js';

const PATH = 'nomad-promoter/leader';
const LOCK = { ttl: '10s', lockDelay: '5s' };

describe('HttpNomadClient variable locks against the simulator', () => {
  let c: SimClient;
  const clients: HttpNomadClient[] = [];
  const replica = (token: string): HttpNomadClient => {
    const { config } = readNomadConfig({ NOMAD_ADDR: c.sim.url, NOMAD_TOKEN: token });
    const client = new HttpNomadClient(config!, { minRetryDelayMs: 1, maxRetryDelayMs: 5 });
    clients.push(client);
    return client;
  };
  beforeEach(async () => {
    c = await withSim({ apps: false });
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await c.sim.close();
  });

  test('one replica holds the lock, the other gets conflict; after release the other acquires', async () => {
    const a = replica('token-a');
    const b = replica('token-b');
    const held = await a.acquireLock(PATH, 'default', LOCK, { holder: 'a' });
    expect(held.kind).toBe('held');
    expect(await b.acquireLock(PATH, 'default', LOCK)).toMatchObject({ kind: 'conflict' });
    const id = (held as { id: string }).id;
    expect(await a.renewLock(PATH, 'default', id)).toEqual({ kind: 'held', id });
    expect(await a.releaseLock(PATH, 'default', id)).toEqual({ kind: 'released' });
    expect(await a.releaseLock(PATH, 'default', id)).toMatchObject({ kind: 'lost' });
    expect((await b.acquireLock(PATH, 'default', LOCK)).kind).toBe('held');
    expect((await a.readVariable(PATH, 'default'))?.Items).toEqual({});
  });

  test('renew after 2×TTL without renewal is lost, and the lock ID never appears in the reason', async () => {
    const a = replica('token-a');
    const held = await a.acquireLock(PATH, 'default', LOCK);
    const id = (held as { id: string }).id;
    await c.advance('20s');
    const lost = await a.renewLock(PATH, 'default', id);
    expect(lost).toEqual({ kind: 'lost', reason: 'attempting to modify locked variable' });
    expect(await a.renewLock('nomad-promoter/none', 'default', id)).toEqual({ kind: 'lost', reason: "variable doesn't exist" });
  });

  test('a partition of one replica makes its renew fail (an error, so the leader stops) while the other is unaffected', async () => {
    const a = replica('token-a');
    const b = replica('token-b');
    const idA = ((await a.acquireLock(PATH, 'default', LOCK)) as { id: string }).id;
    const idB = ((await b.acquireLock('nomad-promoter/other', 'default', LOCK)) as { id: string }).id;
    await c.post('/_sim/lock-faults', { kind: 'partition', token: 'token-a' });
    await expect(a.renewLock(PATH, 'default', idA)).rejects.toThrow();
    expect(await b.renewLock('nomad-promoter/other', 'default', idB)).toEqual({ kind: 'held', id: idB });
  });

  test('a TTL out of bounds is an error naming it, not an outcome', async () => {
    await expect(replica('token-a').acquireLock(PATH, 'default', { ttl: '1s', lockDelay: '1s' })).rejects.toThrow(/TTL must be between 10 seconds and 24 hours/);
  });
});
