/**
 * Two long-polls, whatever the number of deployments: one on /v1/deployments, one on
 * /v1/allocations. Each answer is a full list; what changed is found by ModifyIndex and the
 * affected deployment IDs are handed to `onChange`. Index rules (reset on a backwards index,
 * index >= 1) come from nomad/index-tracker.ts. Failures of any kind (no answer, an error, an
 * answer that is not a list) back off exponentially with jitter, and lists are spaced by a pause
 * that grows with their cost (list-pacing.ts), so neither a server that never blocks nor a burst
 * of writes makes the loops re-read the cluster once per answer.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { backoffDelay, jitter } from '../domain/backoff.js';
import type { AllocationView, Deployment } from '../domain/nomad.js';
import type { NomadApi, QueryOptions, QueryResult } from '../nomad/api.js';
import { advanceIndex } from '../nomad/index-tracker.js';
import { allocationView, type ClusterCache } from './cache.js';
import { LIST_PAGE_SIZE, startResync } from './source.js';
import { DEFAULT_LIST_PACING, listInterval, type ListPacing } from './list-pacing.js';

export interface WatcherOptions {
  /** Client for the deployments long-poll (its own connection). */
  deploymentsApi: NomadApi;
  /** Client for the allocations long-poll (its own connection). */
  allocationsApi: NomadApi;
  cache: ClusterCache;
  namespace: string;
  waitMs: number;
  /** Every resync period, every known deployment is handed to onChange again. */
  resyncMs: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Least time between two requests of one table (default 200 ms), failures or not. */
  minIntervalMs?: number;
  /** Most time between two lists of one table however costly they are (default 5 s). */
  maxIntervalMs?: number;
  /** Lists of one table are spaced by at least this many times the last one's cost (default 8). */
  listCostFactor?: number;
  /**
   * Readiness drops once nothing was heard from Nomad for this long (default 30 s): no watch
   * answer and no answer to `probe`, which is sent after half of it without news.
   */
  silenceMs?: number;
  /** A cheap read on a connection of its own: tells a long wait from a server that hangs. Sent every quarter of `silenceMs` while nothing was heard for half of it. */
  probe?: (signal: AbortSignal) => Promise<unknown>;
  onChange: (deploymentIds: string[]) => void;
  onError: (table: WatchedTable, err: unknown, retryInMs: number) => void;
  /** Called after each full list of a table was applied to the cache. */
  onList?: (table: WatchedTable) => void;
  /** Called when a table's index went backwards and it was re-listed in full. */
  onReset?: (table: WatchedTable) => void;
  logger: Logger;
}

export type WatchedTable = 'deployments' | 'allocations';

export class Watcher {
  private readonly abort = new AbortController();
  private readonly synced = new Set<WatchedTable>();
  private readonly held = new Set<string>();
  private loops: Promise<void>[] = [];
  private stopResync?: () => void;
  private heartbeatTimer?: NodeJS.Timeout;
  /** When Nomad last answered a watch request or a probe (epoch ms). */
  private heardAt = Date.now();
  private probing = false;
  /** Whether the last attempt of each table failed: readiness drops while Nomad is unreachable. */
  private readonly failing = new Set<WatchedTable>();

  constructor(private readonly options: WatcherOptions) {}

  start(): void {
    const { deploymentsApi, allocationsApi, cache } = this.options;
    this.loops = [
      this.loop('deployments', (q) => deploymentsApi.listAllDeployments({ ...q, perPage: LIST_PAGE_SIZE }), (list: Deployment[]) => {
        const diff = cache.replaceDeployments(list);
        return [...diff.changed, ...diff.removed].map((d) => d.ID);
      }),
      this.loop('allocations', (q) => allocationsApi.listAllAllocations({ ...q, resources: true, taskStates: false, perPage: LIST_PAGE_SIZE }, allocationView), (list: AllocationView[]) => {
        const diff = cache.replaceAllocations(list);
        const ids = new Set<string>();
        for (const a of [...diff.changed, ...diff.removed]) for (const d of cache.deploymentsOfAlloc(a)) ids.add(d.ID);
        return [...ids];
      }),
    ];
    this.stopResync = startResync(cache, this.options.onChange, this.options.resyncMs, this.options.logger);
    const { probe } = this.options;
    if (probe) {
      const tick = this.silenceMs / 4;
      this.heartbeatTimer = setInterval(() => {
        if (this.probing || Date.now() - this.heardAt < this.silenceMs / 2) return;
        this.probing = true;
        // A probe that hangs is given up within a tick, so that the next tick can send another.
        probe(AbortSignal.any([this.abort.signal, AbortSignal.timeout(tick * 0.9)]))
          .then(() => this.heard(), () => undefined)
          .finally(() => (this.probing = false));
      }, tick);
      this.heartbeatTimer.unref();
    }
  }

  private get silenceMs(): number {
    return this.options.silenceMs ?? 30_000;
  }

  private heard(): void {
    this.heardAt = Date.now();
  }

  /**
   * Hands changed deployment IDs on, but only once both tables were listed: a deployment
   * reconciled before its allocations are known would look like one with no canaries.
   */
  private changed(ids: string[]): void {
    for (const id of ids) this.held.add(id);
    if (this.synced.size < 2 || this.held.size === 0) return;
    const all = [...this.held];
    this.held.clear();
    this.options.onChange(all);
  }

  /** Why the watch is not ready (for /readyz), or undefined when it is. */
  get notReadyReason(): string | undefined {
    if (this.synced.size < 2) return 'waiting for a full list of deployments and allocations from Nomad';
    if (this.failing.size > 0) return `watching ${[...this.failing].join(' and ')} is failing`;
    const silent = Date.now() - this.heardAt;
    if (silent > this.silenceMs) return `nothing heard from Nomad for ${Math.round(silent / 1000)} s`;
    return undefined;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.stopResync?.();
    clearInterval(this.heartbeatTimer);
    await Promise.allSettled(this.loops);
  }

  private async loop<T>(
    table: WatchedTable,
    list: (q: QueryOptions) => Promise<QueryResult<T[]>>,
    apply: (items: T[]) => string[],
  ): Promise<void> {
    const { signal } = this.abort;
    const minBackoff = this.options.minBackoffMs ?? 250;
    const maxBackoff = this.options.maxBackoffMs ?? 30_000;
    const pacing: ListPacing = {
      floorMs: this.options.minIntervalMs ?? DEFAULT_LIST_PACING.floorMs,
      capMs: this.options.maxIntervalMs ?? DEFAULT_LIST_PACING.capMs,
      costFactor: this.options.listCostFactor ?? DEFAULT_LIST_PACING.costFactor,
    };
    let index = 0;
    let failures = 0;
    let sentAt = -Infinity;
    // What the last list cost this process: writes arriving meanwhile are read together by the next one.
    let lastCostMs = 0;
    while (!signal.aborted) {
      await sleep(sentAt + listInterval(lastCostMs, pacing) - Date.now(), signal);
      if (signal.aborted) return;
      sentAt = Date.now();
      try {
        const query: QueryOptions = { namespace: this.options.namespace, signal };
        const result = await list(index === 0 ? query : { ...query, index, waitMs: this.options.waitMs });
        this.heard();
        const stepped = advanceIndex(index, result.index);
        this.options.logger.trace({ table, sent: index, index: result.index, items: result.body.length }, 'watch answer');
        if (stepped.reset) {
          this.options.logger.warn({ table, lastIndex: index, index: result.index }, 'Nomad index went backwards: re-listing');
          this.options.onReset?.(table);
          index = 0;
          continue;
        }
        index = stepped.nextIndex;
        const applyStarted = performance.now();
        const ids = apply(result.body);
        lastCostMs = (result.readMs ?? 0) + performance.now() - applyStarted;
        this.options.onList?.(table);
        // Only an answer that was used ends a run of failures: anything else keeps backing off.
        failures = 0;
        this.failing.delete(table);
        this.synced.add(table);
        this.changed(ids);
      } catch (err) {
        if (signal.aborted) return;
        this.failing.add(table);
        const delay = jitter(backoffDelay(minBackoff, failures, maxBackoff));
        failures++;
        this.options.onError(table, err, delay);
        await sleep(delay, signal);
      }
    }
  }
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
