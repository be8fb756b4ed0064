/**
 * The Nomad API simulator: an HTTP server speaking the part of Nomad's API the promoter uses,
 * backed by an in-process model of jobs, deployments and allocations. See README.md.
 */
import type { AddressInfo } from 'node:net';

import { SimClock } from './clock.js';
import { ConnectionCounter } from './control/connections.js';
import { Faults } from './control/faults.js';
import { RequestLog } from './control/request-log.js';
import { AclState } from './http/acl.js';
import { BlockingRegistry } from './http/blocking.js';
import type { Services } from './http/router.js';
import { createSimServer } from './http/server.js';
import { Cluster } from './model/cluster.js';

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
  /** How often time-driven transitions are evaluated, in real ms. Default 100. */
  tickMs?: number;
}

export interface RunningSimulator {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** The model: register jobs, inspect state, drive allocations directly from tests. */
  cluster: Cluster;
  clock: SimClock;
  services: Services;
  /** Ends blocked long-polls and every socket, then stops listening. */
  close(): Promise<void>;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const clock = new SimClock(opts.frozenClock ?? false);
  const cluster = new Cluster(clock);
  const services: Services = {
    cluster,
    clock,
    acl: new AclState(),
    blocking: new BlockingRegistry(),
    faults: new Faults(),
    requests: new RequestLog(),
    connections: new ConnectionCounter(),
  };
  const server = createSimServer(services);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const tick = setInterval(() => cluster.catchUp(), opts.tickMs ?? 100);
  tick.unref();
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    cluster,
    clock,
    services,
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(tick);
        services.blocking.closeAll();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
