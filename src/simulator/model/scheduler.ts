/**
 * The scheduler, level-triggered like Nomad's reconciler: from the current job version, its
 * deployments and its allocations, it decides what to place and stop, in one plan (one write).
 *
 * - A newer job version cancels the job's active deployments of older versions (and stops their
 *   unpromoted canaries), then gets its own deployment.
 * - Non-destructive changes update allocations in place; destructive ones place canaries first
 *   when the group has Canary > 0 and something to replace, otherwise roll with max_parallel.
 * - After promotion, old allocations shadowed by a canary of the same name stop at once and the
 *   rest roll with max_parallel. A paused, failed or finished deployment halts the rollout.
 */
import { randomUUID } from 'node:crypto';

import { isLive, placeAlloc, stopAlloc, updateInPlace } from './allocs.js';
import type { ModelContext } from './context.js';
import { DESC, isActive, newDeployment, setStatus } from './deployments.js';
import { hasUpdateStrategy, isDestructive } from './jobspec.js';
import type { Txn } from './store.js';
import type { Alloc, Deployment, JobGroup, JobVersion } from './types.js';

const NOT_NEEDED = 'alloc not needed due to job update';
const UPDATING = 'alloc is being updated due to job update';
const JOB_STOPPED = 'alloc not needed due to job stop';

function isCurrent(a: Alloc, job: JobVersion): boolean {
  return a.job.Version === job.Version && a.job.CreateIndex === job.CreateIndex;
}

/** Stops the unpromoted canaries of a deployment that is being cancelled or has failed. */
export function stopCanaries(txn: Txn, ctx: ModelContext, d: Deployment): void {
  for (const a of ctx.store.allocsOfDeployment(d.ID)) {
    const state = d.groups.get(a.TaskGroup);
    if (a.health?.canary && state && !state.Promoted && a.DesiredStatus === 'run') stopAlloc(txn, a, NOT_NEEDED);
  }
}

class JobPlan {
  readonly evalId = randomUUID();

  constructor(
    private readonly ctx: ModelContext,
    private readonly txn: Txn,
    private readonly job: JobVersion,
  ) {}

  run(): void {
    const { store } = this.ctx;
    const deployments = store.deploymentsOfJob(this.job.Namespace, this.job.ID);
    for (const d of deployments) {
      if (isActive(d) && (this.job.Stop || d.JobVersion !== this.job.Version || d.JobCreateIndex !== this.job.CreateIndex)) {
        setStatus(this.txn, d, 'cancelled', this.job.Stop ? DESC.stoppedJob : DESC.newerJob);
        stopCanaries(this.txn, this.ctx, d);
      }
    }
    const allocs = store.allocsOfJob(this.job.Namespace, this.job.ID);
    if (this.job.Stop) {
      for (const a of allocs.filter(isLive)) stopAlloc(this.txn, a, JOB_STOPPED);
      return;
    }
    let deployment = deployments.find((d) => d.JobVersion === this.job.Version && d.JobCreateIndex === this.job.CreateIndex) ?? null;
    if (!deployment) deployment = this.createDeployment(allocs);
    for (const group of this.job.TaskGroups) this.reconcileGroup(group, allocs, deployment);
    for (const a of allocs) {
      if (isLive(a) && !this.job.TaskGroups.some((g) => g.Name === a.TaskGroup)) stopAlloc(this.txn, a, NOT_NEEDED);
    }
  }

  private createDeployment(allocs: Alloc[]): Deployment | null {
    const canaries = new Map<string, number>();
    for (const g of this.job.TaskGroups) {
      const replaceable = allocs.filter((a) => isLive(a) && a.TaskGroup === g.Name && !isCurrent(a, this.job));
      const destructive = replaceable.some((a) => isDestructive(a.job, this.job, g.Name));
      canaries.set(g.Name, destructive && g.Update ? g.Update.Canary : 0);
    }
    const d = newDeployment(this.txn, this.job, canaries);
    if (d) this.ctx.store.addDeployment(d);
    return d;
  }

  /** Places an allocation, or returns null when its app's port is not ready (it waits for the next pass). */
  private place(group: JobGroup, nameIndex: number, d: Deployment | null, canary: boolean, previous?: Alloc): Alloc | null {
    const id = randomUUID();
    const node = this.ctx.pickNode();
    const appHealthy = this.ctx.appHealthFor(this.job, group.Name);
    const identity = {
      allocId: id,
      namespace: this.job.Namespace,
      job: this.job.ID,
      group: group.Name,
      version: this.job.Version,
      allocName: `${this.job.ID}.${group.Name}[${nameIndex}]`,
      nodeName: node.Name,
    };
    const ports = this.ctx.placementPorts(this.job, group.Name, identity, appHealthy);
    if (!ports) return null;
    const alloc = placeAlloc(this.txn, {
      id,
      job: this.job,
      group: group.Name,
      nameIndex,
      evalId: this.evalId,
      node,
      ports,
      appHealthy,
      deployment: d,
      canary,
      previous,
    });
    this.ctx.store.addAlloc(alloc);
    if (this.job.Status !== 'running') {
      this.job.Status = 'running';
      this.job.ModifyIndex = this.txn.index;
      this.txn.touch('jobs');
    }
    return alloc;
  }

  private reconcileGroup(group: JobGroup, allocs: Alloc[], deployment: Deployment | null): void {
    const state = deployment?.groups.get(group.Name);
    const d = deployment && state && hasUpdateStrategy(group) ? deployment : null;
    // A failed, cancelled or successful deployment of this version, or a paused one, halts the rollout.
    if (d && (!isActive(d) || d.Status === 'paused')) return;

    const mine = allocs.filter((a) => a.TaskGroup === group.Name);
    const live = mine.filter(isLive);
    // Failed allocations of this version keep their slot: the simulator does not reschedule.
    const failedCurrent = mine.filter((a) => a.DesiredStatus === 'run' && a.ClientStatus === 'failed' && isCurrent(a, this.job));
    const outdated = live.filter((a) => !isCurrent(a, this.job));
    const current = live.filter((a) => isCurrent(a, this.job));
    for (const a of outdated.filter((x) => !isDestructive(x.job, this.job, group.Name))) {
      updateInPlace(this.txn, a, this.job, d);
      current.push(a);
    }
    let old = outdated.filter((a) => isDestructive(a.job, this.job, group.Name)).sort((a, b) => a.nameIndex - b.nameIndex);

    if (d && state && state.DesiredCanaries > 0 && !state.Promoted) {
      const taken = new Set(current.filter((a) => a.health?.canary).map((a) => a.nameIndex));
      for (let i = state.PlacedCanaries.length; i < state.DesiredCanaries; i++) {
        const idx = old.map((a) => a.nameIndex).find((n) => !taken.has(n)) ?? firstFree(taken);
        taken.add(idx);
        if (!this.place(group, idx, d, true)) return;
      }
      return;
    }

    // Old allocations whose name a new allocation already carries (promoted canaries) stop now.
    const currentNames = new Set(current.map((a) => a.nameIndex));
    old = old.filter((a) => {
      if (!currentNames.has(a.nameIndex)) return true;
      stopAlloc(this.txn, a, NOT_NEEDED);
      return false;
    });

    // Scale down: old allocations first, then the highest names.
    let total = current.length + old.length + failedCurrent.length;
    while (total > group.Count) {
      const victim = old.pop() ?? current.sort((a, b) => a.nameIndex - b.nameIndex).pop();
      if (!victim) break;
      stopAlloc(this.txn, victim, NOT_NEEDED);
      total--;
    }

    const inFlight = d ? current.filter((a) => a.DeploymentID === d.ID && a.health?.healthy !== true).length : 0;
    let limit = d && hasUpdateStrategy(group) ? group.Update.MaxParallel - inFlight : Number.POSITIVE_INFINITY;
    for (const a of [...old]) {
      if (limit <= 0) break;
      // The replacement first: the old allocation keeps running while no port is ready for it.
      const replacement = this.place(group, a.nameIndex, d, false, a);
      if (!replacement) return;
      stopAlloc(this.txn, a, UPDATING);
      current.push(replacement);
      old = old.filter((x) => x !== a);
      limit--;
    }

    const taken = new Set([...current, ...old, ...failedCurrent].map((a) => a.nameIndex));
    for (let missing = group.Count - taken.size; missing > 0; missing--) {
      const idx = firstFree(taken);
      taken.add(idx);
      if (!this.place(group, idx, d, false)) return;
    }
  }
}

function firstFree(taken: Set<number>): number {
  let i = 0;
  while (taken.has(i)) i++;
  return i;
}

/** Runs the scheduler for one job; returns whether the plan changed anything. */
export function reconcileJob(ctx: ModelContext, now: number, job: JobVersion): boolean {
  const before = ctx.store.latestIndex();
  ctx.store.write(now, (txn) => new JobPlan(ctx, txn, job).run());
  return ctx.store.latestIndex() !== before;
}
