/**
 * The deployment watcher: what Nomad's servers do for a running deployment. It fails a
 * deployment on an unhealthy allocation or at its progress deadline (auto-reverting when asked),
 * auto-promotes canaries, and marks a finished deployment successful and its job version stable.
 */
import { touchAlloc } from './allocs.js';
import { earliest } from './client.js';
import type { ModelContext } from './context.js';
import {
  DESC,
  isActive,
  noRollbackTargetDesc,
  requiresPromotion,
  rollbackDesc,
  rollbackNoopDesc,
  setStatus,
  touchDeployment,
} from './deployments.js';
import { ApiError, multiError } from './errors.js';
import { insertJobVersion, setJobStability } from './jobs.js';
import { lookupGroup, specChanged } from './jobspec.js';
import { stopCanaries } from './scheduler.js';
import type { Txn } from './store.js';
import { jobKey } from './store.js';
import type { Alloc, Deployment } from './types.js';

export function isTerminalAlloc(a: Alloc): boolean {
  return a.DesiredStatus !== 'run' || ['complete', 'failed', 'lost'].includes(a.ClientStatus);
}

export interface FailOptions {
  /** The allocation-health path of Nomad adds no suffix when there is no stable version. */
  omitNoTargetSuffix?: boolean;
}

/**
 * Fails the deployment. With `rollback`, the latest stable version of the job is registered as a
 * new version (which starts a new deployment) unless its spec equals the current job's.
 * Returns the version rolled back to, if any.
 */
export function failDeployment(
  ctx: ModelContext,
  txn: Txn,
  d: Deployment,
  description: string,
  rollback: boolean,
  opts: FailOptions = {},
): number | null {
  let desc = description;
  let reverted: number | null = null;
  if (rollback) {
    const current = ctx.store.jobs.get(jobKey(d.Namespace, d.JobID));
    const stable = ctx.store.jobVersions(d.Namespace, d.JobID).find((v) => v.Stable);
    if (stable && current) {
      if (specChanged(current, stable)) {
        desc = rollbackDesc(desc, stable.Version);
        insertJobVersion(ctx.store, txn, structuredClone(stable));
        reverted = stable.Version;
      } else {
        desc = rollbackNoopDesc(desc, stable.Version);
      }
    } else if (!opts.omitNoTargetSuffix) {
      desc = noRollbackTargetDesc(desc);
    }
  }
  setStatus(txn, d, 'failed', desc);
  stopCanaries(txn, ctx, d);
  return reverted;
}

/** Promotes canaries of all groups, or of `groups`; throws Nomad's multi-error when too few are healthy. */
export function promoteDeployment(ctx: ModelContext, txn: Txn, d: Deployment, all: boolean, groups: string[]): void {
  const wanted = (group: string): boolean => all || groups.includes(group);
  const canaries = new Set([...d.groups.values()].flatMap((g) => g.PlacedCanaries));
  const healthy = new Map<string, number>();
  const promotable: Alloc[] = [];
  for (const a of ctx.store.allocsOfDeployment(d.ID)) {
    if (!canaries.has(a.ID) || !wanted(a.TaskGroup)) continue;
    if (isTerminalAlloc(a) || a.health?.healthy !== true) continue;
    healthy.set(a.TaskGroup, (healthy.get(a.TaskGroup) ?? 0) + 1);
    promotable.push(a);
  }
  const errors: string[] = [];
  for (const [name, state] of [...d.groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (!wanted(name) || state.DesiredCanaries === 0) continue;
    const have = healthy.get(name) ?? 0;
    if (have < state.DesiredCanaries) {
      errors.push(`Task group ${JSON.stringify(name)} has ${have}/${state.DesiredCanaries} healthy allocations`);
    }
  }
  if (errors.length > 0) throw new ApiError(500, multiError(errors));
  for (const [name, state] of d.groups) {
    if (!wanted(name)) continue;
    if (state.progressDeadlineMs > 0 && state.requireProgressByMs !== null) state.requireProgressByMs = txn.now + state.progressDeadlineMs;
    state.Promoted = true;
  }
  if (!requiresPromotion(d) && d.Status === 'running') d.StatusDescription = DESC.running;
  touchDeployment(txn, d);
  for (const a of promotable) {
    if (a.health) a.health = { ...a.health, canary: false, modifyIndex: txn.index };
    touchAlloc(txn, a);
  }
}

function healthyLive(allocs: Alloc[], group: string): number {
  return allocs.filter((a) => a.TaskGroup === group && !isTerminalAlloc(a) && a.health?.healthy === true).length;
}

/** Earliest RequireProgressBy among groups that are not done, or null. */
export function progressCutoff(d: Deployment, allocs: Alloc[]): number | null {
  let next: number | null = null;
  for (const [name, s] of d.groups) {
    const done = !(s.DesiredCanaries !== 0 && !s.Promoted) && healthyLive(allocs, name) >= s.DesiredTotal;
    if (done || s.requireProgressByMs === null) continue;
    if (next === null || s.requireProgressByMs < next) next = s.requireProgressByMs;
  }
  return next;
}

/** Whether the progress deadline can fail `d` now: while running, and before Nomad 2.0.1 while paused too. */
function deadlineRuns(ctx: ModelContext, d: Deployment): boolean {
  return d.Status === 'running' || (d.Status === 'paused' && !ctx.behaviour.pauseHoldsProgressDeadline);
}

/** Nomad's shouldFail at the deadline; canary groups with all canaries healthy wait for promotion. */
function shouldFail(d: Deployment): { fail: boolean; rollback: boolean } {
  let fail = false;
  for (const s of d.groups.values()) {
    if (s.DesiredCanaries > 0 && !s.Promoted) {
      if (s.HealthyAllocs >= s.DesiredCanaries) continue;
    } else if (s.HealthyAllocs >= s.DesiredTotal) {
      continue;
    }
    fail = true;
    if (s.AutoRevert) return { fail, rollback: true };
  }
  return { fail, rollback: false };
}

function canAutoPromote(d: Deployment, allocs: Map<string, Alloc>): boolean {
  const states = [...d.groups.values()];
  if (!states.some((s) => s.PlacedCanaries.length > 0) || !requiresPromotion(d)) return false;
  for (const s of states) {
    if (s.DesiredCanaries < 1) continue;
    if (!s.AutoPromote || s.PlacedCanaries.length < s.DesiredCanaries) return false;
    const healthy = s.PlacedCanaries.filter((id) => allocs.get(id)?.health?.healthy === true).length;
    if (healthy !== s.DesiredCanaries) return false;
  }
  return true;
}

function isComplete(ctx: ModelContext, d: Deployment, allocs: Alloc[]): boolean {
  const job = ctx.store.jobs.get(jobKey(d.Namespace, d.JobID));
  if (!job || job.Version !== d.JobVersion) return false;
  const jobAllocs = ctx.store.allocsOfJob(d.Namespace, d.JobID).filter((a) => !isTerminalAlloc(a));
  for (const [name, s] of d.groups) {
    if (s.DesiredCanaries > 0 && !s.Promoted) return false;
    if (s.HealthyAllocs < Math.max(s.DesiredTotal, s.DesiredCanaries)) return false;
    const group = lookupGroup(job, name);
    const live = jobAllocs.filter((a) => a.TaskGroup === name);
    if (!group || live.some((a) => a.job.Version !== job.Version)) return false;
    if (live.length < group.Count || healthyLive(allocs, name) < group.Count) return false;
  }
  return true;
}

/** One pass over the active deployments of these jobs; returns whether anything changed. */
export function watchDeployments(ctx: ModelContext, now: number, jobs: Set<string>): boolean {
  let changed = false;
  for (const d of ctx.store.deploymentsOfJobs(jobs)) {
    if (!isActive(d)) continue;
    const allocs = ctx.store.allocsOfDeployment(d.ID);
    ctx.store.write(now, (txn) => {
      const unhealthy = allocs.filter((a) => a.health?.healthy === false);
      if (unhealthy.length > 0) {
        const rollback = unhealthy.some((a) => d.groups.get(a.TaskGroup)?.AutoRevert);
        failDeployment(ctx, txn, d, d.deadlineHit ? DESC.progressDeadline : DESC.failedAllocations, rollback);
        changed = true;
        return;
      }
      const running = d.Status === 'running';
      const cutoff = deadlineRuns(ctx, d) ? progressCutoff(d, allocs) : null;
      if (cutoff !== null && now >= cutoff) {
        d.deadlineHit = true;
        const { fail, rollback } = shouldFail(d);
        if (fail) {
          failDeployment(ctx, txn, d, DESC.progressDeadline, rollback);
          changed = true;
          return;
        }
      }
      // Nomad's autoPromoteDeployment returns early unless the deployment is running: a paused
      // deployment waits for its resume (and the next allocation update) to be promoted.
      if (running && canAutoPromote(d, new Map(allocs.map((a) => [a.ID, a])))) {
        promoteDeployment(ctx, txn, d, true, []);
        changed = true;
        return;
      }
      if (running && isComplete(ctx, d, allocs)) {
        setStatus(txn, d, 'successful', DESC.successful);
        const version = ctx.store.jobVersions(d.Namespace, d.JobID).find((v) => v.Version === d.JobVersion);
        if (version) setJobStability(txn, version, true);
        changed = true;
      }
    });
  }
  return changed;
}

/** Per job of `jobs`, the next deadline after `after` among its deployments it can fail (jobs with none left out). */
export function nextDeadlines(ctx: ModelContext, after: number, jobs: Set<string>): Map<string, number> {
  const next = new Map<string, number>();
  for (const d of ctx.store.deploymentsOfJobs(jobs)) {
    if (!deadlineRuns(ctx, d)) continue;
    const cutoff = progressCutoff(d, ctx.store.allocsOfDeployment(d.ID));
    if (cutoff === null || cutoff <= after) continue;
    earliest(next, jobKey(d.Namespace, d.JobID), cutoff);
  }
  return next;
}

/** An instant at which something time-driven is due, and the jobs it concerns. */
export interface DueAt {
  at: number;
  jobs: Set<string>;
}

