/**
 * Blocking-query index rules, as pure functions for the watcher.
 *
 * A watcher loop keeps one `lastIndex` per blocking query, starting at 0:
 *
 *   1. `lastIndex === 0`: make a full, non-blocking list (no `index` parameter).
 *   2. Otherwise block: `?index=<blockingIndexParam(lastIndex)>&wait=...`.
 *   3. Pass the response's X-Nomad-Index to `advanceIndex(lastIndex, responseIndex)`. An index
 *      below 1 (0, absent, garbage) counts as 1, the lowest index Nomad blocks on:
 *      - `reset: true`: the index went backwards (snapshot restore, failover to a lagging
 *        server, a different cluster behind a load balancer). What Nomad now says cannot be
 *        compared with what was seen: drop the body, set `lastIndex = 0` and go to 1.
 *      - otherwise `lastIndex = nextIndex`. `changed` tells whether the index moved. A blocking
 *        query that timed out returns 200 with the same index; and a moved index does not mean
 *        a given object changed: compare each object's ModifyIndex.
 *
 * The answer to a full list (lastIndex 0) is always accepted. Its index can be 0 on a fresh
 * cluster (the table was never written): `nextIndex` is then 1, so the next query blocks instead
 * of spinning on `index=0`, which Nomad answers at once; 0 answers after that are "no change".
 * A server that answers every query at once whatever the index is still not a busy loop: the
 * watcher spaces its requests by a floor of its own.
 */

export interface IndexStep {
  /** The index to remember and block on next; 0 after a reset (meaning: re-list, do not block). */
  nextIndex: number;
  /** The response is not a continuation: discard it and re-list with a full non-blocking query. */
  reset: boolean;
  /** Something in the table may have changed since `lastIndex` (always true for a full list). */
  changed: boolean;
}

export function advanceIndex(lastIndex: number, responseIndex: number): IndexStep {
  const index = blockingIndexParam(responseIndex);
  if (!(lastIndex > 0)) {
    // A full list: whatever it says is the new baseline.
    return { nextIndex: index, reset: false, changed: true };
  }
  if (index < lastIndex) return { nextIndex: 0, reset: true, changed: false };
  return { nextIndex: index, reset: false, changed: index > lastIndex };
}

/** The `index` query parameter of a blocking query: never below 1, so Nomad really blocks. */
export function blockingIndexParam(index: number): number {
  return Number.isFinite(index) && index >= 1 ? Math.floor(index) : 1;
}

/** Longest Nomad accepts: a larger `wait` is clamped to this on the server. */
export const MAX_BLOCKING_WAIT_MS = 300_000;

/**
 * How long the client lets a blocking query run: Nomad holds it up to `wait` plus a random
 * jitter below wait/16, so anything shorter cuts off healthy answers; `marginMs` covers the
 * network and the server's own scheduling.
 */
export function blockingTimeoutMs(waitMs: number, marginMs: number): number {
  const wait = Math.min(waitMs, MAX_BLOCKING_WAIT_MS);
  return wait + Math.ceil(wait / 16) + marginMs;
}
