/**
 * Sending notifications without ever holding up a decision: `add` only queues. One queue per
 * daemon, bounded (the oldest waiting notification is dropped when full); per target, one
 * request at a time, so a target sees its notifications in order; each request with its own
 * timeout, retried with p-retry's randomized exponential backoff while the receiver is down or
 * answers 5xx/429. A 4xx answer is final: sending the same body again cannot help.
 */
import pRetry, { AbortError } from 'p-retry';
import type { NotifyTarget } from '../domain/policy.js';
import { describeError } from '../checks/secrets.js';
import { formatDuration } from '../policy/duration.js';

export interface Delivery {
  /** Target identity: deliveries with the same lane go out one after the other, in order. */
  lane: string;
  target: NotifyTarget['kind'];
  url: URL;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Hidden from every error text about this delivery. */
  secrets: string[];
  /** Safe fields for the log line (no URL, no header). */
  about: Record<string, unknown>;
}

export type DeliveryResult = { result: 'ok' } | { result: 'error'; message: string } | { result: 'dropped'; why: string };

export interface RetryOptions {
  /** Attempts after the first (default 5). */
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

export interface DeliveryQueueOptions {
  /** Notifications waiting at most (default 1000), over all targets. */
  capacity?: number;
  retry?: Partial<RetryOptions>;
  onResult: (d: Delivery, result: DeliveryResult) => void;
}

const DEFAULT_RETRY: RetryOptions = { retries: 5, minTimeoutMs: 1_000, maxTimeoutMs: 30_000 };
const DEFAULT_CAPACITY = 1000;

interface Waiting {
  seq: number;
  delivery: Delivery;
}

export class DeliveryQueue {
  private readonly lanes = new Map<string, Waiting[]>();
  private waiting = 0;
  private seq = 0;
  private readonly capacity: number;
  private readonly retry: RetryOptions;
  private closing = false;
  private readonly stop = new AbortController();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: DeliveryQueueOptions) {
    this.capacity = options.capacity ?? DEFAULT_CAPACITY;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  add(delivery: Delivery): void {
    if (this.closing) {
      this.options.onResult(delivery, { result: 'dropped', why: 'the daemon is stopping' });
      return;
    }
    if (this.waiting >= this.capacity) this.dropOldest();
    const lane = this.lanes.get(delivery.lane);
    const item = { seq: this.seq++, delivery };
    this.waiting++;
    if (lane) {
      lane.push(item);
      return;
    }
    this.lanes.set(delivery.lane, [item]);
    const run = this.drain(delivery.lane).finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /**
   * Takes no more notifications, gives those waiting and in flight `graceMs` to go out, then
   * abandons the rest, each reported as dropped.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([...this.running]), grace]);
    clearTimeout(timer);
    const left = [...this.lanes.values()].flat();
    this.lanes.clear();
    this.waiting = 0;
    this.stop.abort();
    for (const item of left) this.options.onResult(item.delivery, { result: 'dropped', why: 'not sent before the daemon stopped' });
    await Promise.allSettled([...this.running]);
  }

  private dropOldest(): void {
    let oldest: Waiting[] | undefined;
    for (const lane of this.lanes.values()) {
      // A lane's first item is the one in flight; the ones after it wait.
      const first = lane[1];
      if (first && (!oldest || first.seq < (oldest[1] as Waiting).seq)) oldest = lane;
    }
    const dropped = oldest?.splice(1, 1)[0];
    if (!dropped) return;
    this.waiting--;
    this.options.onResult(dropped.delivery, { result: 'dropped', why: 'the queue is full' });
  }

  private async drain(name: string): Promise<void> {
    const lane = this.lanes.get(name);
    while (lane && lane.length > 0 && !this.stop.signal.aborted) {
      const item = lane[0] as Waiting;
      this.waiting--;
      const result = await this.send(item.delivery);
      if (this.stop.signal.aborted) return;
      this.options.onResult(item.delivery, result);
      lane.shift();
    }
    this.lanes.delete(name);
  }

  private async send(d: Delivery): Promise<DeliveryResult> {
    try {
      await pRetry(() => this.attempt(d), {
        retries: this.retry.retries,
        factor: 2,
        minTimeout: this.retry.minTimeoutMs,
        maxTimeout: this.retry.maxTimeoutMs,
        randomize: true,
        signal: this.stop.signal,
      });
      return { result: 'ok' };
    } catch (err) {
      return { result: 'error', message: describeError('notification failed', err, d.secrets) };
    }
  }

  private async attempt(d: Delivery): Promise<void> {
    const timeout = AbortSignal.timeout(d.timeoutMs);
    let res: Response;
    try {
      res = await fetch(d.url, { method: 'POST', headers: d.headers, body: d.body, signal: AbortSignal.any([this.stop.signal, timeout]), redirect: 'error' });
    } catch (err) {
      // No answer is worth another try. Thrown as an Error of our own: fetch's may come from another realm, which p-retry would not retry.
      if (timeout.aborted) throw new Error(`no answer within ${formatDuration(d.timeoutMs)}`);
      throw new Error('no answer', { cause: err });
    }
    // The answer's body is of no use; reading it frees the connection.
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return;
    const err = new Error(`the receiver answered ${res.status}`);
    if (res.status >= 500 || res.status === 429) throw err;
    throw new AbortError(err);
  }
}
