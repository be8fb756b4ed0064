/**
 * Deployment records: creation, status strings, and the bookkeeping Nomad's state store does when
 * an allocation of a deployment is placed or changes health (PlacedAllocs, HealthyAllocs,
 * UnhealthyAllocs, RequireProgressBy).
 */
import { randomUUID } from 'node:crypto';

import { hasUpdateStrategy } from './jobspec.js';
import type { Txn } from './store.js';
import type { Alloc, Deployment, GroupDeploymentState, JobVersion } from './types.js';

export const DESC = {
  running: 'Deployment is running',
  runningNeedsPromotion: 'Deployment is running but requires manual promotion',
  runningAutoPromotion: 'Deployment is running pending automatic promotion',
  paused: 'Deployment is paused',
  successful: 'Deployment completed successfully',
  stoppedJob: 'Cancelled because job is stopped',
  newerJob: 'Cancelled due to newer version of job',
  failedAllocations: 'Failed due to unhealthy allocations',
  progressDeadline: 'Failed due to progress deadline',
  failedByUser: 'Deployment marked as failed',
} as const;

export const rollbackDesc = (desc: string, version: number): string => `${desc} - rolling back to job version ${version}`;
export const rollbackNoopDesc = (desc: string, version: number): string =>
  `${desc} - not rolling back to stable job version ${version} as current job has same specification`;
export const noRollbackTargetDesc = (desc: string): string => `${desc} - no stable job version to auto revert to`;

const ACTIVE = new Set(['running', 'paused', 'blocked', 'unblocking', 'initializing', 'pending']);

export function isActive(d: Deployment): boolean {
  return ACTIVE.has(d.Status);
}

export function requiresPromotion(d: Deployment): boolean {
  return [...d.groups.values()].some((g) => g.DesiredCanaries > 0 && !g.Promoted);
}

/** The description of a running deployment, as the scheduler sets it when it creates one. */
export function runningDescription(d: Deployment): string {
  if (!requiresPromotion(d)) return DESC.running;
  const canaryGroups = [...d.groups.values()].filter((g) => g.DesiredCanaries > 0);
  return canaryGroups.every((g) => g.AutoPromote) ? DESC.runningAutoPromotion : DESC.runningNeedsPromotion;
}

/**
 * A new deployment for `job`. `canaries` gives, per group, how many canaries it needs (0 when
 * the update is not destructive or there is nothing to replace). Groups without an update
 * strategy or with Count 0 take no part. Returns null when no group takes part.
 */
export function newDeployment(txn: Txn, job: JobVersion, canaries: Map<string, number>): Deployment | null {
  const groups = new Map<string, GroupDeploymentState>();
  for (const g of job.TaskGroups) {
    if (!hasUpdateStrategy(g) || g.Count === 0) continue;
    groups.set(g.Name, {
      AutoRevert: g.Update.AutoRevert,
      AutoPromote: g.Update.AutoPromote,
      Promoted: false,
      progressDeadlineMs: g.Update.ProgressDeadline / 1e6,
      requireProgressByMs: null,
      PlacedCanaries: [],
      DesiredCanaries: canaries.get(g.Name) ?? 0,
      DesiredTotal: g.Count,
      PlacedAllocs: 0,
      HealthyAllocs: 0,
      UnhealthyAllocs: 0,
    });
  }
  if (groups.size === 0) return null;
  const d: Deployment = {
    ID: randomUUID(),
    Namespace: job.Namespace,
    JobID: job.ID,
    JobVersion: job.Version,
    JobModifyIndex: job.JobModifyIndex,
    JobSpecModifyIndex: job.JobModifyIndex,
    JobCreateIndex: job.CreateIndex,
    EvalPriority: job.Priority,
    Status: 'running',
    StatusDescription: DESC.running,
    groups,
    deadlineHit: false,
    CreateIndex: txn.index,
    ModifyIndex: txn.index,
    createTimeMs: txn.now,
    modifyTimeMs: txn.now,
  };
  d.StatusDescription = runningDescription(d);
  txn.touch('deployment');
  txn.changed({ deployment: d });
  return d;
}

export function touchDeployment(txn: Txn, d: Deployment): void {
  d.ModifyIndex = txn.index;
  d.modifyTimeMs = txn.now;
  txn.touch('deployment');
  txn.changed({ deployment: d });
}

export function setStatus(txn: Txn, d: Deployment, status: string, description: string): void {
  d.Status = status;
  d.StatusDescription = description;
  touchDeployment(txn, d);
}

/** An allocation joined the deployment (placed, or updated in place into it). */
export function countPlacement(txn: Txn, d: Deployment, alloc: Alloc): void {
  const state = d.groups.get(alloc.TaskGroup);
  if (!state) return;
  state.PlacedAllocs++;
  if (alloc.health?.canary) state.PlacedCanaries.push(alloc.ID);
  if (state.progressDeadlineMs > 0 && state.requireProgressByMs === null) {
    state.requireProgressByMs = alloc.modifyTimeMs + state.progressDeadlineMs;
  }
  touchDeployment(txn, d);
}

/**
 * An allocation's deployment health changed from `before` to its current value. Mirrors Nomad:
 * unset -> healthy/unhealthy counts once; healthy -> unhealthy moves one count; unhealthy ->
 * healthy changes no count. A newly healthy allocation pushes RequireProgressBy forward.
 */
export function countHealthChange(txn: Txn, d: Deployment, alloc: Alloc, before: boolean | null): void {
  const state = d.groups.get(alloc.TaskGroup);
  const after = alloc.health?.healthy ?? null;
  if (!state || after === null) return;
  let healthy = 0;
  let unhealthy = 0;
  if (before === null) {
    if (after) healthy++;
    else unhealthy++;
  } else if (before && !after) {
    healthy--;
    unhealthy++;
  }
  if (healthy === 0 && unhealthy === 0) return;
  state.HealthyAllocs += healthy;
  state.UnhealthyAllocs += unhealthy;
  if (healthy > 0 && state.progressDeadlineMs > 0 && alloc.health?.timestampMs != null) {
    const by = alloc.health.timestampMs + state.progressDeadlineMs;
    if (state.requireProgressByMs === null || by > state.requireProgressByMs) state.requireProgressByMs = by;
  }
  touchDeployment(txn, d);
}
