/**
 * Locks on Nomad Variables (1.7+): acquire, renew, release, and expiry by the simulator clock.
 * Nomad's leader runs a 2×TTL timer that each renew resets; once it fires, renews are refused and,
 * LockDelay later, the lock is released through raft. Here both deadlines are judged against the
 * clock whenever the variable is next touched, and the release is written then (a new index).
 */
import { randomUUID } from 'node:crypto';

import { ApiError } from './errors.js';
import { jobKey, type StateStore } from './store.js';
import { writtenVariable } from './variables.js';
import type { SimVariable, SimVariableLock } from './types.js';

export const MIN_LOCK_TTL_MS = 10_000;
export const MAX_LOCK_TTL_MS = 24 * 3_600_000;
const TTL_RANGE_ERROR = 'RPC Error:: 400,1 error occurred:\n\t* TTL must be between 10 seconds and 24 hours\n\n';

export interface LockRequest {
  TTL: string;
  LockDelay: string;
  ttlMs: number;
  lockDelayMs: number;
}

export type LockOutcome =
  | { kind: 'ok'; index: number; variable: SimVariable }
  /** Held by someone else (or the ID is wrong): Nomad answers a zero-valued variable. */
  | { kind: 'held' };

/** Nomad's lock TTL bounds, checked before anything is written. */
export function checkLockTtl(ttlMs: number): void {
  if (ttlMs < MIN_LOCK_TTL_MS || ttlMs > MAX_LOCK_TTL_MS) throw new ApiError(400, TTL_RANGE_ERROR);
}

/** True once the 2×TTL timer has fired: renews are refused from then on. */
export function lockExpired(lock: SimVariableLock, now: number): boolean {
  return now >= lock.renewedAt + 2 * lock.ttlMs;
}

/** Writes the delayed release of an expired lock whose LockDelay has passed. */
export function settleLock(store: StateStore, now: number, namespace: string, path: string): void {
  const existing = store.variables.get(jobKey(namespace, path));
  const lock = existing?.Lock;
  if (!existing || !lock || now < lock.renewedAt + 2 * lock.ttlMs + lock.lockDelayMs) return;
  store.write(now, (txn) => {
    store.variables.set(jobKey(namespace, path), withoutLock(existing, txn.index, txn.now));
    txn.touch('variables');
  });
}

/** Acquire: refused while any lock is held; otherwise creates or overwrites the variable's Items. */
export function acquireLock(
  store: StateStore,
  now: number,
  v: { namespace: string; path: string; items: Record<string, string> },
  request: LockRequest,
): LockOutcome {
  settleLock(store, now, v.namespace, v.path);
  return store.write(now, (txn): LockOutcome => {
    const key = jobKey(v.namespace, v.path);
    const existing = store.variables.get(key);
    if (existing?.Lock) return { kind: 'held' };
    const variable = writtenVariable(existing, v, txn, { ID: randomUUID(), ...request, renewedAt: txn.now });
    store.variables.set(key, variable);
    txn.touch('variables');
    return { kind: 'ok', index: txn.index, variable };
  });
}

/** Renew: resets the 2×TTL timer, writing nothing to raft (no new index). Errors as Nomad's. */
export function renewLock(store: StateStore, now: number, namespace: string, path: string, id: string): SimVariable {
  settleLock(store, now, namespace, path);
  const existing = store.variables.get(jobKey(namespace, path));
  if (!existing) throw new ApiError(404, "variable doesn't exist");
  const lock = existing.Lock;
  if (!lock) throw new ApiError(409, "variable doesn't hold a lock");
  if (lock.ID !== id || lockExpired(lock, now)) throw new ApiError(409, 'attempting to modify locked variable');
  lock.renewedAt = now;
  return existing;
}

/** Release by the holder: the lock goes, the Items stay. */
export function releaseLock(store: StateStore, now: number, namespace: string, path: string, id: string): LockOutcome {
  settleLock(store, now, namespace, path);
  return store.write(now, (txn): LockOutcome => {
    const key = jobKey(namespace, path);
    const existing = store.variables.get(key);
    if (!existing?.Lock) throw new ApiError(500, "variable doesn't hold a lock");
    if (existing.Lock.ID !== id) return { kind: 'held' };
    const variable = withoutLock(existing, txn.index, txn.now);
    store.variables.set(key, variable);
    txn.touch('variables');
    return { kind: 'ok', index: txn.index, variable };
  });
}

/**
 * A plain PUT or DELETE on a locked variable must carry the lock's ID (a holder's write keeps the
 * lock); anything else is refused.
 */
export function lockAllowsWrite(store: StateStore, now: number, namespace: string, path: string, id: string | undefined): boolean {
  settleLock(store, now, namespace, path);
  const lock = store.variables.get(jobKey(namespace, path))?.Lock;
  return !lock || lock.ID === id;
}

function withoutLock(v: SimVariable, index: number, now: number): SimVariable {
  const { Lock: _released, ...rest } = v;
  return { ...rest, ModifyIndex: index, ModifyTime: Math.round(now * 1e6) };
}
