/**
 * The simulated state store: tables of jobs, job versions, deployments and allocations, a raft
 * index, and a per-table index like Nomad's `index` table. Every write runs in a transaction that
 * takes the next raft index and stamps the tables it touched; watchers (blocking queries) are
 * woken once per burst of writes.
 */
import type { Alloc, Deployment, JobVersion, SimVariable } from './types.js';

export type Table = 'jobs' | 'job_version' | 'deployment' | 'allocs' | 'variables';

/** Nomad keeps this many versions of a job. */
export const JOB_TRACKED_VERSIONS = 6;

export interface Txn {
  readonly index: number;
  readonly now: number;
  touch(...tables: Table[]): void;
  /** Notes a deployment or allocation this write changed, for the event stream. */
  changed(row: ChangedRow): void;
}

export type ChangedRow = { deployment: Deployment } | { alloc: Alloc };

/** Called once per committed write with the rows it changed (see model/events.ts). */
export type CommitListener = (index: number, changed: ChangedRow[]) => void;

export function jobKey(namespace: string, id: string): string {
  return `${namespace}\u0000${id}`;
}

export class StateStore {
  private raftIndex = 0;
  private readonly tableIndex: Record<Table, number> = { jobs: 0, job_version: 0, deployment: 0, allocs: 0, variables: 0 };
  private current: (Txn & { touched: Set<Table> }) | null = null;
  private readonly commitListeners = new Set<CommitListener>();
  private readonly watchers = new Set<() => void>();
  private notifyScheduled = false;

  readonly jobs = new Map<string, JobVersion>();
  /** Newest first. */
  readonly versions = new Map<string, JobVersion[]>();
  /** Read freely; insert through addDeployment / addAlloc, which keep the per-job indexes. */
  readonly deployments = new Map<string, Deployment>();
  readonly allocs = new Map<string, Alloc>();
  /** Nomad Variables keyed by jobKey(namespace, path); written through model/variables.ts. */
  readonly variables = new Map<string, SimVariable>();
  /**
   * Per job, in insertion order: every settle pass looks up each job's allocations and
   * deployments, and scanning all of them per job made a pass quadratic in the cluster's size.
   */
  private readonly allocsByJob = new Map<string, Alloc[]>();
  private readonly deploymentsByJob = new Map<string, Deployment[]>();
  private indexedAllocs = 0;
  private indexedDeployments = 0;
  /**
   * Jobs whose job, allocations or deployments changed since the scheduler last took them: the
   * scheduler plans only those, as Nomad evaluates only the jobs an event concerns.
   */
  private readonly changedJobs = new Set<string>();
  /** Each job's place in the jobs table (Map order), so changed jobs are planned in that order. */
  private readonly jobOrder = new Map<string, number>();
  private nextJobPosition = 0;

  /**
   * The same for the deployment watcher and the client: jobs changed since `takeWatchedJobs`.
   * Their steps depend on time only through due instants, which mark their jobs (Cluster.catchUp).
   */
  private readonly watchedJobs = new Set<string>();

  /** And for the next due instant, kept per job: jobs changed since `takeDueJobs`. */
  private readonly dueJobs = new Set<string>();

  markJobChanged(namespace: string, id: string): void {
    this.changed(jobKey(namespace, id));
  }

  /** For the scheduler, the watcher and the client, and the due instants. */
  private changed(key: string): void {
    this.changedJobs.add(key);
    this.watched(key);
  }

  private watched(key: string): void {
    this.watchedJobs.add(key);
    this.dueJobs.add(key);
  }

  /** Adds the jobs changed since the last call to `into`. */
  takeDueJobs(into: Set<string>): void {
    moveAll(this.dueJobs, into);
  }

  /** Adds the jobs changed since the last call to `into`. */
  takeWatchedJobs(into: Set<string>): void {
    moveAll(this.watchedJobs, into);
  }

  /** Deployments of these jobs, oldest first (the deployments table's order). */
  deploymentsOfJobs(keys: Set<string>): Deployment[] {
    this.syncIndexes();
    const out: Deployment[] = [];
    for (const key of keys) out.push(...(this.deploymentsByJob.get(key) ?? []));
    return out.sort((a, b) => a.CreateIndex - b.CreateIndex);
  }

  /** Allocations of these jobs. */
  *allocsOfJobs(keys: Set<string>): Iterable<Alloc> {
    this.syncIndexes();
    for (const key of keys) yield* this.allocsByJob.get(key) ?? [];
  }

  /** Every job as changed (a plan may have waited for something outside the store, such as a port). */
  markAllJobsChanged(): void {
    for (const key of this.jobs.keys()) this.changed(key);
  }

  /** The changed jobs, in the jobs table's order, and forgets them. */
  takeChangedJobs(): JobVersion[] {
    if (this.changedJobs.size === 0) return [];
    const out: JobVersion[] = [];
    const position = (key: string) => this.jobOrder.get(key) ?? Infinity;
    for (const key of [...this.changedJobs].sort((a, b) => position(a) - position(b))) {
      const job = this.jobs.get(key);
      if (job) out.push(job);
    }
    this.changedJobs.clear();
    return out;
  }

  index(table: Table): number {
    return this.tableIndex[table];
  }

  latestIndex(): number {
    return this.raftIndex;
  }

  /** Runs `fn` as one write at the next raft index; nested writes join the outer transaction. */
  write<T>(now: number, fn: (txn: Txn) => T): T {
    if (this.current) return fn(this.current);
    const touched = new Set<Table>();
    // Keyed by object so a row changed twice in one write yields one event.
    const changed = new Map<Deployment | Alloc, ChangedRow>();
    const txn = {
      index: this.raftIndex + 1,
      now,
      touched,
      touch: (...t: Table[]) => t.forEach((x) => touched.add(x)),
      changed: (row: ChangedRow) => {
        const item = 'deployment' in row ? row.deployment : row.alloc;
        this.markJobChanged(item.Namespace, item.JobID);
        changed.set(item, row);
      },
    };
    this.current = txn;
    try {
      const result = fn(txn);
      if (touched.size > 0) {
        this.raftIndex = txn.index;
        for (const t of touched) this.tableIndex[t] = txn.index;
        if (changed.size > 0) for (const cb of this.commitListeners) cb(txn.index, [...changed.values()]);
        this.scheduleNotify();
      }
      return result;
    } finally {
      this.current = null;
    }
  }

  get inWrite(): boolean {
    return this.current !== null;
  }

  /**
   * Simulates a snapshot restore or failover to a lagging server: every index above `to` drops to
   * `to`, objects included, and later writes continue from there. Blocked queries are woken, and
   * (as in Nomad) keep blocking while the index is not above theirs.
   */
  resetIndexes(to: number): void {
    const clamp = (n: number): number => Math.min(n, to);
    this.raftIndex = clamp(this.raftIndex);
    for (const t of Object.keys(this.tableIndex) as Table[]) this.tableIndex[t] = clamp(this.tableIndex[t]);
    const clampObject = (o: { CreateIndex: number; ModifyIndex: number }): void => {
      o.CreateIndex = clamp(o.CreateIndex);
      o.ModifyIndex = clamp(o.ModifyIndex);
    };
    for (const list of this.versions.values()) {
      for (const v of list) {
        clampObject(v);
        v.JobModifyIndex = clamp(v.JobModifyIndex);
      }
    }
    for (const d of this.deployments.values()) {
      clampObject(d);
      d.JobModifyIndex = clamp(d.JobModifyIndex);
      d.JobSpecModifyIndex = clamp(d.JobSpecModifyIndex);
      d.JobCreateIndex = clamp(d.JobCreateIndex);
    }
    for (const a of this.allocs.values()) {
      clampObject(a);
      a.AllocModifyIndex = clamp(a.AllocModifyIndex);
      if (a.health) a.health.modifyIndex = clamp(a.health.modifyIndex);
    }
    for (const v of this.variables.values()) clampObject(v);
    this.scheduleNotify();
  }

  /** Registers a callback run at each commit that changed deployments or allocations. */
  onCommit(cb: CommitListener): () => void {
    this.commitListeners.add(cb);
    return () => this.commitListeners.delete(cb);
  }

  /** Registers a callback run after writes; returns an unsubscribe function. */
  watch(cb: () => void): () => void {
    this.watchers.add(cb);
    return () => this.watchers.delete(cb);
  }

  /** Wakes watchers once, after the current synchronous burst of writes has finished. */
  private scheduleNotify(): void {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setImmediate(() => {
      this.notifyScheduled = false;
      for (const cb of [...this.watchers]) cb();
    });
  }

  // --- job helpers -------------------------------------------------------------------------

  jobVersions(namespace: string, id: string): JobVersion[] {
    return this.versions.get(jobKey(namespace, id)) ?? [];
  }

  /**
   * Inserts a new current version, keeping JOB_TRACKED_VERSIONS of them: the newest ones, except
   * that the newest Stable version is never dropped (Nomad's upsertJobVersion swaps it into the
   * kept set, so the versions read newest first with the stable one last).
   */
  putJobVersion(txn: Txn, job: JobVersion): void {
    const key = jobKey(job.Namespace, job.ID);
    const list = [job, ...(this.versions.get(key) ?? []).filter((v) => v.Version !== job.Version)];
    const stable = list.findIndex((v) => v.Stable);
    const kept =
      stable >= JOB_TRACKED_VERSIONS ? [...list.slice(0, JOB_TRACKED_VERSIONS - 1), list[stable] as JobVersion] : list.slice(0, JOB_TRACKED_VERSIONS);
    this.versions.set(key, kept);
    if (!this.jobs.has(key)) this.jobOrder.set(key, this.nextJobPosition++);
    this.jobs.set(key, job);
    this.changed(key);
    txn.touch('jobs', 'job_version');
  }

  /** Deletes the job and its versions (a purge); its deployments and allocations stay, as in Nomad. */
  deleteJob(txn: Txn, namespace: string, id: string): void {
    const key = jobKey(namespace, id);
    this.jobs.delete(key);
    this.jobOrder.delete(key);
    this.watched(key);
    this.versions.delete(key);
    txn.touch('jobs', 'job_version');
  }

  addAlloc(a: Alloc): void {
    this.markJobChanged(a.Namespace, a.JobID);
    this.syncIndexes();
    this.allocs.set(a.ID, a);
    if (this.allocs.size === this.indexedAllocs + 1) {
      appendTo(this.allocsByJob, a);
      this.indexedAllocs++;
    }
  }

  addDeployment(d: Deployment): void {
    this.markJobChanged(d.Namespace, d.JobID);
    this.syncIndexes();
    this.deployments.set(d.ID, d);
    if (this.deployments.size === this.indexedDeployments + 1) {
      appendTo(this.deploymentsByJob, d);
      this.indexedDeployments++;
    }
  }

  /** In insertion order. */
  allocsOfJob(namespace: string, id: string): Alloc[] {
    this.syncIndexes();
    return [...(this.allocsByJob.get(jobKey(namespace, id)) ?? [])];
  }

  /** In insertion order. An allocation only ever belongs to deployments of its own job. */
  allocsOfDeployment(deploymentId: string): Alloc[] {
    const d = this.deployments.get(deploymentId);
    if (!d) return [...this.allocs.values()].filter((a) => a.DeploymentID === deploymentId);
    return this.allocsOfJob(d.Namespace, d.JobID).filter((a) => a.DeploymentID === deploymentId);
  }

  deploymentsOfJob(namespace: string, id: string): Deployment[] {
    this.syncIndexes();
    // Newest first; insertion order breaks ties (indexes can collide after an index reset).
    return [...(this.deploymentsByJob.get(jobKey(namespace, id)) ?? [])].reverse().sort((a, b) => b.CreateIndex - a.CreateIndex);
  }

  /**
   * Indexes rows set on the maps directly since (appended) and rebuilds after a deletion (the
   * model never deletes; a deletion and an insertion between two lookups would go unnoticed).
   */
  private syncIndexes(): void {
    if (this.allocs.size !== this.indexedAllocs) {
      if (this.allocs.size < this.indexedAllocs) this.rebuild(this.allocsByJob, this.allocs, 0);
      else this.rebuild(this.allocsByJob, this.allocs, this.indexedAllocs);
      this.indexedAllocs = this.allocs.size;
    }
    if (this.deployments.size !== this.indexedDeployments) {
      if (this.deployments.size < this.indexedDeployments) this.rebuild(this.deploymentsByJob, this.deployments, 0);
      else this.rebuild(this.deploymentsByJob, this.deployments, this.indexedDeployments);
      this.indexedDeployments = this.deployments.size;
    }
  }

  /** Appends the entries of `source` from position `from` on (Maps iterate in insertion order). */
  private rebuild<T extends { Namespace: string; JobID: string }>(index: Map<string, T[]>, source: Map<string, T>, from: number): void {
    if (from === 0) index.clear();
    let i = 0;
    for (const item of source.values()) {
      if (i++ >= from) appendTo(index, item);
    }
  }
}

function appendTo<T extends { Namespace: string; JobID: string }>(index: Map<string, T[]>, item: T): void {
  const key = jobKey(item.Namespace, item.JobID);
  const list = index.get(key);
  if (list) list.push(item);
  else index.set(key, [item]);
}

function moveAll(from: Set<string>, into: Set<string>): void {
  for (const key of from) into.add(key);
  from.clear();
}
