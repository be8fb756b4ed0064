/**
 * The simulated cluster: the state store plus the loops that move it (scheduler, client health,
 * deployment watcher), driven by the simulated clock. Every operation first catches up with the
 * clock, applies its write, then settles (runs the loops until nothing changes).
 *
 * Time-driven transitions are processed in time order: when the clock jumps, each due event
 * (health after min_healthy_time, healthy_deadline, progress deadline) runs at its own instant.
 */
import { randomUUID } from 'node:crypto';

import type { SimClock } from '../clock.js';
import { failAlloc as failAllocTasks, setHealth } from './allocs.js';
import type { AppBehaviour, AppHost } from './app-host.js';
import { clientHealthStep, nextHealthEvents, refreshHealthCondition } from './client.js';
import { ModelContext } from './context.js';
import { DESC, setStatus } from './deployments.js';
import { ApiError } from './errors.js';
import { insertJobVersion, setJobStability } from './jobs.js';
import { nomadBehaviour, type NomadBehaviour } from './nomad-version.js';
import { reconcileJob } from './scheduler.js';
import { StateStore, jobKey } from './store.js';
import type { Alloc, Deployment, JobVersion } from './types.js';
import { failDeployment, isTerminalAlloc, nextDeadlines, promoteDeployment, watchDeployments, type DueAt } from './watcher.js';

export interface DeploymentUpdateResult {
  EvalID: string;
  EvalCreateIndex: number;
  DeploymentModifyIndex: number;
  RevertedJobVersion: number | null;
  Index: number;
}

export interface JobRegisterResult {
  EvalID: string;
  EvalCreateIndex: number;
  JobModifyIndex: number;
  Warnings: string;
  Index: number;
}

const MAX_SETTLE_ROUNDS = 200;

/** Nomad's answer, in Job.Revert and Job.Stable alike, for a version it does not hold. */
function versionNotFound(namespace: string, id: string, version: number): ApiError {
  return new ApiError(500, `job ${JSON.stringify(id)} in namespace ${JSON.stringify(namespace)} at version ${version} not found`);
}

/** Which apps an app-profile change is for: one allocation, or a job (optionally one version). */
export type AppTarget = { allocId: string } | { namespace: string; job: string; version: number | null };

export class Cluster {
  readonly store = new StateStore();
  readonly ctx: ModelContext;
  private cursor: number;

  /** With `apps`, every running allocation has an application (see AppHost). */
  constructor(
    readonly clock: SimClock,
    apps: AppHost | null = null,
    behaviour: NomadBehaviour = nomadBehaviour(),
  ) {
    this.cursor = clock.now();
    this.ctx = new ModelContext(this.store, apps, behaviour);
  }

  /** Applies every time-driven transition due up to the clock's current time. */
  catchUp(): void {
    const target = this.clock.now();
    for (;;) {
      const next = this.nextDue();
      if (next === null || next.at > target) break;
      this.cursor = next.at;
      this.settle(next.at, new Set(next.jobs));
    }
    this.cursor = Math.max(this.cursor, target);
    this.settleNow();
  }

  /** Settles at the cursor, stops the apps that ended, and says when the next transition is due. */
  private settleNow(): void {
    this.settle(this.cursor);
    this.stopEndedApps();
    this.onSettled?.(this.nextDue()?.at ?? null);
  }

  /**
   * Told, after every catch-up and operation, when the next time-driven transition is due (null:
   * none), so that it can run at its instant rather than at the next tick.
   */
  onSettled?: (nextDue: number | null) => void;

  /** The next instant after the cursor at which a health outcome or a deadline is due, with the jobs concerned. */
  private nextDue(): DueAt | null {
    const stale = new Set<string>();
    this.store.takeDueJobs(stale);
    const passed = this.due !== null && this.due.at <= this.cursor;
    if (stale.size === 0 && !passed) return this.due;
    if (passed) for (const [key, at] of this.dueByJob) if (at <= this.cursor) stale.add(key);
    const health = nextHealthEvents(this.ctx, this.cursor, stale);
    const deadlines = nextDeadlines(this.ctx, this.cursor, stale);
    for (const key of stale) {
      const at = Math.min(health.get(key) ?? Infinity, deadlines.get(key) ?? Infinity);
      if (at === Infinity) this.dueByJob.delete(key);
      else this.dueByJob.set(key, at);
    }
    let next: DueAt | null = null;
    for (const [key, at] of this.dueByJob) {
      if (next === null || at < next.at) next = { at, jobs: new Set([key]) };
      else if (at === next.at) next.jobs.add(key);
    }
    this.due = next;
    return next;
  }

  /**
   * Per job, its next due instant after the cursor, and the earliest of them. Asked before and
   * after every request, so a job's is computed again only once its rows changed or its instant
   * passed: a write costs what it changed, not a scan of the cluster.
   */
  private readonly dueByJob = new Map<string, number>();
  private due: DueAt | null = null;

  /**
   * Stops the app of every allocation that no longer runs (stopped, failed, replaced, job
   * stopped), whichever path ended it. Apps start at placement, where their port is decided.
   */
  private stopEndedApps(): void {
    const { apps } = this.ctx;
    if (!apps) return;
    for (const id of [...apps.running()]) {
      const a = this.store.allocs.get(id);
      if (a && a.DesiredStatus === 'run' && a.ClientStatus === 'running') continue;
      apps.stop(id);
      this.ctx.allocBehaviourOverrides.delete(id);
    }
  }

  /**
   * Runs watcher, scheduler and client until nothing changes at `now`. Each looks only at the
   * jobs that changed (or, given in `jobs`, have something due now): every other job was settled
   * before and nothing about it has moved since, so the cost follows what changed.
   */
  private settle(now: number, jobs: Set<string> = new Set()): void {
    for (let round = 0; round < MAX_SETTLE_ROUNDS; round++) {
      this.store.takeWatchedJobs(jobs);
      let changed = watchDeployments(this.ctx, now, jobs);
      for (const job of this.store.takeChangedJobs()) changed = reconcileJob(this.ctx, now, job) || changed;
      this.store.takeWatchedJobs(jobs);
      changed = clientHealthStep(this.ctx, now, jobs) || changed;
      if (!changed) return;
    }
  }

  /** Plans every job again (ports became free: a placement that waited for one can go ahead), then catches up. */
  replan(): void {
    this.store.markAllJobsChanged();
    this.catchUp();
  }

  /** Runs `fn` as one write at the current time, then lets the cluster react. */
  private operate<T>(fn: (now: number) => T): T {
    this.catchUp();
    const result = fn(this.cursor);
    this.settleNow();
    return result;
  }

  private deploymentResult(index: number, withEval: boolean, reverted: number | null = null): DeploymentUpdateResult {
    return {
      EvalID: withEval ? randomUUID() : '',
      EvalCreateIndex: withEval ? index : 0,
      DeploymentModifyIndex: index,
      RevertedJobVersion: reverted,
      Index: index,
    };
  }

  // --- jobs --------------------------------------------------------------------------------

  job(namespace: string, id: string): JobVersion | undefined {
    return this.store.jobs.get(jobKey(namespace, id));
  }

  registerJob(spec: JobVersion): JobRegisterResult {
    return this.operate((now) => {
      const job = this.store.write(now, (txn) => insertJobVersion(this.store, txn, spec));
      const current = this.job(spec.Namespace, spec.ID);
      const index = job ? job.JobModifyIndex : this.store.latestIndex();
      return { EvalID: randomUUID(), EvalCreateIndex: index, JobModifyIndex: current?.JobModifyIndex ?? index, Warnings: '', Index: index };
    });
  }

  revertJob(namespace: string, id: string, version: number, enforcePriorVersion: number | null): JobRegisterResult {
    const current = this.job(namespace, id);
    if (!current) throw new ApiError(500, `job ${JSON.stringify(id)} not found`);
    if (version === current.Version) throw new ApiError(500, "can't revert to current version");
    const target = this.store.jobVersions(namespace, id).find((v) => v.Version === version);
    if (!target) throw versionNotFound(namespace, id, version);
    if (enforcePriorVersion !== null && current.Version !== enforcePriorVersion) {
      throw new ApiError(500, `Current job has version ${current.Version}; enforcing version ${enforcePriorVersion}`);
    }
    return this.registerJob(structuredClone(target));
  }

  setJobStable(namespace: string, id: string, version: number, stable: boolean): number {
    const target = this.store.jobVersions(namespace, id).find((v) => v.Version === version);
    if (!target) throw versionNotFound(namespace, id, version);
    return this.operate((now) =>
      this.store.write(now, (txn) => {
        setJobStability(txn, target, stable);
        txn.touch('jobs', 'job_version');
        return txn.index;
      }),
    );
  }

  /** Stops the job (a new version with Stop set), like DELETE /v1/job/:id without purge. */
  stopJob(namespace: string, id: string): JobRegisterResult {
    const current = this.job(namespace, id);
    if (!current) throw new ApiError(404, 'job not found');
    return this.registerJob({ ...structuredClone(current), Stop: true });
  }

  /**
   * Stops and purges the job (DELETE /v1/job/:id?purge=true): registering the same ID later starts
   * a new incarnation, with a new CreateIndex.
   */
  purgeJob(namespace: string, id: string): JobRegisterResult {
    const stopped = this.stopJob(namespace, id);
    const index = this.operate((now) =>
      this.store.write(now, (txn) => {
        this.store.deleteJob(txn, namespace, id);
        return txn.index;
      }),
    );
    return { ...stopped, JobModifyIndex: index, Index: index };
  }

  // --- deployments -------------------------------------------------------------------------

  deployment(id: string): Deployment | undefined {
    this.catchUp();
    return this.store.deployments.get(id);
  }

  promote(d: Deployment, all: boolean, groups: string[]): DeploymentUpdateResult {
    return this.operate((now) =>
      this.store.write(now, (txn) => {
        promoteDeployment(this.ctx, txn, d, all, groups);
        return this.deploymentResult(txn.index, true);
      }),
    );
  }

  fail(d: Deployment): DeploymentUpdateResult {
    return this.operate((now) =>
      this.store.write(now, (txn) => {
        const rollback = [...d.groups.values()].some((g) => g.AutoRevert);
        const reverted = failDeployment(this.ctx, txn, d, DESC.failedByUser, rollback);
        return this.deploymentResult(txn.index, true, reverted);
      }),
    );
  }

  /** Pause or resume; from Nomad 2.0.1 on both restart the progress deadline of every group. */
  pause(d: Deployment, pause: boolean): DeploymentUpdateResult {
    return this.operate((now) =>
      this.store.write(now, (txn) => {
        setStatus(txn, d, pause ? 'paused' : 'running', pause ? DESC.paused : DESC.running);
        if (this.ctx.behaviour.pauseHoldsProgressDeadline) {
          for (const g of d.groups.values()) {
            if (g.progressDeadlineMs > 0) g.requireProgressByMs = now + g.progressDeadlineMs;
          }
        }
        return this.deploymentResult(txn.index, !pause);
      }),
    );
  }

  /** One transaction: every ID is checked before any health is set. */
  setAllocHealth(d: Deployment, healthy: string[], unhealthy: string[]): DeploymentUpdateResult {
    return this.operate((now) => {
      const lookup = (id: string): Alloc => {
        const a = this.store.allocs.get(id);
        if (!a) throw new ApiError(500, `unknown alloc ${JSON.stringify(id)}`);
        if (a.DeploymentID !== d.ID) throw new ApiError(500, `alloc ${JSON.stringify(id)} is not part of deployment ${JSON.stringify(d.ID)}`);
        return a;
      };
      const healthyAllocs = healthy.map(lookup);
      const unhealthyAllocs = unhealthy.map(lookup);
      return this.store.write(now, (txn) => {
        for (const a of healthyAllocs) setHealth(txn, a, d, true);
        for (const a of unhealthyAllocs) setHealth(txn, a, d, false);
        let reverted: number | null = null;
        if (unhealthyAllocs.length > 0) {
          const rollback = unhealthyAllocs.some((a) => d.groups.get(a.TaskGroup)?.AutoRevert);
          reverted = failDeployment(this.ctx, txn, d, DESC.failedAllocations, rollback, { omitNoTargetSuffix: true });
        }
        return this.deploymentResult(txn.index, true, reverted);
      });
    });
  }

  /** Open-source Nomad has no multiregion deployments: unblocking is a no-op. */
  unblock(): DeploymentUpdateResult {
    return { EvalID: '', EvalCreateIndex: 0, DeploymentModifyIndex: 0, RevertedJobVersion: null, Index: 0 };
  }

  // --- simulated application / client --------------------------------------------------------

  private alloc(id: string): Alloc {
    const a = this.store.allocs.get(id);
    if (!a) throw new ApiError(404, `alloc ${JSON.stringify(id)} not found`);
    return a;
  }

  /** The application's checks start passing or failing; client-side health follows per mode. */
  setAppHealth(allocId: string, healthy: boolean): void {
    const a = this.alloc(allocId);
    this.operate((now) => {
      if (a.appHealthy !== healthy) a.checksChangedMs = now;
      a.appHealthy = healthy;
      refreshHealthCondition(a, now);
      this.store.markJobChanged(a.Namespace, a.JobID);
      // The app's /healthz answers as the service checks report.
      this.ctx.apps?.update(a.ID, { healthy });
    });
  }

  /** The allocation's tasks fail: failed, and unhealthy in its active deployment. */
  failAlloc(allocId: string): void {
    const a = this.alloc(allocId);
    this.operate((now) =>
      this.store.write(now, (txn) => {
        if (isTerminalAlloc(a)) return;
        failAllocTasks(txn, a);
        const d = a.DeploymentID ? this.store.deployments.get(a.DeploymentID) : undefined;
        if (d && ['running', 'paused'].includes(d.Status) && a.health?.healthy !== false) setHealth(txn, a, d, false);
      }),
    );
  }

  /**
   * Sets whether the application of `job` (or one version of it) passes its checks, for new
   * allocations and for the job's live allocations of that version.
   */
  setJobAppHealth(namespace: string, jobId: string, version: number | null, healthy: boolean): void {
    const key = jobKey(namespace, jobId);
    this.ctx.appHealthOverrides.set(version === null ? key : `${key}\u0000${version}`, healthy);
    for (const a of this.store.allocsOfJob(namespace, jobId)) {
      if (!isTerminalAlloc(a) && (version === null || a.job.Version === version)) this.setAppHealth(a.ID, healthy);
    }
  }

  /**
   * Sets the error rate and/or latency of one allocation's app, or of a job's (or job version's)
   * apps, live ones and those started later. The most specific setting wins (see appBehaviourFor).
   */
  setAppBehaviour(target: AppTarget, change: AppBehaviour): void {
    const { apps } = this.ctx;
    if (!apps) throw new ApiError(400, 'the simulator runs without apps');
    this.catchUp();
    if ('allocId' in target) {
      const a = this.alloc(target.allocId);
      if (isTerminalAlloc(a) || !apps.describe(a.ID)) throw new ApiError(400, `allocation ${JSON.stringify(a.ID)} has no running app`);
      this.ctx.allocBehaviourOverrides.set(a.ID, { ...this.ctx.allocBehaviourOverrides.get(a.ID), ...change });
      apps.update(a.ID, this.ctx.appBehaviourFor(a.job, a.TaskGroup, a.ID));
      return;
    }
    const key = jobKey(target.namespace, target.job);
    const mapKey = target.version === null ? key : `${key}\u0000${target.version}`;
    this.ctx.appBehaviourOverrides.set(mapKey, { ...this.ctx.appBehaviourOverrides.get(mapKey), ...change });
    for (const a of this.store.allocsOfJob(target.namespace, target.job)) {
      if (!isTerminalAlloc(a)) apps.update(a.ID, this.ctx.appBehaviourFor(a.job, a.TaskGroup, a.ID));
    }
  }

  resetIndexes(to: number): void {
    this.store.resetIndexes(to);
  }
}
