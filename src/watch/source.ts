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
