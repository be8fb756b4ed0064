/** How a simulated application behaves; changed at any time through AppFleet.setProfile. */

export interface AppProfile {
  /** 0..1: share of requests answered 5xx. */
  errorRate: number;
  /** Typical latency; samples spread uniformly over [0.5, 1.5] x latencyMs. */
  latencyMs: number;
  /** GET /healthz answers 200 when true, 503 when false. */
  healthy: boolean;
}

export const DEFAULT_PROFILE: Readonly<AppProfile> = { errorRate: 0, latencyMs: 20, healthy: true };

/** Merges a change into a profile; rejects values that would make the metrics meaningless. */
export function mergeProfile(base: AppProfile, change: Partial<AppProfile> = {}): AppProfile {
  const next = { ...base, ...stripUndefined(change) };
  if (!(next.errorRate >= 0 && next.errorRate <= 1)) throw new RangeError(`errorRate must be within 0..1, got ${next.errorRate}`);
  if (!(next.latencyMs >= 0 && Number.isFinite(next.latencyMs))) throw new RangeError(`latencyMs must be a finite number >= 0, got ${next.latencyMs}`);
  if (typeof next.healthy !== 'boolean') throw new TypeError(`healthy must be a boolean, got ${String(next.healthy)}`);
  return next;
}

function stripUndefined(change: Partial<AppProfile>): Partial<AppProfile> {
  return Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) as Partial<AppProfile>;
}
