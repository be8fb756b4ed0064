/**
 * The Nomad API simulator: an HTTP server speaking the part of Nomad's API the promoter uses,
 * backed by an in-process model of jobs, deployments and allocations. See README.md.
 */
import type { AddressInfo } from 'node:net';

import { SimulatedApps } from './apps/sim-apps.js';
import { SimClock } from './clock.js';
import { ConnectionCounter, DEFAULT_MAX_CONNS_PER_CLIENT } from './control/connections.js';
import { Faults } from './control/faults.js';
import { LockFaults } from './control/lock-faults.js';
import { RequestLog } from './control/request-log.js';
import { AclState } from './http/acl.js';
import { BlockingRegistry } from './http/blocking.js';
import type { Services } from './http/router.js';
import { createSimServer } from './http/server.js';
import { Cluster } from './model/cluster.js';
import { nomadBehaviour } from './model/nomad-version.js';
import { EventBuffer } from './model/events.js';
import { EVENT_HEARTBEAT_MS } from './http/api-event-stream.js';

export { parseGoDuration } from './duration.js';
export { SimClock } from './clock.js';
export { Cluster } from './model/cluster.js';

export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Start with the simulated clock frozen (advance it through the control API or `clock`). */
  frozenClock?: boolean;
  /** Run the simulated clock this many ms from the host's (negative: behind). Default 0. */
  clockOffsetMs?: number;
  /** How often time-driven transitions are evaluated, in real ms. Default 100. */
  tickMs?: number;
  /**
   * Run a real HTTP app (/healthz, /metrics, /) per running allocation, on the port the
   * allocation reports. Default true; false leaves ports as mere numbers.
   */
  apps?: boolean;
  /** With apps: a Prometheus file_sd targets file listing the running allocations' apps. */
  fileSdPath?: string;
  /** With apps: synthetic requests per second per app (default 20). */
  appRequestsPerSecond?: number;
  /**
   * Nomad's `http_max_conns_per_client`: concurrent connections allowed per client IP (control
   * API connections included); past it a new connection gets the raw 429 and is closed. Default
   * 100; 0 = no limit.
   */
  httpMaxConnsPerClient?: number;
  /**
   * The Nomad release to behave as where releases differ (see model/nomad-version.ts), e.g.
   * `2.0.0`. Default 2.0.1.
   */
  nomadVersion?: string;
  /** Nomad's `event_buffer_size`: frames the event stream keeps for replay. Default 100. */
  eventBufferSize?: number;
  /** Real ms between the event stream's `{}` heartbeats. Default 30 s, as Nomad. */
  eventHeartbeatMs?: number;
  /** Failures with no caller to tell (a targets file write, binding a port); default: a JSON line on stderr. */
  onAppError?: (err: Error) => void;
}

export interface RunningSimulator {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** The model: register jobs, inspect state, drive allocations directly from tests. */
  cluster: Cluster;
  clock: SimClock;
  services: Services;
  /** The allocations' apps; null with `apps: false`. */
  apps: SimulatedApps | null;
  /**
   * Ends blocked long-polls and every socket, stops listening, stops every app and leaves an
   * empty targets file (rejects, after closing everything, if that file cannot be written).
   */
  close(): Promise<void>;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  if (opts.fileSdPath && opts.apps === false) throw new Error('fileSdPath needs apps');
  const behaviour = nomadBehaviour(opts.nomadVersion);
  const clock = new SimClock(opts.frozenClock ?? false, opts.clockOffsetMs ?? 0);
  const apps =
    opts.apps === false
      ? null
      : new SimulatedApps({
          ...(opts.fileSdPath ? { fileSdPath: opts.fileSdPath } : {}),
          ...(opts.appRequestsPerSecond !== undefined ? { requestsPerSecond: opts.appRequestsPerSecond } : {}),
          onError: opts.onAppError ?? reportAppError,
        });
  try {
    await apps?.ready();
  } catch (err) {
    await apps?.close().catch(() => undefined);
    throw err;
  }
  const cluster = new Cluster(clock, apps, behaviour);
  apps?.onPortsReady(() => cluster.replan());
  const services: Services = {
    cluster,
    clock,
    acl: new AclState(),
    blocking: new BlockingRegistry(),
    faults: new Faults(),
    lockFaults: new LockFaults(),
    requests: new RequestLog(),
    connections: new ConnectionCounter(opts.httpMaxConnsPerClient ?? DEFAULT_MAX_CONNS_PER_CLIENT),
    events: new EventBuffer(cluster.store, opts.eventBufferSize),
    eventHeartbeatMs: opts.eventHeartbeatMs ?? EVENT_HEARTBEAT_MS,
  };
  const server = createSimServer(services);
  const host = opts.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await apps?.close().catch(() => undefined);
    throw err;
  }
  const tick = setInterval(() => cluster.catchUp(), opts.tickMs ?? 100);
  tick.unref();
  // A client reports health at min_healthy_time, not at the next tick: a due transition gets a
  // timer of its own, so what watches the cluster sees it when it happens.
  let wake: NodeJS.Timeout | undefined;
  cluster.onSettled = (nextDue) => {
    clearTimeout(wake);
    if (nextDue === null || clock.frozen) return;
    wake = setTimeout(() => cluster.catchUp(), Math.max(0, nextDue - clock.now()));
    wake.unref();
  };
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    cluster,
    clock,
    services,
    apps,
    close() {
      closing ??= (async () => {
        clearInterval(tick);
        cluster.onSettled = undefined;
        clearTimeout(wake);
        services.blocking.closeAll();
        services.events.cutAll();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        const [, appsClosed] = await Promise.allSettled([stopped, apps?.close()]);
        if (appsClosed.status === 'rejected') throw appsClosed.reason;
      })();
      return closing;
    },
  };
}

function reportAppError(err: Error): void {
  process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'simulated apps', error: err.message })}\n`);
}
