/**
 * What the machine reads from a job version's spec (Meta and the update blocks' health check
 * mode, job-wide and per group), by job incarnation and version. A version's spec never
 * changes, so each is read once: from /v1/job/:id when the job is still at that version, else
 * from /v1/job/:id/versions (the last few at once). A version older than the oldest Nomad still
 * keeps, or of an incarnation Nomad no longer has, is known to be gone without asking again.
 *
 * Bounded by jobs, not versions: the least recently used job incarnation is dropped past
 * `maxJobs`, and each keeps its newest `versionsPerJob` versions. Concurrent misses on one job
 * share one request. The job's CreateIndex is part of the key: a job purged and registered again
 * starts over at version 0.
 */
import type { Job, TaskGroup, UpdateStrategy } from '../domain/nomad.js';
import type { NomadApi } from '../nomad/api.js';
import { isNomadError } from '../nomad/errors.js';

type UpdateView = Pick<UpdateStrategy, 'HealthCheck'>;

/** The part of a job version's spec that decisions read. */
export interface JobSpec {
  Meta?: Record<string, string> | null;
  Update?: UpdateView | null;
  TaskGroups: { Name: string; Meta?: Record<string, string> | null; Update?: UpdateView | null }[];
}

export interface JobSpecCacheOptions {
  /** Job incarnations kept (default 10,000). */
  maxJobs?: number;
  /** Versions kept per job incarnation, the newest (default 8; Nomad keeps 6 by default). */
  versionsPerJob?: number;
}

interface JobEntry {
  /** Newest first, at most `versionsPerJob`: an array, as a Map costs some 600 bytes a job at 10,000 jobs. */
  versions: { version: number; spec: JobSpec }[];
  /** Versions below this one are no longer kept by Nomad (Infinity: the incarnation is gone). */
  oldestKept: number;
  /** The one request in flight for this job, shared by concurrent misses. */
  fetching?: Promise<void>;
}

export class JobSpecCache {
  /** In least-recently-used order: a hit moves its job to the end. */
  private readonly jobs = new Map<string, JobEntry>();
  private readonly maxJobs: number;
  private readonly versionsPerJob: number;

  constructor(
    private readonly api: NomadApi,
    options: JobSpecCacheOptions = {},
  ) {
    this.maxJobs = options.maxJobs ?? 10_000;
    this.versionsPerJob = options.versionsPerJob ?? 8;
  }

  /** The spec, or undefined when Nomad no longer keeps that version (or the job is gone). */
  async get(namespace: string, jobId: string, jobCreateIndex: number, version: number, signal?: AbortSignal): Promise<JobSpec | undefined> {
    const key = `${namespace}\u0000${jobId}\u0000${jobCreateIndex}`;
    const entry = this.touch(key);
    // Twice at most: a shared read made for another version may not have brought this one.
    for (let round = 0; round < 2; round++) {
      const known = specAt(entry, version);
      if (known || version < entry.oldestKept) return known;
      // One read of the job at a time, whoever else is waiting for it (under the first caller's
      // signal: the daemon's callers share one, and a failed read is asked again).
      entry.fetching ??= this.fetch(entry, { jobId, namespace, jobCreateIndex, version }, signal).finally(() => delete entry.fetching);
      await entry.fetching;
    }
    return specAt(entry, version);
  }

  /** Number of job incarnations held. */
  get size(): number {
    return this.jobs.size;
  }

  private touch(key: string): JobEntry {
    let entry = this.jobs.get(key);
    if (entry) {
      this.jobs.delete(key);
    } else {
      entry = { versions: [], oldestKept: 0 };
      if (this.jobs.size >= this.maxJobs) this.jobs.delete(this.jobs.keys().next().value!);
    }
    this.jobs.set(key, entry);
    return entry;
  }

  /**
   * The job as it is now when that is the wanted version (the usual case: a deployment of the
   * latest submission), a fraction of the bytes of all its versions; else all of them.
   */
  private async fetch(entry: JobEntry, wanted: WantedVersion, signal?: AbortSignal): Promise<void> {
    const { jobId, namespace, jobCreateIndex, version } = wanted;
    // Known to have moved past the wanted version: only the versions can have it.
    if (!entry.versions.some((v) => v.version > version)) {
      const current = await absentOn404(() => this.api.readJob(jobId, namespace, { signal }));
      // No job, or another incarnation of it: Nomad keeps no version of this one any more.
      if (!current || (current.body.CreateIndex !== undefined && current.body.CreateIndex !== jobCreateIndex)) {
        entry.oldestKept = Infinity;
        return;
      }
      if (current.body.Version === version) return this.keep(entry, [current.body]);
    }
    const versions = await absentOn404(() => this.api.jobVersions(jobId, namespace, { signal }));
    // Only versions of the same incarnation as the deployment's: none left means it was purged.
    const same = (versions?.body.Versions ?? []).filter((v) => v.CreateIndex === undefined || v.CreateIndex === jobCreateIndex);
    if (same.length === 0) {
      entry.oldestKept = Infinity;
      return;
    }
    entry.oldestKept = Math.max(entry.oldestKept, Math.min(...same.map((v) => v.Version ?? 0)));
    this.keep(entry, same);
  }

  private keep(entry: JobEntry, jobs: Job[]): void {
    const read = jobs.filter((v) => v.Version !== undefined).map((v) => ({ version: v.Version!, spec: specOf(v) }));
    const kept = entry.versions.filter((k) => !read.some((r) => r.version === k.version));
    // Dropped versions are not marked gone: Nomad may still keep them, and asking again is right.
    entry.versions = [...read, ...kept].sort((a, b) => b.version - a.version).slice(0, this.versionsPerJob);
  }
}

function specAt(entry: JobEntry, version: number): JobSpec | undefined {
  return entry.versions.find((v) => v.version === version)?.spec;
}

interface WantedVersion {
  jobId: string;
  namespace: string;
  jobCreateIndex: number;
  version: number;
}

async function absentOn404<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (isNomadError(err) && err.status === 404) return undefined;
    throw err;
  }
}

function specOf(job: Job): JobSpec {
  return {
    Meta: job.Meta ?? null,
    Update: updateOf(job.Update),
    TaskGroups: job.TaskGroups.map((g: TaskGroup) => ({ Name: g.Name, Meta: g.Meta ?? null, Update: updateOf(g.Update) })),
  };
}

function updateOf(update: UpdateStrategy | null | undefined): UpdateView | null {
  return update?.HealthCheck ? { HealthCheck: update.HealthCheck } : null;
}
