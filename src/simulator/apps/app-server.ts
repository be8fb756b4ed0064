/**
 * One simulated application: an HTTP server on loopback with /healthz, /metrics and / (a real
 * request, slow and failing per the profile), plus the synthetic traffic that keeps its metrics
 * moving between scrapes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { AppMetrics } from './app-metrics.js';
import { EXPOSITION_CONTENT_TYPE } from './exposition.js';
import type { AppProfile } from './profile.js';
import { latencySeconds, SyntheticTraffic } from './traffic.js';

export interface AppIdentity {
  allocId: string;
  namespace: string;
  job: string;
  group: string;
  version: number;
  allocName: string;
  nodeName: string;
}

export interface AppServerOptions {
  host: string;
  requestsPerSecond: number;
  /** Uniform [0, 1) numbers for real requests (error draw, latency); default Math.random. */
  random?: () => number;
}

export class AppServer {
  readonly metrics: AppMetrics;
  private readonly traffic: SyntheticTraffic;
  private readonly server: Server;
  private readonly pending = new Set<NodeJS.Timeout>();
  private readonly random: () => number;
  private lastTick = performance.now();
  private closed = false;
  port = 0;

  /**
   * With `listening`, the app takes over a server that already listens (its port is known at
   * once, see PortPool); otherwise listen() binds a fresh one.
   */
  constructor(
    readonly identity: AppIdentity,
    public profile: AppProfile,
    private readonly options: AppServerOptions,
    listening?: Server,
  ) {
    this.metrics = new AppMetrics(metricLabels(identity));
    // Seeding the latency sequence by alloc ID keeps apps from moving in lockstep.
    this.traffic = new SyntheticTraffic(this.metrics, options.requestsPerSecond, seedOf(identity.allocId));
    this.random = options.random ?? Math.random;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    if (listening) {
      if (!listening.listening) throw new Error('the adopted server does not listen');
      listening.removeAllListeners('request');
      listening.on('request', handler);
      this.server = listening;
      this.port = (listening.address() as AddressInfo).port;
    } else {
      this.server = createServer(handler);
    }
  }

  get host(): string {
    return this.options.host;
  }

  async listen(): Promise<number> {
    if (this.server.listening) return this.port;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.lastTick = performance.now();
    return this.port;
  }

  /** Accounts the synthetic requests since the last tick with the current profile. */
  tick(now = performance.now()): void {
    if (this.closed || now <= this.lastTick) return;
    this.traffic.advance(now - this.lastTick, this.profile);
    this.lastTick = now;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Scrapers keep connections alive; without this, close() waits for them to time out.
    this.server.closeAllConnections();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    res.setHeader('x-alloc-id', this.identity.allocId);
    if (path === '/healthz') return this.healthz(req, res);
    if (path === '/metrics') return this.exposition(req, res);
    if (path === '/') return this.request(res);
    reply(res, 404, 'not found\n');
  }

  private healthz(req: IncomingMessage, res: ServerResponse): void {
    if (!readOnly(req, res)) return;
    if (this.profile.healthy) reply(res, 200, 'ok\n');
    else reply(res, 503, 'unhealthy\n');
  }

  private exposition(req: IncomingMessage, res: ServerResponse): void {
    if (!readOnly(req, res)) return;
    // Account the traffic up to this instant, so a scrape never sees a stale tick.
    this.tick();
    reply(res, 200, this.metrics.render(), EXPOSITION_CONTENT_TYPE);
  }

  /** A real request: the profile at arrival decides its fate; it is counted like synthetic ones. */
  private request(res: ServerResponse): void {
    const started = performance.now();
    const failed = this.random() < this.profile.errorRate;
    const delayMs = latencySeconds(this.profile.latencyMs, this.random()) * 1000;
    const answer = () => {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.record(failed ? '500' : '200', seconds);
      if (failed) reply(res, 500, 'simulated failure\n');
      else reply(res, 200, `${this.identity.allocName} version ${this.identity.version}\n`);
    };
    if (delayMs <= 0) return answer();
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      answer();
    }, delayMs);
    this.pending.add(timer);
  }
}

/** The labels on every series; `namespace` joins the four the policies query by. */
export function metricLabels(app: AppIdentity): Record<string, string> {
  return { alloc_id: app.allocId, namespace: app.namespace, job: app.job, group: app.group, version: String(app.version) };
}

function readOnly(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true;
  res.setHeader('allow', 'GET, HEAD');
  reply(res, 405, 'method not allowed\n');
  return false;
}

function reply(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function seedOf(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return (hash >>> 0) / 2 ** 32;
}
