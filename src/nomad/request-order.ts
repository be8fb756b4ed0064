/**
 * The order in which calls waiting for one of a client's connections get it: lock operations
 * first (a late renewal loses leadership), then writes (a promote waiting behind a queue of job
 * version reads and re-lists is a decision made late), then reads; first come, first served
 * within a rank. At most `slots` calls hold a connection at once, so the agent's own queue,
 * which is first come first served, never fills.
 */
import { abortReason } from './transport.js';

export type RequestRank = 'lock' | 'write' | 'read';

const ORDER: Record<RequestRank, number> = { lock: 0, write: 1, read: 2 };

interface Waiter {
  rank: number;
  grant: () => void;
}

export class RequestOrder {
  private held = 0;
  /** Kept sorted by rank, stable within a rank. */
  private readonly waiting: Waiter[] = [];

  constructor(private readonly slots: number) {}

  /** Resolves with the release of a slot once this call's turn comes; rejects if `signal` fires first. */
  acquire(rank: RequestRank, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        rank: ORDER[rank],
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.held++;
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.held--;
            this.next();
          });
        },
      };
      const onAbort = (): void => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(abortReason(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const at = this.waiting.findIndex((w) => w.rank > waiter.rank);
      this.waiting.splice(at < 0 ? this.waiting.length : at, 0, waiter);
      this.next();
    });
  }

  private next(): void {
    while (this.held < this.slots && this.waiting.length > 0) this.waiting.shift()!.grant();
  }
}

/** Lock operations carry a `lock-*` query flag; any other non-GET is a write. */
export function rankOf(method: string, query: URLSearchParams): RequestRank {
  if (method === 'GET') return 'read';
  for (const key of query.keys()) if (key.startsWith('lock-')) return 'lock';
  return 'write';
}
