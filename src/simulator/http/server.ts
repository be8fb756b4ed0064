/**
 * The simulator's HTTP server (node:http): Nomad API routes, the /_sim/ control API, request
 * logging, connection counting and fault injection.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGzip } from 'node:zlib';

import { HTTP_0_0_RESPONSE, TOO_MANY_RESPONSE } from '../control/faults.js';
import type { Fault } from '../control/faults.js';
import { controlRouter } from '../control/control-api.js';
import { ApiError } from '../model/errors.js';
import { addAllocationRoutes } from './api-allocations.js';
import { addDeploymentActions } from './api-deployment-actions.js';
import { addEventStreamRoute, startStream } from './api-event-stream.js';
import { addDeploymentRead, addDeploymentReads } from './api-deployments.js';
import { addJobRoutes } from './api-jobs.js';
import { addVariableRoutes } from './api-variables.js';
import { firstValues } from './query.js';
import { isControlPath, sendEmpty, sendJson, sendText } from './respond.js';
import { Router, badPathEscape } from './router.js';
import type { ApiContext, Match, Services } from './router.js';

/**
 * What Go's net/http writes, before closing the connection, for a request line it cannot parse
 * (a path with a malformed percent-escape, say): no handler of Nomad's ever sees the request.
 */
export const GO_BAD_REQUEST_RESPONSE =
  'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request';

/** How long a refused connection may stay half-open waiting for the client to close it. */
const REFUSED_LINGER_MS = 1000;

function apiRouter(): Router {
  const router = new Router();
  addDeploymentReads(router);
  addDeploymentActions(router);
  addDeploymentRead(router);
  addAllocationRoutes(router);
  addJobRoutes(router);
  addVariableRoutes(router);
  addEventStreamRoute(router);
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
      // As after a snapshot restore: Nomad's event broker starts afresh, ending every stream.
      services.events.restart();
      return false;
    case 'stream-deny':
      // Nomad 1.11.2+ refusing a stream: the 200 went out before the permission check.
      startStream(res);
      res.end();
      return true;
    case 'http-0.0':
      // Nomad 1.11.2 alone: a status line strict HTTP parsers reject.
      req.socket.end(HTTP_0_0_RESPONSE);
      return true;
    case 'index-zero':
      rewriteIndexHeader(res, '0');
      return false;
    case 'no-index':
      rewriteIndexHeader(res, undefined);
      return false;
    case 'malformed':
      sendText(res, 200, '{"ID": "truncated', [['Content-Type', 'application/json']]);
      return true;
    case 'null-body':
      sendJson(res, 200, null);
      return true;
    case 'forbidden':
      sendText(res, 403, 'Permission denied');
      return true;
    case 'huge':
      res.writeHead(200, ['Content-Type', 'application/json', 'Content-Length', String(fault.bytes)]);
      await pipeline(spaces(fault.bytes), res).catch(() => undefined);
      return true;
    case 'gzip-bomb':
      res.writeHead(200, ['Content-Type', 'application/json', 'Content-Encoding', 'gzip']);
      await pipeline(spaces(fault.bytes), createGzip(), res).catch(() => undefined);
      return true;
    case 'hang':
      return true;
  }
}

/** `bytes` bytes of JSON whitespace, produced as they are read so that nothing large is held. */
function spaces(bytes: number): Readable {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  return Readable.from(
    (function* () {
      for (let left = bytes; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
    })(),
  );
}

/** Makes the normal answer carry `X-Nomad-Index: value`, or no such header when undefined. */
function rewriteIndexHeader(res: ServerResponse, value: string | undefined): void {
  const writeHead = res.writeHead.bind(res) as (status: number, raw: string[]) => ServerResponse;
  (res as { writeHead: unknown }).writeHead = (status: number, raw: string[]) => {
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.toLowerCase() !== 'x-nomad-index') out.push(raw[i]!, raw[i + 1]!);
      else if (value !== undefined) out.push(raw[i]!, value);
    }
    return writeHead(status, out);
  };
}

export function createSimServer(services: Services): Server {
  const api = apiRouter();
  const control = controlRouter();

  const server = createServer((req, res) => {
    // A connection refused by the per-client limit has had its 429 (or nothing) already.
    if (services.connections.isRefused(req.socket)) return;
    const url = new URL(req.url ?? '/', 'http://simulator');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const badEscape = badPathEscape(path);
    if (badEscape !== null) {
      // Go's server: a raw 400 and the connection closes. The control API answers in its own way.
      if (isControlPath(path)) sendJson(res, 400, { error: `invalid URL escape ${JSON.stringify(badEscape)}` });
      else req.socket.end(GO_BAD_REQUEST_RESPONSE);
      return;
    }
    const aborter = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) aborter.abort();
    });
    const ctx: ApiContext = { req, res, url, params: {}, services, signal: aborter.signal };

    if (isControlPath(path)) {
      void runHandler(control.match(method, path), ctx, true);
      return;
    }

    services.connections.noteApiRequest(req.socket);
    const match = api.match(method, path);
    services.connections.noteApiAnswer(res, req.socket, match?.route.pattern ?? null);
    const entry = services.requests.add({
      method,
      path,
      route: match?.route.pattern ?? null,
      query: firstValues(url.searchParams),
      status: 0,
      at: services.clock.now(),
      answeredAt: null,
      accessor: services.acl.accessorOf(req),
    });
    res.on('finish', () => {
      entry.status = res.statusCode;
      entry.answeredAt = services.clock.now();
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
  // Nomad's connlimit judges a connection when it is accepted, before reading anything from it.
  server.on('connection', (socket: Socket) => {
    const admission = services.connections.admit(socket);
    if (admission === 'accept') return;
    if (admission === 'drop') {
      socket.destroy();
      return;
    }
    socket.end(TOO_MANY_RESPONSE);
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  });
  // Go's server keeps idle keep-alive connections open; Node would close them after 5 s, which
  // makes clients that reuse pooled sockets see spurious resets.
  server.keepAliveTimeout = 0;
  return server;
}
