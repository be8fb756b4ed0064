/**
 * The leader lease against the in-process simulator's Variables locks: one holder at a time,
 * renewals, stepping down on any renew failure, fencing by the monotonic clock, takeover.
 * Nomad's time is the simulator's clock (advanced by the test); the lease's own monotonic clock
 * is the process's, plus an offset the test adds to play a frozen process.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';

import { LeaderLease, type LeaseEvent } from '../../src/ha/lease.js';
import { HttpNomadClient } from '../../src/nomad/client.js';
import { readNomadConfig } from '../../src/nomad/config.js';
import { eventually } from '../support/eventually.js';
import { SimClient, withSim } from '../simulator/helpers.js';

const PATH = 'nomad-promoter/leader';
const TTL_MS = 10_000;

interface Replica {
  lease: LeaderLease;
  /** The replica's fenced client for reads and writes; the lease has its own, as in the daemon. */
  client: HttpNomadClient;
  lockClient: HttpNomadClient;
  events: LeaseEvent[];
  renews: () => number;
  /** Moves this replica's monotonic clock forward, as a process frozen that long sees it. */
  freeze: (ms: number) => void;
}

describe('LeaderLease on Nomad Variables locks', () => {
  let c: SimClient;
  const replicas: Replica[] = [];

  const replica = (name: string): Replica => {
    const { config } = readNomadConfig({ NOMAD_ADDR: c.sim.url, NOMAD_TOKEN: `token-${name}` });
    let offset = 0;
    let lease!: LeaderLease;
    const client = new HttpNomadClient(config!, { retries: 0, mayWrite: () => lease.mayWrite() });
    const lockClient = new HttpNomadClient(config!, { retries: 0, keepAlive: false });
    let renews = 0;
    const api = {
      acquireLock: lockClient.acquireLock.bind(lockClient),
      releaseLock: lockClient.releaseLock.bind(lockClient),
      readVariable: lockClient.readVariable.bind(lockClient),
      renewLock: (...args: Parameters<HttpNomadClient['renewLock']>) => {
        renews++;
        return lockClient.renewLock(...args);
      },
    };
    lease = new LeaderLease({ api, path: PATH, namespace: 'default', ttlMs: TTL_MS, lockDelayMs: 5_000, identity: name, clock: () => performance.now() + offset, contendEveryMs: 20, renewEveryMs: 20 });
    const events: LeaseEvent[] = [];
    lease.onChange((e) => events.push(e));
    const r: Replica = { lease, client, lockClient, events, renews: () => renews, freeze: (ms) => (offset += ms) };
    replicas.push(r);
    return r;
  };

  const leader = async (name: string): Promise<Replica> => {
    const r = replica(name);
    r.lease.start();
    await eventually(async () => r.lease.leadership.leader, `${name} leads`);
    return r;
  };
  /** `a` leads, `b` contends and has read who leads. */
  const leaderAndStandby = async (): Promise<[Replica, Replica]> => {
    const a = await leader('a');
    const b = replica('b');
    b.lease.start();
    await eventually(async () => b.lease.leadership.leaderIdentity === 'a', 'b names a as the leader');
    return [a, b];
  };

  beforeEach(async () => {
    c = await withSim({ apps: false });
  });
  afterEach(async () => {
    for (const r of replicas.splice(0)) {
      await r.lease.stop();
      r.client.close();
      r.lockClient.close();
    }
    await c.sim.close();
  });

  test('one replica acquires and keeps renewing; the other stays standby and learns who leads', async () => {
    const [a, b] = await leaderAndStandby();
    const renewed = a.renews();
    await eventually(async () => a.renews() >= renewed + 3, 'a renews');
    expect(a.lease.leadership).toEqual({ leader: true, identity: 'a', leaderIdentity: 'a' });
    expect(b.lease.leadership).toEqual({ leader: false, identity: 'b', leaderIdentity: 'a' });
    expect(b.lease.mayWrite()).toBe(false);
    expect(a.events).toEqual([{ kind: 'acquired' }]);
    expect(b.events).toEqual([]);
  });

  test('a 409 on renew (the lock expired in Nomad) steps down at once; another takes over after 2×TTL + LockDelay', async () => {
    const [a, b] = await leaderAndStandby();
    // Nomad's 2×TTL timer fires: every later renew of a is refused.
    await c.advance('20s');
    await eventually(async () => a.events.some((e) => e.kind === 'lost'), 'a steps down');
    expect(a.events.at(-1)).toEqual({ kind: 'lost', reason: 'renew refused by Nomad: attempting to modify locked variable' });
    expect(a.lease.mayWrite()).toBe(false);
    // LockDelay later the lock is free: whichever replica asks first leads, and only one does.
    await c.advance('5s');
    await eventually(async () => a.lease.leadership.leader || b.lease.leadership.leader, 'a replica leads again');
    expect([a, b].filter((r) => r.lease.leadership.leader)).toHaveLength(1);
  });

  test('a renew that fails (partitioned from Nomad) steps down, and writes through the fenced client are not sent', async () => {
    const a = await leader('a');
    await a.client.writeVariable('probe/before', 'default', { v: '1' });
    await c.post('/_sim/lock-faults', { kind: 'partition', token: 'token-a' });
    await eventually(async () => a.events.some((e) => e.kind === 'lost'), 'a steps down');
    expect(a.events.at(-1)).toMatchObject({ kind: 'lost', reason: expect.stringMatching(/^renew failed: /) });
    await expect(a.client.writeVariable('probe/after', 'default', { v: '1' })).rejects.toMatchObject({ code: 'EFENCED' });
    const writes = (await c.get<{ method: string; path: string }[]>('/_sim/requests')).body.filter((r) => r.method === 'PUT' && r.path.startsWith('/v1/var/probe/'));
    expect(writes.map((w) => w.path)).toEqual(['/v1/var/probe/before']);
  });

  test('a process frozen longer than its lease writes nothing when it resumes, and steps down', async () => {
    const a = await leader('a');
    // Renewals paused by a slow Nomad, then the process "freezes": its clock jumps past the TTL.
    await c.post('/_sim/lock-faults', { kind: 'renew-delay', token: 'token-a', ms: 60_000 });
    a.freeze(TTL_MS);
    await expect(a.client.writeVariable('probe/frozen', 'default', { v: '1' })).rejects.toMatchObject({ code: 'EFENCED' });
    expect(a.events.at(-1)).toEqual({ kind: 'lost', reason: "lease expired on this process's clock: no successful renew sent in the last 9s" });
    const writes = (await c.get<{ method: string; path: string }[]>('/_sim/requests')).body.filter((r) => r.path.startsWith('/v1/var/probe/'));
    expect(writes).toEqual([]);
  });

  test('a write queued behind a slow request while the lease runs out is not sent once its connection frees', async () => {
    const a = await leader('a');
    await c.post('/_sim/lock-faults', { kind: 'renew-delay', token: 'token-a', ms: 60_000 });
    // A blocking query holds the client's one connection; the write queues behind it.
    const slow = a.client.listDeployments({ index: 1_000_000, waitMs: 500 });
    const write = a.client.writeVariable('probe/queued', 'default', { v: '1' });
    // Handed to the connection pool while the lease was valid, then the process "freezes".
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.lease.mayWrite()).toBe(true);
    a.freeze(TTL_MS);
    await slow;
    await expect(write).rejects.toMatchObject({ code: 'EFENCED' });
    const writes = (await c.get<{ method: string; path: string }[]>('/_sim/requests')).body.filter((r) => r.path.startsWith('/v1/var/probe/'));
    expect(writes).toEqual([]);
    expect(a.lease.leadership.leader).toBe(false);
  });

  test('a clean stop releases the lock: the standby leads without waiting for expiry', async () => {
    const [a, b] = await leaderAndStandby();
    await a.lease.stop();
    expect(a.events.at(-1)).toEqual({ kind: 'lost', reason: 'stopping' });
    await eventually(async () => b.lease.leadership.leader, 'b leads');
    expect(b.lease.leadership.leaderIdentity).toBe('b');
  });
});
