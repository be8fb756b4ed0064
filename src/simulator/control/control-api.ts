/**
 * The control API under /_sim/ (JSON in and out) that tests and demos use to drive the
 * simulated cluster. See src/simulator/README.md.
 */
import { parseGoDuration } from '../duration.js';
import { behaviourProblem, type AppBehaviour } from '../model/app-host.js';
import type { AppTarget } from '../model/cluster.js';
import { ApiError } from '../model/errors.js';
import { allocToStub, deploymentToApi } from '../model/serialize.js';
import type { TokenSpec } from '../http/acl.js';
import { readBody } from '../http/body.js';
import { sendJson } from '../http/respond.js';
import { Router } from '../http/router.js';
import type { ApiContext } from '../http/router.js';
import { rfc3339Nano } from '../time-format.js';
import { FAULT_KINDS } from './faults.js';
import type { FaultKind } from './faults.js';
import { LOCK_FAULT_KINDS, type LockFaultKind } from './lock-faults.js';

async function jsonBody(ctx: ApiContext): Promise<Record<string, unknown>> {
  const text = await readBody(ctx.req);
  if (text.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new ApiError(400, 'body must be a JSON object');
}

function clockState(ctx: ApiContext): Record<string, unknown> {
  const now = ctx.services.clock.now();
  return { now, time: rfc3339Nano(now), frozen: ctx.services.clock.frozen };
}

async function postClock(ctx: ApiContext): Promise<void> {
  const body = await jsonBody(ctx);
  const { clock, cluster } = ctx.services;
  if (body.freeze === true) clock.freeze();
  if (body.freeze === false) clock.unfreeze();
  if (body.advance !== undefined) {
    let ms: number;
    try {
      ms = typeof body.advance === 'number' ? body.advance : parseGoDuration(String(body.advance));
    } catch (e) {
      throw new ApiError(400, (e as Error).message);
    }
    if (!(ms >= 0)) throw new ApiError(400, 'advance must not be negative');
    clock.advance(ms);
  }
  cluster.catchUp();
  sendJson(ctx.res, 200, clockState(ctx));
}

async function allocHealth(ctx: ApiContext): Promise<void> {
  const body = await jsonBody(ctx);
  if (typeof body.healthy !== 'boolean') throw new ApiError(400, '"healthy" must be true or false');
  ctx.services.cluster.setAppHealth(ctx.params.id ?? '', body.healthy);
  sendJson(ctx.res, 200, { ok: true });
}

function allocFail(ctx: ApiContext): void {
  ctx.services.cluster.failAlloc(ctx.params.id ?? '');
  sendJson(ctx.res, 200, { ok: true });
}

async function appHealth(ctx: ApiContext): Promise<void> {
  const body = await jsonBody(ctx);
  if (typeof body.job !== 'string' || typeof body.healthy !== 'boolean') {
    throw new ApiError(400, '"job" (string) and "healthy" (boolean) are required');
  }
  const version = typeof body.version === 'number' ? body.version : null;
  const namespace = typeof body.namespace === 'string' ? body.namespace : 'default';
  ctx.services.cluster.setJobAppHealth(namespace, body.job, version, body.healthy);
  sendJson(ctx.res, 200, { ok: true });
}

async function appProfile(ctx: ApiContext): Promise<void> {
  const body = await jsonBody(ctx);
  const change: AppBehaviour = {};
  for (const key of ['errorRate', 'latencyMs'] as const) {
    if (body[key] === undefined) continue;
    const problem = behaviourProblem(key, body[key]);
    if (problem) throw new ApiError(400, `"${key}" ${problem}`);
    change[key] = body[key] as number;
  }
  if (Object.keys(change).length === 0) throw new ApiError(400, '"errorRate" and/or "latencyMs" is required');
  let target: AppTarget;
  if (typeof body.allocId === 'string') {
    target = { allocId: body.allocId };
  } else if (typeof body.job === 'string') {
    if (body.version !== undefined && !Number.isInteger(body.version)) throw new ApiError(400, '"version" must be an integer');
    target = {
      namespace: typeof body.namespace === 'string' ? body.namespace : 'default',
      job: body.job,
      version: typeof body.version === 'number' ? body.version : null,
    };
  } else {
    throw new ApiError(400, '"job" (string) or "allocId" (string) is required');
  }
  ctx.services.cluster.setAppBehaviour(target, change);
  sendJson(ctx.res, 200, { ok: true });
}

async function addFault(ctx: ApiContext): Promise<void> {
  const body = await jsonBody(ctx);
  const kind = body.kind as FaultKind;
  if (!FAULT_KINDS.includes(kind)) throw new ApiError(400, `"kind" must be one of ${FAULT_KINDS.join(', ')}`);
  if (kind === 'index-reset' && typeof body.to !== 'number') throw new ApiError(400, 'index-reset needs "to"');
  if ((kind === 'huge' || kind === 'gzip-bomb') && !(typeof body.bytes === 'number' && body.bytes > 0)) throw new ApiError(400, `${kind} needs "bytes"`);
  ctx.services.faults.add({
    kind,
    count: typeof body.count === 'number' ? body.count : 1,
    ms: typeof body.ms === 'number' ? body.ms : 0,
    to: typeof body.to === 'number' ? body.to : 0,
    bytes: typeof body.bytes === 'number' ? body.bytes : 0,
    path: typeof body.path === 'string' ? body.path : '',
  });
  sendJson(ctx.res, 200, ctx.services.faults.list());
}

async function addLockFault(ctx: ApiContext): Promise<void> {
  const body = await jsonBody(ctx);
  const kind = body.kind as LockFaultKind;
  if (!LOCK_FAULT_KINDS.includes(kind)) throw new ApiError(400, `"kind" must be one of ${LOCK_FAULT_KINDS.join(', ')}`);
  if (typeof body.token !== 'string' || body.token === '') throw new ApiError(400, '"token" must name the client whose renewals to affect');
  if (kind === 'renew-delay' && typeof body.ms !== 'number') throw new ApiError(400, 'renew-delay needs "ms"');
  ctx.services.lockFaults.add({
    kind,
    token: body.token,
    ms: typeof body.ms === 'number' ? body.ms : 0,
    count: typeof body.count === 'number' ? body.count : null,
  });
  sendJson(ctx.res, 200, ctx.services.lockFaults.list());
}

async function putAcl(ctx: ApiContext): Promise<void> {
  const body = await jsonBody(ctx);
  const tokens = (body.tokens ?? {}) as Record<string, TokenSpec>;
  const accessors = ctx.services.acl.configure(body.enabled === true, tokens);
  sendJson(ctx.res, 200, { enabled: ctx.services.acl.enabled, tokens: accessors.length, accessors });
}

function state(ctx: ApiContext): void {
  const { cluster } = ctx.services;
  cluster.catchUp();
  const { store } = cluster;
  sendJson(ctx.res, 200, {
    clock: clockState(ctx),
    index: store.latestIndex(),
    tables: { jobs: store.index('jobs'), job_version: store.index('job_version'), deployment: store.index('deployment'), allocs: store.index('allocs'), variables: store.index('variables') },
    jobs: [...store.jobs.values()],
    deployments: [...store.deployments.values()].map(deploymentToApi),
    allocations: [...store.allocs.values()].map((a) => ({
      ...allocToStub(a, { resources: true }),
      DeploymentID: a.DeploymentID,
      AppHealthy: a.appHealthy,
      App: cluster.ctx.apps?.describe(a.ID) ?? null,
    })),
    variables: [...store.variables.values()],
  });
}

export function controlRouter(): Router {
  const ok = (fn: (ctx: ApiContext) => void) => (ctx: ApiContext) => {
    fn(ctx);
    sendJson(ctx.res, 200, { ok: true });
  };
  return new Router()
    .add('/_sim/clock', { GET: (ctx) => sendJson(ctx.res, 200, clockState(ctx)), POST: postClock })
    .add('/_sim/alloc/:id/health', { POST: allocHealth })
    .add('/_sim/alloc/:id/fail', { POST: allocFail })
    .add('/_sim/app-health', { POST: appHealth })
    .add('/_sim/app-profile', { POST: appProfile })
    .add('/_sim/faults', {
      GET: (ctx) => sendJson(ctx.res, 200, ctx.services.faults.list()),
      POST: addFault,
      DELETE: ok((ctx) => ctx.services.faults.clear()),
    })
    .add('/_sim/lock-faults', {
      GET: (ctx) => sendJson(ctx.res, 200, ctx.services.lockFaults.list()),
      POST: addLockFault,
      DELETE: ok((ctx) => ctx.services.lockFaults.clear()),
    })
    .add('/_sim/requests', {
      GET: (ctx) => {
        const route = ctx.url.searchParams.get('route');
        const list = ctx.services.requests.list();
        sendJson(ctx.res, 200, route === null ? list : list.filter((e) => e.route === route));
      },
      DELETE: ok((ctx) => ctx.services.requests.clear()),
    })
    .add('/_sim/connections', {
      GET: (ctx) => {
        const { open, peak, rejected, bytesSent, bytesByRoute } = ctx.services.connections;
        sendJson(ctx.res, 200, { open, peak, rejected, bytesSent, bytesByRoute });
      },
    })
    .add('/_sim/connections/reset-peak', { POST: ok((ctx) => ctx.services.connections.resetPeak()) })
    .add('/_sim/event-stream/cut', { POST: (ctx) => sendJson(ctx.res, 200, { cut: ctx.services.events.cutAll() }) })
    .add('/_sim/acl', { PUT: putAcl, POST: putAcl })
    .add('/_sim/state', { GET: state });
}
