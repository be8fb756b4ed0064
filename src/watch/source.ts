import type { Logger } from 'pino';

import type { ClusterCache } from './cache.js';

/**
 * What feeds the cluster cache, whichever source runs (blocking queries or the event stream):
 * a full list, then changes; changed deployment IDs go to `onChange`. The reconciler only sees
 * the cache and these IDs.
 */
export interface WatchSource {
  start(): void;
  stop(): Promise<void>;
  /** Why the source is not ready (for /readyz): not yet listed in full, failing, or silent too long; undefined when ready. */
  readonly notReadyReason: string | undefined;
}

/**
 * Full lists are read in pages of this many objects, each page cut to what the cache keeps
 * before the next is read: a cluster-wide answer is never held whole (at 30,000 allocations
 * that was 36 MB of text and some 150 MB of parsed payloads at once).
 */
export const LIST_PAGE_SIZE = 1000;

/**
 * Every `resyncMs`, hands every known deployment to `onChange` again (level-triggered: a missed
 * change is caught within a period). Returns the timer's stop.
 */
export function startResync(cache: ClusterCache, onChange: (deploymentIds: string[]) => void, resyncMs: number, logger: Logger): () => void {
  const timer = setInterval(() => {
    const ids = cache.allDeployments().map((d) => d.ID);
    logger.debug({ deployments: ids.length }, 'resync: every known deployment queued again');
    onChange(ids);
  }, resyncMs);
  timer.unref();
  return () => clearInterval(timer);
}
