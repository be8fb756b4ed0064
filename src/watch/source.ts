/**
 * What feeds the cluster cache, whichever source runs (blocking queries or the event stream):
 * a full list, then changes; changed deployment IDs go to `onChange`. The reconciler only sees
 * the cache and these IDs.
 */
export interface WatchSource {
  start(): void;
  stop(): Promise<void>;
  /** Both tables listed in full at least once, and the source is not currently failing. */
  readonly ready: boolean;
}
