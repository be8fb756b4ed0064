/**
 * The runnables that only the leader runs: the queue's workers (reconciles and their effects)
 * and the notifications. The watch source, the status server and the loaded snapshots stay up on
 * a standby, so that a takeover starts from warm caches.
 *
 * Each term of leadership gets its own queue and abort signal. A term starts by re-reading the
 * stored snapshots (the last leader's decisions win over anything this replica remembers), then
 * queues every known deployment. Losing the lead ends the term at once: the queue is shut and
 * every request in flight is aborted before the listener returns.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { backoffDelay } from '../domain/backoff.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import { WorkQueue } from '../reconcile/queue.js';
import type { Recorder } from '../server/metrics.js';
import { SnapshotConflictError } from '../store/store.js';

/** Reconciles running at once (each for a different deployment). */
const WORKERS = 4;
const MIN_REQUEUE_MS = 50;
const RELOAD_RETRY_BASE_MS = 500;
const RELOAD_RETRY_MAX_MS = 10_000;

export interface LeaderWorkDeps {
  reconciler: Reconciler;
  recorder: Recorder;
  logger: Logger;
  /** Every deployment known to the watch cache. */
  known: () => string[];
  /**
   * Re-reads the stored snapshots before a term's first reconcile, and every `refreshEveryMs`
   * while standing by, so that a standby's views follow the leader (absent: nothing to re-read).
   */
  reload?: (signal: AbortSignal) => Promise<number>;
  refreshEveryMs?: number;
  /** Starts this term's notifications; returns their stop. */
  notify: () => () => void;
}

interface Term {
  queue: WorkQueue;
  abort: AbortController;
  /** Resolves when the term's workers have returned. */
  done: Promise<void>;
  stopNotifying?: () => void;
}

export class LeaderWork {
  private term: Term | undefined;
  /** Terms run one after another: a new one starts only once the last one's workers are gone. */
  private previous: Promise<void> = Promise.resolve();
  /** The standby's periodic re-read, while no term runs. */
  private standingBy: AbortController | undefined;

  constructor(private readonly deps: LeaderWorkDeps) {}

  get leading(): boolean {
    return this.term !== undefined && !this.term.abort.signal.aborted;
  }

  /** The current term's signal (aborted when it ends), for a person's action. */
  get signal(): AbortSignal | undefined {
    return this.term?.abort.signal;
  }

  /** Queues a deployment in the current term; on a standby, the next term's full pass covers it. */
  add(id: string): void {
    this.term?.queue.add(id);
  }

  start(): void {
    if (this.leading) return;
    this.standingBy?.abort();
    this.standingBy = undefined;
    const abort = new AbortController();
    const queue = new WorkQueue();
    const term: Term = { queue, abort, done: Promise.resolve() };
    this.term = term;
    term.done = this.previous.then(() => this.run(term));
    this.previous = term.done;
  }

  /** Ends the term synchronously (no new work, requests aborted); resolves when its workers are gone. */
  stop(): Promise<void> {
    const term = this.term;
    if (!term) return this.previous;
    this.term = undefined;
    term.queue.shutDown();
    term.abort.abort();
    term.stopNotifying?.();
    return term.done;
  }

  /** A standby keeps its snapshots fresh until start() or close(). */
  standBy(): void {
    const { reload, refreshEveryMs } = this.deps;
    if (this.leading || this.standingBy || !reload || !refreshEveryMs) return;
    const abort = new AbortController();
    this.standingBy = abort;
    const refreshing = this.previous.then(async () => {
      while (!abort.signal.aborted) {
        await sleep(refreshEveryMs, undefined, { signal: abort.signal }).catch(() => undefined);
        if (abort.signal.aborted) return;
        await reload(abort.signal).catch((err: unknown) => abort.signal.aborted || this.deps.logger.warn({ err }, 'standby: stored snapshots cannot be re-read; trying again later'));
      }
    });
    // A term starts only once the last re-read has let go of the store.
    this.previous = refreshing;
  }

  /** Ends the term, if any, and the standby's re-reads. */
  close(): Promise<void> {
    this.standingBy?.abort();
    this.standingBy = undefined;
    return this.stop();
  }

  private async run(term: Term): Promise<void> {
    const { signal } = term.abort;
    if (this.deps.reload && !(await this.reload(this.deps.reload, signal))) return;
    if (signal.aborted) return;
    term.stopNotifying = this.deps.notify();
    for (const id of this.deps.known()) term.queue.add(id);
    await Promise.allSettled(Array.from({ length: WORKERS }, () => this.work(term.queue, signal)));
  }

  /** Retries until the snapshots are read or the term ends; false when it ended first. */
  private async reload(reload: (signal: AbortSignal) => Promise<number>, signal: AbortSignal): Promise<boolean> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const loaded = await reload(signal);
        this.deps.logger.info({ loaded }, 'leading: snapshots re-read from Nomad Variables; reconciling every deployment');
        return true;
      } catch (err) {
        if (signal.aborted) return false;
        const retryInMs = backoffDelay(RELOAD_RETRY_BASE_MS, attempt, RELOAD_RETRY_MAX_MS);
        this.deps.logger.warn({ err, retryInMs }, 'leading, but the stored snapshots cannot be read; no decision until they are');
        await sleep(retryInMs, undefined, { signal }).catch(() => undefined);
      }
    }
    return false;
  }

  /** One worker: take a key, reconcile it, requeue per the result. */
  private async work(queue: WorkQueue, signal: AbortSignal): Promise<void> {
    const { reconciler, recorder, logger } = this.deps;
    for (;;) {
      const id = await queue.get();
      if (id === undefined) return;
      try {
        const result = await reconciler.reconcile(id, signal);
        if (result.retry) queue.addRateLimited(id);
        else queue.forget(id);
        // A floor, so that a deadline met to the millisecond can never spin the worker.
        if (result.requeueAfterMs !== undefined) queue.addAfter(id, Math.max(result.requeueAfterMs, MIN_REQUEUE_MS));
      } catch (err) {
        if (signal.aborted) return;
        const retryInMs = queue.addRateLimited(id);
        if (err instanceof SnapshotConflictError) {
          logger.info({ deploymentId: id, retryInMs }, err.message);
          continue;
        }
        recorder.reconcileError();
        logger.warn({ deploymentId: id, err, retryInMs }, 'reconcile failed; retrying with backoff');
      } finally {
        queue.done(id);
      }
    }
  }
}
