/**
 * How long the blocking source waits between two full lists of one table. Every answer to a
 * blocking query is the whole table, so a burst of writes would otherwise re-read the cluster
 * once per write. The pause grows with what the last list cost this process (download, parse,
 * diff), so that lists take at most 1/`costFactor` of the time whatever the cluster's size; the
 * floor keeps a server that never blocks from making the loop spin, the cap bounds how late a
 * change can be seen.
 */
export interface ListPacing {
  /** Least time between the starts of two lists, in ms. */
  floorMs: number;
  /** Most time between them, in ms: a change waits no longer than this to be read. */
  capMs: number;
  /** The pause is at least this many times the last list's cost. */
  costFactor: number;
}

export const DEFAULT_LIST_PACING: ListPacing = { floorMs: 200, capMs: 5000, costFactor: 8 };

/** The least time from the start of one list to the start of the next, given the last list's cost. */
export function listInterval(costMs: number, pacing: ListPacing): number {
  const { floorMs, capMs, costFactor } = pacing;
  return Math.min(Math.max(floorMs, costFactor * costMs), Math.max(floorMs, capMs));
}
