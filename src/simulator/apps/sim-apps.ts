/**
 * The simulator's applications: an AppFleet run on the model's behalf (model/app-host.ts). The
 * model starts an app while it places an allocation, synchronously, so the fleet keeps ports
 * bound ahead of need; when none is ready the placement waits, and the cluster is asked to
 * retry once the pool has refilled.
 */
import type { AppBehaviour, AppHost, AppIdentity } from '../model/app-host.js';
import { AppFleet } from './fleet.js';
import type { AppProfile } from './profile.js';

/**
 * Pre-bound ports. A burst larger than this (one job with a large Count) waits one refill, and
 * the pool doubles for the next; a steady stream of registrations never finds it empty.
 */
const PREBOUND_PORTS = 16;

export interface SimulatedAppsOptions {
  /** A Prometheus file_sd targets file listing the running apps. */
  fileSdPath?: string;
  /** Synthetic requests per second per app; default 20. */
  requestsPerSecond?: number;
  /** Told about failures that have no caller to reject: a targets write, a port that cannot be bound. */
  onError: (err: Error) => void;
}

export class SimulatedApps implements AppHost {
  readonly fleet: AppFleet;
  private retry: (() => void) | undefined;
  private waiting = false;
  private closed = false;

  constructor(private readonly opts: SimulatedAppsOptions) {
    this.fleet = new AppFleet({
      prebound: PREBOUND_PORTS,
      ...(opts.fileSdPath ? { fileSdPath: opts.fileSdPath } : {}),
      ...(opts.requestsPerSecond !== undefined ? { requestsPerSecond: opts.requestsPerSecond } : {}),
    });
  }

  /** Binds the first ports (and writes an empty targets file), so that the first placements need not wait. */
  async ready(): Promise<void> {
    await this.fleet.portsReady();
    await this.fleet.writeTargets();
  }

  /** What to run when ports are ready again after a placement had to wait. */
  onPortsReady(retry: () => void): void {
    this.retry = retry;
  }

  start(app: AppIdentity, behaviour: AppBehaviour, healthy: boolean): number | null {
    if (this.closed) return null;
    const started = this.fleet.startNow(app, { ...behaviour, healthy });
    if (!started) return null;
    started.listed.catch((err: Error) => this.report(err));
    return started.port;
  }

  stop(allocId: string): void {
    this.fleet.stop(allocId).catch((err: Error) => this.report(err));
  }

  update(allocId: string, change: AppBehaviour & { healthy?: boolean }): void {
    if (this.fleet.profile(allocId)) this.fleet.setProfile(allocId, change);
  }

  running(): Iterable<string> {
    return this.fleet.allocIds();
  }

  awaitPorts(): void {
    if (this.waiting || this.closed) return;
    this.waiting = true;
    this.fleet.portsReady().then(
      () => {
        this.waiting = false;
        if (this.closed) return;
        try {
          this.retry?.();
        } catch (err) {
          this.report(err as Error);
        }
      },
      (err: Error) => {
        // The next placement attempt (at the latest on the cluster's next tick) tries again.
        this.waiting = false;
        if (!this.closed) this.report(err);
      },
    );
  }

  describe(allocId: string): (AppProfile & { port: number }) | undefined {
    const profile = this.fleet.profile(allocId);
    const port = this.fleet.port(allocId);
    return profile && port !== undefined ? { port, ...profile } : undefined;
  }

  /** Stops every app and port, and leaves an empty targets file (rejects if it cannot). */
  close(): Promise<void> {
    this.closed = true;
    return this.fleet.close();
  }

  private report(err: Error): void {
    if (!this.closed) this.opts.onError(err);
  }
}
