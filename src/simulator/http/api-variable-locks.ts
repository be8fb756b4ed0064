/**
 * `PUT /v1/var/:path?lock-acquire|lock-renew|lock-release`, as Nomad 1.7's variable endpoint
 * answers them (see ../shared nomad-api.md "Variables and locks" and README.md).
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { ApiError } from '../model/errors.js';
import { acquireLock, checkLockTtl, releaseLock, renewLock, type LockOutcome } from '../model/variable-locks.js';
import { validateVariable } from '../model/variables.js';
import { parseGoDuration } from '../duration.js';
import { AclState, requireCapability } from './acl.js';
import { decodeBody } from './body.js';
import { indexHeader, sendJson } from './respond.js';
import type { ApiContext } from './router.js';
import { decodeItems, queryNamespace, variableToApi } from './api-variables.js';

const LOCK_OPERATIONS = ['lock-acquire', 'lock-renew', 'lock-release'] as const;
const DEFAULT_LOCK = '15s';

/** The lock operation the query names (its presence is enough), or null for a plain write. */
export function lockOperation(ctx: ApiContext): (typeof LOCK_OPERATIONS)[number] | null {
  const named = LOCK_OPERATIONS.filter((op) => ctx.url.searchParams.has(op));
  if (named.length === 0) return null;
  if (named.length > 1) throw new ApiError(400, 'multiple lock operations');
  if (ctx.url.searchParams.has('cas')) throw new ApiError(400, "CAS can't be used with lock operations");
  return named[0] as (typeof LOCK_OPERATIONS)[number];
}

/** Nomad's zero-valued 409: neither the holder's variable nor an index is revealed. */
export function sendHeld(ctx: ApiContext, namespace: string, path: string): void {
  sendJson(ctx.res, 409, { Namespace: namespace, Path: path, CreateIndex: 0, CreateTime: 0, ModifyIndex: 0, ModifyTime: 0 });
}

function duration(raw: unknown, field: string): { text: string; ms: number } {
  const text = raw === undefined || raw === null || raw === '' ? DEFAULT_LOCK : raw;
  if (typeof text !== 'string') throw new ApiError(400, `RPC Error:: 400,Lock.${field} must be a duration string`);
  try {
    return { text, ms: parseGoDuration(text) };
  } catch (err) {
    throw new ApiError(400, `RPC Error:: 400,${(err as Error).message}`);
  }
}

export function lockIdOf(body: Record<string, unknown>): string {
  const lock = body.Lock as Record<string, unknown> | undefined;
  return typeof lock?.ID === 'string' ? lock.ID : '';
}

function answer(ctx: ApiContext, outcome: LockOutcome, namespace: string, path: string, withLock: boolean): void {
  if (outcome.kind === 'held') return sendHeld(ctx, namespace, path);
  const api = variableToApi(outcome.variable);
  const lock = outcome.variable.Lock;
  if (withLock && lock) api.Lock = { TTL: lock.TTL, LockDelay: lock.LockDelay, ID: lock.ID };
  sendJson(ctx.res, 200, api, indexHeader(outcome.index));
}

export async function lockVariable(ctx: ApiContext, path: string, op: (typeof LOCK_OPERATIONS)[number]): Promise<void> {
  const body = await decodeBody(ctx.req);
  const who = ctx.services.acl.authenticate(ctx.req);
  const { cluster, clock } = ctx.services;
  if (op === 'lock-renew') {
    // Renew reads its namespace from the query string only.
    const namespace = queryNamespace(ctx);
    requireCapability(who, namespace, 'variables-write');
    const fault = ctx.services.lockFaults.take(AclState.tokenOf(ctx.req));
    if (fault?.kind === 'partition') {
      ctx.req.socket.destroy();
      return;
    }
    if (fault?.kind === 'renew-delay') await sleep(fault.ms, undefined, { signal: ctx.signal }).catch(() => undefined);
    const v = renewLock(cluster.store, clock.now(), namespace, path, lockIdOf(body));
    const lock = v.Lock as NonNullable<typeof v.Lock>;
    const { Items: _items, ...meta } = variableToApi(v);
    sendJson(ctx.res, 200, { ...meta, Lock: { TTL: lock.TTL, LockDelay: lock.LockDelay, ID: lock.ID } });
    return;
  }
  const namespace = typeof body.Namespace === 'string' && body.Namespace !== '' ? body.Namespace : queryNamespace(ctx);
  requireCapability(who, namespace, 'variables-write');
  if (op === 'lock-release') {
    answer(ctx, releaseLock(cluster.store, clock.now(), namespace, path, lockIdOf(body)), namespace, path, false);
    return;
  }
  if (ctx.services.lockFaults.partitioned(AclState.tokenOf(ctx.req))) {
    ctx.req.socket.destroy();
    return;
  }
  const items = decodeItems(body.Items);
  const lock = (body.Lock ?? {}) as Record<string, unknown>;
  const ttl = duration(lock.TTL, 'TTL');
  const delay = duration(lock.LockDelay, 'LockDelay');
  checkLockTtl(ttl.ms);
  validateVariable(namespace, path, items, true);
  const request = { TTL: ttl.text, LockDelay: delay.text, ttlMs: ttl.ms, lockDelayMs: delay.ms };
  answer(ctx, acquireLock(cluster.store, clock.now(), { namespace, path, items }, request), namespace, path, true);
}
