/**
 * The one exponential backoff: `baseMs` doubled per earlier attempt, capped at `maxMs`.
 * `attempt` 0 waits `baseMs`. Used by the work queue, the Nomad watch and an errored check.
 */
export function backoffDelay(baseMs: number, attempt: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt), maxMs);
}
