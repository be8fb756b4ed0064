/**
 * The model's side of the simulated applications: what it asks of whatever runs them
 * (apps/sim-apps.ts), and how a job spec says how its application behaves.
 *
 * A task's Config may carry `sim_error_rate` (0..1, share of 5xx) and `sim_latency_ms` (>= 0),
 * so that a job version can be registered "bad" from the start, like `sim_healthy`. With several
 * tasks in a group the worst value wins, as one failing task fails `sim_healthy`.
 */
import type { AppIdentity } from '../apps/app-server.js';
import type { AppProfile } from '../apps/profile.js';
import { ApiError } from './errors.js';
import type { JobGroup } from './types.js';

export type { AppIdentity } from '../apps/app-server.js';
export type { AppProfile } from '../apps/profile.js';

/** What can be set per job, version or allocation; `healthy` follows the allocation's appHealthy. */
export type AppBehaviour = Partial<Pick<AppProfile, 'errorRate' | 'latencyMs'>>;

export interface AppHost {
  /**
   * Starts the app of an allocation about to be placed, on a port that listens already, and
   * returns that port; null when no port is ready (the placement waits, see awaitPorts).
   */
  start(app: AppIdentity, behaviour: AppBehaviour, healthy: boolean): number | null;
  stop(allocId: string): void;
  /** Changes a running app; unknown IDs are ignored. */
  update(allocId: string, change: AppBehaviour & { healthy?: boolean }): void;
  /** Allocation IDs whose apps run. */
  running(): Iterable<string>;
  /** Placements are waiting for a port: have the cluster retry once ports are ready. */
  awaitPorts(): void;
  describe(allocId: string): (AppProfile & { port: number }) | undefined;
}

const BEHAVIOUR_KEYS = { sim_error_rate: 'errorRate', sim_latency_ms: 'latencyMs' } as const;

/** Checks a behaviour value; returns the reason it is wrong, or null. */
export function behaviourProblem(key: keyof Required<AppBehaviour>, value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number';
  if (key === 'errorRate' && !(value >= 0 && value <= 1)) return 'must be within 0..1';
  if (key === 'latencyMs' && !(value >= 0)) return 'must be >= 0';
  return null;
}

/** The behaviour a task's Config asks for; throws Nomad's validation error on a bad value. */
export function taskBehaviour(taskName: string, config: Record<string, unknown> | null): AppBehaviour {
  const out: AppBehaviour = {};
  for (const [configKey, key] of Object.entries(BEHAVIOUR_KEYS)) {
    const raw = config?.[configKey];
    if (raw === undefined || raw === null) continue;
    // HCL users may quote numbers; JSON jobs usually do not.
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    const problem = behaviourProblem(key, value);
    if (problem) {
      throw new ApiError(500, `1 error occurred:\n\t* Task ${JSON.stringify(taskName)}: ${configKey} ${problem}, got ${JSON.stringify(raw)}\n\n`);
    }
    out[key] = value as number;
  }
  return out;
}

/** The group's behaviour from its tasks' Config: the worst of each value. */
export function groupBehaviour(group: JobGroup | undefined): AppBehaviour {
  const out: AppBehaviour = {};
  for (const t of group?.Tasks ?? []) {
    const b = taskBehaviour(t.Name, t.Config);
    if (b.errorRate !== undefined) out.errorRate = Math.max(out.errorRate ?? 0, b.errorRate);
    if (b.latencyMs !== undefined) out.latencyMs = Math.max(out.latencyMs ?? 0, b.latencyMs);
  }
  return out;
}
