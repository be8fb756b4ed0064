/**
 * The simulated Nomad client's health reporting for allocations in an active deployment:
 * `checks` = tasks running and checks passing for min_healthy_time, `task_states` = tasks running
 * for min_healthy_time, `manual` = never (only the allocation-health API). An allocation that is
 * not healthy by healthy_deadline, or whose tasks fail, is reported unhealthy.
 */
import { meetsHealthCondition, setHealth } from './allocs.js';
import type { ModelContext } from './context.js';
import { isActive } from './deployments.js';
import { lookupGroup } from './jobspec.js';
import { jobKey } from './store.js';
import type { Alloc, Deployment } from './types.js';

interface Tracked {
  alloc: Alloc;
  deployment: Deployment;
  healthyAt: number | null;
  unhealthyAt: number | null;
}

/** Allocations (of these jobs, or all) whose health the client is still deciding, with when each outcome would happen. */
function tracked(ctx: ModelContext, jobs?: Set<string>): Tracked[] {
  const out: Tracked[] = [];
  for (const a of jobs ? ctx.store.allocsOfJobs(jobs) : ctx.store.allocs.values()) {
    if (!a.DeploymentID || a.health?.healthy !== null || a.health === null) continue;
    if (a.DesiredStatus !== 'run' || a.ClientStatus !== 'running') continue;
    const d = ctx.store.deployments.get(a.DeploymentID);
    const update = lookupGroup(a.job, a.TaskGroup)?.Update;
    if (!d || !isActive(d) || !update || update.HealthCheck === 'manual' || a.healthTrackStartMs === null) continue;
    const healthyAt = a.healthySinceMs === null ? null : a.healthySinceMs + update.MinHealthyTime / 1e6;
    const unhealthyAt = update.HealthyDeadline > 0 ? a.healthTrackStartMs + update.HealthyDeadline / 1e6 : null;
    out.push({ alloc: a, deployment: d, healthyAt, unhealthyAt });
  }
  return out;
}

/** Reports health for every allocation of these jobs whose outcome is due at `now`; returns whether any was. */
export function clientHealthStep(ctx: ModelContext, now: number, jobs: Set<string>): boolean {
  let changed = false;
  for (const t of tracked(ctx, jobs)) {
    const healthyDue = t.healthyAt !== null && t.healthyAt <= now && (t.unhealthyAt === null || t.healthyAt <= t.unhealthyAt);
    const unhealthyDue = !healthyDue && t.unhealthyAt !== null && t.unhealthyAt <= now;
    if (!healthyDue && !unhealthyDue) continue;
    ctx.store.write(now, (txn) => setHealth(txn, t.alloc, t.deployment, healthyDue));
    changed = true;
  }
  return changed;
}

/** Per job of `jobs`, the next time after `after` at which one of its allocations' health outcome is due (jobs with none left out). */
export function nextHealthEvents(ctx: ModelContext, after: number, jobs: Set<string>): Map<string, number> {
  const next = new Map<string, number>();
  for (const t of tracked(ctx, jobs)) {
    for (const at of [t.healthyAt, t.unhealthyAt]) {
      if (at === null || at <= after) continue;
      earliest(next, jobKey(t.alloc.Namespace, t.alloc.JobID), at);
    }
  }
  return next;
}

/** Keeps the earlier of `at` and the instant already held for `key`. */
export function earliest(due: Map<string, number>, key: string, at: number): void {
  const held = due.get(key);
  if (held === undefined || at < held) due.set(key, at);
}

/** Re-evaluates the health condition after something the client would notice changed. */
export function refreshHealthCondition(a: Alloc, now: number): void {
  const meets = meetsHealthCondition(a);
  if (meets && a.healthySinceMs === null) a.healthySinceMs = now;
  if (!meets) a.healthySinceMs = null;
}
