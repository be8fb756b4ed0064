/**
 * HTTP servers already listening on loopback ports the OS chose, ready to be handed to an app
 * at once. The simulator schedules synchronously, and an allocation must carry its real port in
 * the same write that makes it visible: binding takes a turn of the event loop, so ports are
 * bound ahead of need and refilled in the background.
 *
 * Until an app adopts one, a pooled server answers 404: a scraper still polling a stopped app's
 * port that the OS happened to hand out again gets a quick answer, not a hang.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface PortPoolOptions {
  host: string;
  /** How many bound servers to keep ready; doubles (up to `max`) whenever a taker finds none. */
  size: number;
  max?: number;
}

export class PortPool {
  private readonly ready: Server[] = [];
  private readonly host: string;
  private readonly max: number;
  private target: number;
  private filling: Promise<void> | undefined;
  private closed = false;

  constructor(opts: PortPoolOptions) {
    if (!(Number.isInteger(opts.size) && opts.size > 0)) throw new RangeError(`size must be a positive integer, got ${opts.size}`);
    this.host = opts.host;
    this.target = opts.size;
    this.max = Math.max(opts.max ?? 1024, opts.size);
  }

  get available(): number {
    return this.ready.length;
  }

  /** A listening server, or undefined when none is ready (a refill is then under way). */
  take(): Server | undefined {
    if (this.closed) return undefined;
    const server = this.ready.shift();
    if (!server) this.target = Math.min(this.target * 2, this.max);
    // Refill early, so that a steady trickle of placements never finds the pool empty.
    if (this.ready.length < this.target / 2) this.fill().catch(() => undefined);
    return server;
  }

  /** Binds servers until `size` are ready; concurrent calls share one refill. Rejects if a bind fails. */
  fill(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the port pool is closed'));
    this.filling ??= this.fillOnce().finally(() => {
      this.filling = undefined;
    });
    return this.filling;
  }

  /** Closes the ready servers, and those a refill under way is still binding. */
  async close(): Promise<void> {
    this.closed = true;
    const servers = this.ready.splice(0);
    await Promise.all([...servers.map((s) => closeServer(s)), this.filling?.catch(() => undefined)]);
  }

  private async fillOnce(): Promise<void> {
    while (!this.closed && this.ready.length < this.target) {
      const missing = this.target - this.ready.length;
      const bound = await Promise.allSettled(Array.from({ length: missing }, () => listenOn(this.host)));
      for (const r of bound) {
        if (r.status !== 'fulfilled') continue;
        if (this.closed) await closeServer(r.value);
        else this.ready.push(r.value);
      }
      const failed = bound.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  }
}

function noApp(_req: IncomingMessage, res: ServerResponse): void {
  res.statusCode = 404;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end('no allocation runs on this port\n');
}

function listenOn(host: string): Promise<Server> {
  const server = createServer(noApp);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
