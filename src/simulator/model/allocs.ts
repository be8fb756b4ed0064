/**
 * Allocation lifecycle on the simulated client: placement (running at once), stop, task
 * failure, and deployment health.
 */
import { randomUUID } from 'node:crypto';

import { countHealthChange, countPlacement } from './deployments.js';
import { lookupGroup } from './jobspec.js';
import type { Txn } from './store.js';
import type { Alloc, Deployment, HealthMode, JobVersion, PortAlloc, SimNode, TaskRun } from './types.js';

export interface PlacementRequest {
  /** Chosen before placement when the allocation's app needs it; default a fresh UUID. */
  id?: string;
  job: JobVersion;
  group: string;
  nameIndex: number;
  evalId: string;
  node: SimNode;
  ports: PortAlloc[];
  appHealthy: boolean;
  deployment: Deployment | null;
  canary: boolean;
  previous?: Alloc;
}

export function touchAlloc(txn: Txn, a: Alloc): void {
  a.ModifyIndex = txn.index;
  a.AllocModifyIndex = txn.index;
  a.modifyTimeMs = txn.now;
  txn.touch('allocs');
  txn.changed({ alloc: a });
}

function runningTask(now: number): TaskRun {
  return {
    state: 'running',
    failed: false,
    startedAtMs: now,
    finishedAtMs: null,
    events: [
      { type: 'Received', message: 'Task received by client', timeMs: now },
      { type: 'Task Setup', message: 'Building Task Directory', timeMs: now },
      { type: 'Started', message: 'Task started by client', timeMs: now },
    ],
  };
}

export function healthMode(a: Alloc): HealthMode | null {
  return lookupGroup(a.job, a.TaskGroup)?.Update?.HealthCheck ?? null;
}

/** Whether the allocation currently meets its health_check mode's condition (manual: never). */
export function meetsHealthCondition(a: Alloc): boolean {
  const running = a.ClientStatus === 'running' && [...a.tasks.values()].every((t) => t.state === 'running');
  switch (healthMode(a)) {
    case 'checks':
      return running && a.appHealthy;
    case 'task_states':
      return running;
    default:
      return false;
  }
}

/** (Re)starts client-side health tracking, as the client does for a new or updated allocation. */
export function restartHealthTracking(a: Alloc, now: number): void {
  a.healthTrackStartMs = now;
  a.healthySinceMs = meetsHealthCondition(a) ? now : null;
}

export function placeAlloc(txn: Txn, req: PlacementRequest): Alloc {
  const now = txn.now;
  const group = lookupGroup(req.job, req.group);
  const tasks = new Map<string, TaskRun>();
  for (const t of group?.Tasks ?? []) tasks.set(t.Name, runningTask(now));
  const alloc: Alloc = {
    ID: req.id ?? randomUUID(),
    EvalID: req.evalId,
    Namespace: req.job.Namespace,
    JobID: req.job.ID,
    TaskGroup: req.group,
    nameIndex: req.nameIndex,
    NodeID: req.node.ID,
    NodeName: req.node.Name,
    job: req.job,
    DeploymentID: req.deployment?.ID ?? '',
    DesiredStatus: 'run',
    DesiredDescription: '',
    ClientStatus: 'running',
    ClientDescription: 'Tasks are running',
    health: req.deployment ? { healthy: null, timestampMs: null, canary: req.canary, modifyIndex: txn.index } : null,
    tasks,
    ports: req.ports,
    appHealthy: req.appHealthy,
    healthySinceMs: null,
    healthTrackStartMs: null,
    PreviousAllocation: req.previous?.ID ?? '',
    NextAllocation: '',
    CreateIndex: txn.index,
    ModifyIndex: txn.index,
    AllocModifyIndex: txn.index,
    createTimeMs: now,
    modifyTimeMs: now,
    checksChangedMs: now,
  };
  if (req.deployment) {
    restartHealthTracking(alloc, now);
    countPlacement(txn, req.deployment, alloc);
  }
  if (req.previous) {
    req.previous.NextAllocation = alloc.ID;
    touchAlloc(txn, req.previous);
  }
  txn.touch('allocs');
  txn.changed({ alloc });
  return alloc;
}

/** Moves a running allocation onto a new job version without replacing it (in-place update). */
export function updateInPlace(txn: Txn, a: Alloc, job: JobVersion, deployment: Deployment | null): void {
  a.job = job;
  a.DeploymentID = deployment?.ID ?? '';
  a.health = deployment ? { healthy: null, timestampMs: null, canary: false, modifyIndex: txn.index } : null;
  touchAlloc(txn, a);
  if (deployment) {
    restartHealthTracking(a, txn.now);
    countPlacement(txn, deployment, a);
  }
}

function endTasks(a: Alloc, now: number, failed: boolean): void {
  for (const t of a.tasks.values()) {
    if (t.state === 'dead') continue;
    t.state = 'dead';
    t.failed = failed;
    t.finishedAtMs = now;
    t.events.push(
      failed
        ? { type: 'Terminated', message: 'Exit Code: 1', timeMs: now, failsTask: true }
        : { type: 'Killed', message: 'Task successfully killed', timeMs: now },
    );
  }
}

export function stopAlloc(txn: Txn, a: Alloc, description: string): void {
  a.DesiredStatus = 'stop';
  a.DesiredDescription = description;
  if (a.ClientStatus === 'running' || a.ClientStatus === 'pending') {
    a.ClientStatus = 'complete';
    a.ClientDescription = 'All tasks have completed';
    endTasks(a, txn.now, false);
  }
  a.healthySinceMs = null;
  a.checksChangedMs = txn.now;
  touchAlloc(txn, a);
}

/** The allocation's tasks fail: the allocation is failed and can no longer become healthy. */
export function failAlloc(txn: Txn, a: Alloc): void {
  a.ClientStatus = 'failed';
  a.ClientDescription = 'Failed tasks';
  endTasks(a, txn.now, true);
  a.healthySinceMs = null;
  a.checksChangedMs = txn.now;
  touchAlloc(txn, a);
}

/** Sets the allocation's deployment health and updates its deployment's counters. */
export function setHealth(txn: Txn, a: Alloc, d: Deployment, healthy: boolean): void {
  const before = a.health?.healthy ?? null;
  a.health = { canary: a.health?.canary ?? false, healthy, timestampMs: txn.now, modifyIndex: txn.index };
  touchAlloc(txn, a);
  countHealthChange(txn, d, a, before);
}

export function isLive(a: Alloc): boolean {
  return a.DesiredStatus === 'run' && (a.ClientStatus === 'running' || a.ClientStatus === 'pending');
}
