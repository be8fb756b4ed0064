/**
 * Blocking queries as Nomad runs them: with `index` > 0 the query re-runs on every write until
 * its result index exceeds `index` or the wait (default and maximum 300 s, plus jitter in
 * [0, wait/16)) runs out; then it answers 200 with whatever the last run returned. An index ahead
 * of the server therefore blocks the full wait and returns the server's lower index.
 * Waits use real time, not the simulated clock.
 */
import type { StateStore } from '../model/store.js';

export const MAX_WAIT_MS = 300_000;
export const JITTER_FRACTION = 16;

export interface QueryRun<T> {
  index: number;
  value: T;
}

/** Tracks blocked queries so that closing the simulator ends them at once. */
export class BlockingRegistry {
  private readonly waiting = new Set<() => void>();
  private closed = false;

  get size(): number {
    return this.waiting.size;
  }

  /** Waits for the next write, the timeout, or the end (client gone, simulator closing). */
  wait(store: StateStore, ms: number, signal: AbortSignal): Promise<'changed' | 'timeout' | 'ended'> {
    if (this.closed || signal.aborted) return Promise.resolve('ended');
    return new Promise((resolve) => {
      const finish = (why: 'changed' | 'timeout' | 'ended'): void => {
        clearTimeout(timer);
        unwatch();
        signal.removeEventListener('abort', onAbort);
        this.waiting.delete(onClose);
        resolve(why);
      };
      const onAbort = (): void => finish('ended');
      const onClose = (): void => finish('ended');
      const timer = setTimeout(() => finish('timeout'), Math.max(0, ms));
      const unwatch = store.watch(() => finish('changed'));
      signal.addEventListener('abort', onAbort);
      this.waiting.add(onClose);
    });
  }

  closeAll(): void {
    this.closed = true;
    for (const end of [...this.waiting]) end();
  }
}

export function effectiveWaitMs(requested: number | undefined): number {
  const base = requested === undefined || requested <= 0 ? MAX_WAIT_MS : Math.min(requested, MAX_WAIT_MS);
  // Whole milliseconds (timers have no finer grain), which also keeps the sum below
  // base + base/16: a fractional jitter near the bound can round up to it.
  return base + Math.floor(Math.random() * (base / JITTER_FRACTION));
}

/**
 * Runs `run` once, or as a blocking query when `minIndex` > 0. Returns null when the wait was
 * cut short by the client going away or the simulator closing.
 */
export async function blockingQuery<T>(
  store: StateStore,
  registry: BlockingRegistry,
  opts: { minIndex: number; waitMs: number | undefined; signal: AbortSignal },
  run: () => QueryRun<T>,
): Promise<QueryRun<T> | null> {
  if (opts.minIndex <= 0) return run();
  const deadline = Date.now() + effectiveWaitMs(opts.waitMs);
  for (;;) {
    const result = run();
    if (result.index > opts.minIndex) return result;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return result;
    const why = await registry.wait(store, remaining, opts.signal);
    if (why === 'ended') return null;
    if (why === 'timeout') return run();
  }
}
