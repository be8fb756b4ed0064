/**
 * The one exponential backoff: `baseMs` doubled per earlier attempt, capped at `maxMs`.
 * `attempt` 0 waits `baseMs`. Used by the work queue, the Nomad watch and an errored check.
 */
export function backoffDelay(baseMs: number, attempt: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt), maxMs);
}

/** A delay drawn from [delayMs/2, delayMs]: spreads retries of many clients without ever retrying at once. */
export function jitter(delayMs: number): number {
  return Math.round(delayMs / 2 + Math.random() * (delayMs / 2));
}
