/**
 * Two long-polls, whatever the number of deployments: one on /v1/deployments, one on
 * /v1/allocations. Each answer is a full list; what changed is found by ModifyIndex and the
 * affected deployment IDs are handed to `onChange`. Index rules (reset on a backwards index,
 * index >= 1) come from nomad/index-tracker.ts. Errors back off exponentially with jitter.
 */
import type { Logger } from 'pino';
import type { AllocationStub, Deployment } from '../domain/nomad.js';
import type { NomadApi, QueryOptions, QueryResult } from '../nomad/api.js';
import { advanceIndex } from '../nomad/index-tracker.js';
import type { ClusterCache } from './cache.js';

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
  onChange: (deploymentIds: string[]) => void;
  onError: (table: WatchedTable, err: unknown, retryInMs: number) => void;
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
  private resyncTimer?: NodeJS.Timeout;
  /** Whether the last attempt of each table failed: readiness drops while Nomad is unreachable. */
  private readonly failing = new Set<WatchedTable>();

  constructor(private readonly options: WatcherOptions) {}

  start(): void {
    const { deploymentsApi, allocationsApi, cache } = this.options;
    this.loops = [
      this.loop('deployments', (q) => deploymentsApi.listAllDeployments(q), (list: Deployment[]) => {
        const diff = cache.replaceDeployments(list);
        return [...diff.changed, ...diff.removed].map((d) => d.ID);
      }),
      this.loop('allocations', (q) => allocationsApi.listAllocations({ ...q, resources: true, taskStates: false }), (list: AllocationStub[]) => {
        const diff = cache.replaceAllocations(list);
        const ids = new Set<string>();
        for (const a of [...diff.changed, ...diff.removed]) for (const d of cache.deploymentsOfAlloc(a)) ids.add(d.ID);
        return [...ids];
      }),
    ];
    this.resyncTimer = setInterval(() => this.options.onChange(cache.allDeployments().map((d) => d.ID)), this.options.resyncMs);
    this.resyncTimer.unref();
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

  /** Both tables listed in full at least once, and neither is currently failing. */
  get ready(): boolean {
    return this.synced.size === 2 && this.failing.size === 0;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.resyncTimer);
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
    let index = 0;
    /** The index was raised to 1 because Nomad answered 0 (a table never written). */
    let floored = false;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const query: QueryOptions = { namespace: this.options.namespace, signal };
        const result = await list(index === 0 ? query : { ...query, index, waitMs: this.options.waitMs });
        failures = 0;
        this.failing.delete(table);
        const stepped = advanceIndex(index, result.index);
        this.options.logger.trace({ table, sent: index, index: result.index, items: result.body.length }, 'watch answer');
        if (stepped.reset) {
          // An empty table answers index 0 again after we floored it to 1: not a real reset.
          if (!(floored && result.index === 0)) {
            this.options.logger.warn({ table, lastIndex: index, index: result.index }, 'Nomad index went backwards: re-listing');
            this.options.onReset?.(table);
          }
          index = 0;
          continue;
        }
        floored = index === 0 && !(result.index > 0);
        index = stepped.nextIndex;
        const ids = apply(result.body);
        this.synced.add(table);
        this.changed(ids);
      } catch (err) {
        if (signal.aborted) return;
        this.failing.add(table);
        const delay = backoffMs(failures, minBackoff, maxBackoff);
        failures++;
        this.options.onError(table, err, delay);
        await sleep(delay, signal);
      }
    }
  }
}

/** Exponential backoff after `failures` failures in a row, with jitter in [delay/2, delay]: spreads retries without ever retrying at once. */
export function backoffMs(failures: number, minMs: number, maxMs: number): number {
  const delay = Math.min(minMs * 2 ** failures, maxMs);
  return Math.round(delay / 2 + Math.random() * (delay / 2));
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
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
