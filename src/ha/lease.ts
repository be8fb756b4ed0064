/**
 * The leader lease: replicas contend for a lock on one Nomad Variable; the holder renews it
 * every TTL/2 and is the only one allowed to write to Nomad.
 *
 * Safety rests on two rules, both on this process's monotonic clock:
 * - any renew that does not come back `held` (Nomad's 409, an error, a timeout) ends the term
 *   at once: listeners are told `lost` synchronously, before any other write can be sent;
 * - `mayWrite()` is true only while the last successful acquire or renew was *sent* less than
 *   TTL minus a margin ago. Nomad keeps a lock at least 2×TTL after it handled a renew, which is
 *   after we sent it, so a write we allow can never land after another replica took over, even
 *   when this process was frozen (SIGSTOP, a long GC pause) and its timers fired late.
 * Unlike Nomad's Go `LockLeaser`, a 409 on renew is never ignored.
 */
import { backoffDelay, jitter } from '../domain/backoff.js';
import type { LockOutcome, LockSpec } from '../nomad/client.js';
import type { Variable } from '../nomad/api.js';
import { formatDuration } from '../policy/duration.js';

/** What the lease needs from Nomad: the lock calls and a plain read of the lock variable. */
export interface LockApi {
  acquireLock(path: string, namespace: string, lock: LockSpec, items?: Record<string, string>, signal?: AbortSignal): Promise<LockOutcome>;
  renewLock(path: string, namespace: string, id: string, signal?: AbortSignal): Promise<LockOutcome>;
  releaseLock(path: string, namespace: string, id: string, signal?: AbortSignal): Promise<LockOutcome>;
  readVariable(path: string, namespace: string, signal?: AbortSignal): Promise<Variable | undefined>;
}

export interface LeaseOptions {
  api: LockApi;
  path: string;
  namespace: string;
  ttlMs: number;
  lockDelayMs: number;
  identity: string;
  /** Monotonic milliseconds (default performance.now): never the wall clock, which can jump. */
  clock?: () => number;
  /** How often a standby tries to acquire (default min(TTL/2, 2s)). */
  contendEveryMs?: number;
  /** How often the leader renews (default, and at most, TTL/2). */
  renewEveryMs?: number;
}

/** The lease's view of who leads: this replica, another (named when known), or nobody known. */
export interface Leadership {
  leader: boolean;
  identity: string;
  /** The current leader's identity as read from the lock variable; this replica's own when it leads. */
  leaderIdentity?: string;
}

export type LeaseEvent = { kind: 'acquired' } | { kind: 'lost'; reason: string };
export type LeaseListener = (event: LeaseEvent) => void;

/** The `lost` reason of a clean stop. */
export const STOPPING = 'stopping';
/** Item of the lock variable that names the holder. */
export const IDENTITY_ITEM = 'identity';

export class LeaderLease {
  private readonly listeners = new Set<LeaseListener>();
  private readonly clock: () => number;
  private readonly spec: LockSpec;
  /** Writes are refused once the last good renew was sent this long ago. */
  private readonly validMs: number;
  private readonly contendEveryMs: number;
  private readonly renewEveryMs: number;
  private lockId: string | undefined;
  /** Monotonic time the last successful acquire or renew was sent. */
  private lastGoodSentAt = -Infinity;
  private leaderIdentity: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private running = false;
  private inFlight: AbortController | undefined;
  /** The tick being run, so stop() can wait for it. */
  private ticking: Promise<void> = Promise.resolve();

  constructor(private readonly options: LeaseOptions) {
    this.clock = options.clock ?? (() => performance.now());
    this.spec = { ttl: formatDuration(options.ttlMs), lockDelay: formatDuration(options.lockDelayMs) };
    // A margin of a tenth of the TTL (at least a second) covers the time between the fence's check and the request leaving.
    this.validMs = options.ttlMs - Math.max(1000, options.ttlMs / 10);
    this.contendEveryMs = options.contendEveryMs ?? Math.min(options.ttlMs / 2, 2000);
    this.renewEveryMs = Math.min(options.renewEveryMs ?? Infinity, options.ttlMs / 2);
  }

  /** Listeners are called synchronously: a `lost` listener runs before any further write can start. */
  onChange(listener: LeaseListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  get leadership(): Leadership {
    const leader = this.mayWrite();
    const leaderIdentity = leader ? this.options.identity : this.leaderIdentity;
    return { leader, identity: this.options.identity, ...(leaderIdentity ? { leaderIdentity } : {}) };
  }

  /**
   * True only while this replica holds the lock and its last good renew was sent recently
   * enough on the monotonic clock. Checked immediately before every write to Nomad. Finding the
   * lease expired ends the term (the process was frozen, or a renew is stuck).
   */
  mayWrite(): boolean {
    if (this.lockId === undefined) return false;
    if (this.clock() - this.lastGoodSentAt < this.validMs) return true;
    this.stepDown(`lease expired on this process's clock: no successful renew sent in the last ${formatDuration(this.validMs)}`);
    return false;
  }

  /** Stops contending or renewing; a held lock is released so another replica can lead without waiting for expiry. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.inFlight?.abort();
    await this.ticking;
    const id = this.lockId;
    if (id === undefined) return;
    this.stepDown(STOPPING);
    await this.options.api.releaseLock(this.options.path, this.options.namespace, id, AbortSignal.timeout(Math.floor(this.validMs))).catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.ticking = this.tick();
    }, delayMs);
  }

  private async tick(): Promise<void> {
    this.inFlight = new AbortController();
    try {
      if (this.lockId === undefined) await this.contend(this.inFlight.signal);
      else await this.renew(this.lockId, this.inFlight.signal);
    } finally {
      this.inFlight = undefined;
    }
  }

  private async contend(signal: AbortSignal): Promise<void> {
    const { api, path, namespace, identity } = this.options;
    const sentAt = this.clock();
    let outcome: LockOutcome;
    try {
      outcome = await api.acquireLock(path, namespace, this.spec, { [IDENTITY_ITEM]: identity }, signal);
    } catch {
      if (!this.running) return;
      // Nomad unreachable or refusing: try again with backoff, jittered so replicas spread out, and
      // never slower than a TTL so a takeover is not delayed much past Nomad's own expiry.
      this.schedule(jitter(backoffDelay(this.contendEveryMs, this.failures++, Math.max(this.contendEveryMs, this.options.ttlMs))));
      return;
    }
    this.failures = 0;
    if (!this.running) {
      if (outcome.kind === 'held') await api.releaseLock(path, namespace, outcome.id).catch(() => undefined);
      return;
    }
    if (outcome.kind === 'held') {
      this.lockId = outcome.id;
      this.lastGoodSentAt = sentAt;
      this.leaderIdentity = identity;
      this.emit({ kind: 'acquired' });
      this.scheduleRenew();
      return;
    }
    await this.learnLeader(signal);
    this.schedule(this.contendEveryMs);
  }

  private async renew(id: string, signal: AbortSignal): Promise<void> {
    // Timers fire late after a freeze: a lease already past its validity is not renewed but ended.
    if (!this.mayWrite()) return this.schedule(0);
    const sentAt = this.clock();
    const remaining = Math.max(1, Math.floor(this.validMs - (sentAt - this.lastGoodSentAt)));
    let outcome: LockOutcome | undefined;
    let problem: string;
    try {
      outcome = await this.options.api.renewLock(this.options.path, this.options.namespace, id, AbortSignal.any([signal, AbortSignal.timeout(remaining)]));
      problem = outcome.kind === 'held' ? '' : `renew refused by Nomad: ${'reason' in outcome ? outcome.reason : outcome.kind}`;
    } catch (err) {
      problem = `renew failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (!this.running || this.lockId !== id) return;
    if (outcome?.kind === 'held') {
      this.lastGoodSentAt = sentAt;
      this.scheduleRenew();
      return;
    }
    this.stepDown(problem);
    this.schedule(this.contendEveryMs);
  }

  /** Next renew TTL/2 (or sooner) after the last good one was sent. */
  private scheduleRenew(): void {
    this.schedule(Math.max(0, this.lastGoodSentAt + this.renewEveryMs - this.clock()));
  }

  /** A standby reads the lock variable's Items to name the leader (absent or unreadable: unknown). */
  private async learnLeader(signal: AbortSignal): Promise<void> {
    const variable = await this.options.api.readVariable(this.options.path, this.options.namespace, signal).catch(() => undefined);
    const named = variable?.Items[IDENTITY_ITEM];
    this.leaderIdentity = named && named !== this.options.identity ? named : undefined;
  }

  private stepDown(reason: string): void {
    if (this.lockId === undefined) return;
    this.lockId = undefined;
    this.lastGoodSentAt = -Infinity;
    this.leaderIdentity = undefined;
    this.emit({ kind: 'lost', reason });
  }

  private emit(event: LeaseEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
