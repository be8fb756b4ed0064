/**
 * The simulator's HTTP server (node:http): Nomad API routes, the /_sim/ control API, request
 * logging, connection counting and fault injection.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import { TOO_MANY_RESPONSE } from '../control/faults.js';
import type { Fault } from '../control/faults.js';
import { controlRouter } from '../control/control-api.js';
import { ApiError } from '../model/errors.js';
import { addAllocationRoutes } from './api-allocations.js';
import { addDeploymentActions } from './api-deployment-actions.js';
import { addDeploymentRead, addDeploymentReads } from './api-deployments.js';
import { addJobRoutes } from './api-jobs.js';
import { firstValues } from './query.js';
import { sendEmpty, sendJson, sendText } from './respond.js';
import { Router } from './router.js';
import type { ApiContext, Match, Services } from './router.js';

function apiRouter(): Router {
  const router = new Router();
  addDeploymentReads(router);
  addDeploymentActions(router);
  addDeploymentRead(router);
  addAllocationRoutes(router);
  addJobRoutes(router);
  router.add('/v1/status/leader', { GET: (ctx) => sendJson(ctx.res, 200, '127.0.0.1:4647') });
  return router;
}

async function runHandler(match: Match | null, ctx: ApiContext, control: boolean): Promise<void> {
  if (!match) {
    if (control) sendJson(ctx.res, 404, { error: 'unknown control endpoint' });
    else sendEmpty(ctx.res, 404);
    return;
  }
  if (!match.handler) {
    if (control) sendJson(ctx.res, 405, { error: 'method not allowed' });
    else sendText(ctx.res, 405, 'Invalid method');
    return;
  }
  try {
    await match.handler({ ...ctx, params: match.params });
  } catch (e) {
    const status = e instanceof ApiError ? e.status : 500;
    const message = (e as Error).message;
    if (control) sendJson(ctx.res, status, { error: message });
    else sendText(ctx.res, status, message);
  }
}

/** Applies a fault; returns true when the request has been dealt with (no normal answer). */
async function applyFault(fault: Fault, req: IncomingMessage, res: ServerResponse, services: Services, signal: AbortSignal): Promise<boolean> {
  switch (fault.kind) {
    case 'latency':
      await sleep(fault.ms, undefined, { signal }).catch(() => undefined);
      return signal.aborted;
    case 'no-leader':
      sendText(res, 500, 'No cluster leader');
      return true;
    case 'reset':
      req.socket.destroy();
      return true;
    case 'too-many':
      req.socket.end(TOO_MANY_RESPONSE);
      return true;
    case 'index-reset':
      services.cluster.resetIndexes(fault.to);
      return false;
  }
}

export function createSimServer(services: Services): Server {
  const api = apiRouter();
  const control = controlRouter();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const aborter = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) aborter.abort();
    });
    const ctx: ApiContext = { req, res, url, params: {}, services, signal: aborter.signal };

    if (path === '/_sim' || path.startsWith('/_sim/')) {
      void runHandler(control.match(method, path), ctx, true);
      return;
    }

    services.connections.noteApiRequest(req.socket);
    const match = api.match(method, path);
    const entry = services.requests.add({
      method,
      path,
      route: match?.route.pattern ?? null,
      query: firstValues(url.searchParams),
      status: 0,
      at: services.clock.now(),
    });
    res.on('finish', () => {
      entry.status = res.statusCode;
    });

    void (async () => {
      const fault = services.faults.take(path);
      if (fault && (await applyFault(fault, req, res, services, aborter.signal))) {
        if (fault.kind === 'too-many') entry.status = 429;
        return;
      }
      services.cluster.catchUp();
      await runHandler(match, ctx, false);
    })();
  });
  // Go's server keeps idle keep-alive connections open; Node would close them after 5 s, which
  // makes clients that reuse pooled sockets see spurious resets.
  server.keepAliveTimeout = 0;
  return server;
}
