/**
 * The simulated applications behind the simulator's running allocations: one real HTTP server
 * on loopback per allocation, so a real Prometheus can scrape it and HTTP checks can probe it.
 *
 * Decisions:
 * - Metric labels are authoritative. Every series carries alloc_id, namespace, job, group and
 *   version itself; the file_sd entries carry only labels the series do not have (alloc_name,
 *   node). `job` necessarily collides with the label Prometheus gives each target (the scrape
 *   job's name): scrape these targets with `honor_labels: true`, or Prometheus keeps its own
 *   `job` and renames the app's to `exported_job`. Queries by alloc_id or version work either way.
 * - Synthetic traffic runs on wall time (not the simulator's clock): Prometheus scrapes in real
 *   time, and a rate over a frozen clock would be meaningless.
 * - One timer drives every app; it runs only while an app does (it is not unref'd: the apps'
 *   servers keep the process alive anyway, and a leaked timer should show).
 * - startNow() is synchronous, for a caller that must know the port in the same turn (the
 *   simulator's scheduler): it hands the app a server that already listens, from a pool of
 *   pre-bound ports (`prebound`), and returns null when the pool is momentarily empty.
 */
import { performance } from 'node:perf_hooks';
import { AppServer, type AppIdentity } from './app-server.js';
import { FileSdWriter, type FileSdGroup } from './file-sd.js';
import { PortPool } from './port-pool.js';
import { DEFAULT_PROFILE, mergeProfile, type AppProfile } from './profile.js';

export type { AppIdentity } from './app-server.js';
export type { AppProfile } from './profile.js';

export interface AppFleetOptions {
  /** Loopback address the apps listen on; default 127.0.0.1. */
  host?: string;
  /** A Prometheus file_sd JSON file, rewritten on every start and stop. */
  fileSdPath?: string;
  /** Synthetic requests per second per app; default 20. */
  requestsPerSecond?: number;
  /** How often synthetic traffic is accounted; default 100 ms. */
  tickMs?: number;
  /** Uniform [0, 1) numbers for real requests to `/`; default Math.random. For tests. */
  random?: () => number;
  /** Ports kept bound ahead of need for startNow(); default 0 (startNow always returns null). */
  prebound?: number;
}

export interface StartedApp {
  host: string;
  port: number;
  /** Settles once the targets file lists the app (rejects if it could not be written). */
  listed: Promise<void>;
}

export class AppFleet {
  private readonly apps = new Map<string, AppServer>();
  /** Apps between start() and listening: a stop() meanwhile waits for them, then stops them. */
  private readonly starting = new Map<string, Promise<unknown>>();
  private readonly host: string;
  private readonly requestsPerSecond: number;
  private readonly tickMs: number;
  private readonly random: (() => number) | undefined;
  private readonly fileSd: FileSdWriter | undefined;
  private readonly pool: PortPool | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(opts: AppFleetOptions = {}) {
    this.host = opts.host ?? '127.0.0.1';
    this.requestsPerSecond = opts.requestsPerSecond ?? 20;
    this.tickMs = opts.tickMs ?? 100;
    this.random = opts.random;
    if (!(this.requestsPerSecond >= 0 && Number.isFinite(this.requestsPerSecond))) {
      throw new RangeError(`requestsPerSecond must be a finite number >= 0, got ${this.requestsPerSecond}`);
    }
    if (!(this.tickMs > 0 && Number.isFinite(this.tickMs))) throw new RangeError(`tickMs must be > 0, got ${this.tickMs}`);
    this.fileSd = opts.fileSdPath ? new FileSdWriter(opts.fileSdPath, () => this.targets()) : undefined;
    this.pool = opts.prebound ? new PortPool({ host: this.host, size: opts.prebound }) : undefined;
  }

  /**
   * Resolves once the pre-bound ports are ready, so that startNow() succeeds; also the way to
   * wait after it returned null. Rejects if a port cannot be bound.
   */
  portsReady(): Promise<void> {
    if (!this.pool) return Promise.reject(new Error('the fleet keeps no pre-bound ports'));
    return this.pool.fill();
  }

  /**
   * Starts the app of an allocation at once on a pre-bound port, or returns null when none is
   * ready (see portsReady). The app answers from now on; the targets file follows (`listed`).
   */
  startNow(app: AppIdentity, profile?: Partial<AppProfile>): StartedApp | null {
    if (this.closed) throw new Error('the app fleet is closed');
    if (this.apps.has(app.allocId) || this.starting.has(app.allocId)) {
      throw new Error(`an app for allocation ${app.allocId} is already running`);
    }
    const merged = mergeProfile({ ...DEFAULT_PROFILE }, profile);
    const listening = this.pool?.take();
    if (!listening) return null;
    const server = new AppServer({ ...app }, merged, this.serverOptions(), listening);
    this.apps.set(app.allocId, server);
    this.ensureTimer();
    const listed = this.fileSd ? this.fileSd.write() : Promise.resolve();
    // The caller decides what a failed write means; it must not surface as an unhandled rejection.
    listed.catch(() => undefined);
    return { host: this.host, port: server.port, listed };
  }

  /** The allocation IDs whose apps run. */
  allocIds(): string[] {
    return [...this.apps.keys()];
  }

  /** Rewrites the targets file now (e.g. an empty one before any app starts); no-op without file_sd. */
  writeTargets(): Promise<void> {
    return this.fileSd ? this.fileSd.write() : Promise.resolve();
  }

  /** The port of an allocation's running app. */
  port(allocId: string): number | undefined {
    return this.apps.get(allocId)?.port;
  }

  private serverOptions() {
    return { host: this.host, requestsPerSecond: this.requestsPerSecond, ...(this.random ? { random: this.random } : {}) };
  }

  get size(): number {
    return this.apps.size;
  }

  /** Starts the app of an allocation on a free port; resolves once it listens and file_sd lists it. */
  async start(app: AppIdentity, profile?: Partial<AppProfile>): Promise<{ host: string; port: number }> {
    if (this.closed) throw new Error('the app fleet is closed');
    if (this.apps.has(app.allocId) || this.starting.has(app.allocId)) {
      throw new Error(`an app for allocation ${app.allocId} is already running`);
    }
    const server = new AppServer({ ...app }, mergeProfile({ ...DEFAULT_PROFILE }, profile), this.serverOptions());
    const listening = server.listen();
    this.starting.set(app.allocId, listening);
    try {
      await listening;
    } finally {
      this.starting.delete(app.allocId);
    }
    if (this.closed) {
      await server.close();
      throw new Error('the app fleet was closed while the app started');
    }
    this.apps.set(app.allocId, server);
    this.ensureTimer();
    try {
      await this.fileSd?.write();
    } catch (err) {
      // An app Prometheus cannot find is no use: undo the start rather than run it unlisted.
      await this.stop(app.allocId).catch(() => undefined);
      throw err;
    }
    if (this.closed) throw new Error('the app fleet was closed while the app started');
    return { host: this.host, port: server.port };
  }

  /** Changes an app's behaviour; synthetic traffic uses it from the next tick, `/` from the next request. */
  setProfile(allocId: string, profile: Partial<AppProfile>): void {
    const server = this.apps.get(allocId);
    if (!server) throw new Error(`no app runs for allocation ${allocId}`);
    // Account the time so far with the old profile, so the change starts exactly now.
    server.tick();
    server.profile = mergeProfile(server.profile, profile);
  }

  profile(allocId: string): AppProfile | undefined {
    const p = this.apps.get(allocId)?.profile;
    return p ? { ...p } : undefined;
  }

  /** Stops an allocation's app and drops it from file_sd; unknown IDs are a no-op. */
  async stop(allocId: string): Promise<void> {
    await this.starting.get(allocId)?.catch(() => undefined);
    const server = this.apps.get(allocId);
    if (!server) return;
    this.apps.delete(allocId);
    if (this.apps.size === 0) this.stopTimer();
    await server.close();
    await this.fileSd?.write();
  }

  /**
   * Stops every app, the timer and the pre-bound ports, then leaves an empty targets file
   * (rejects if it cannot).
   * The fleet cannot start apps after; calling again returns the same outcome.
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    this.closed = true;
    this.stopTimer();
    const servers = [...this.apps.values()];
    this.apps.clear();
    await Promise.all([...servers.map((s) => s.close()), this.pool?.close()]);
    await this.fileSd?.write();
  }

  private targets(): FileSdGroup[] {
    return [...this.apps.values()].map((s) => ({
      targets: [`${hostPort(s.host, s.port)}`],
      labels: { alloc_name: s.identity.allocName, node: s.identity.nodeName },
    }));
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const server of this.apps.values()) server.tick(now);
    }, this.tickMs);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
