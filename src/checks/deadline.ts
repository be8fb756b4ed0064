/**
 * One signal for "the caller cancelled or the check's timeout passed", and a way to tell the
 * two apart afterwards, so messages can say which.
 */

export interface Deadline {
  signal: AbortSignal;
  /** Why the signal fired, if it did. */
  reason(): 'timeout' | 'cancelled' | undefined;
}

export function deadline(timeoutMs: number, outer?: AbortSignal): Deadline {
  const timer = AbortSignal.timeout(Math.max(1, timeoutMs));
  const signal = outer ? AbortSignal.any([outer, timer]) : timer;
  return {
    signal,
    reason() {
      if (outer?.aborted) return 'cancelled';
      if (timer.aborted) return 'timeout';
      return undefined;
    },
  };
}

/**
 * Settles with `work`, or rejects as soon as `signal` fires: an injected function that ignores
 * its signal must not make a check hang past its timeout.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Formats a duration in ms the way policies write it. */
export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
