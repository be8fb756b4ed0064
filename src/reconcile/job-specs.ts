/**
 * Job specifications by namespace/job/version. A version's spec never changes, so each is read
 * once (from /v1/job/:id/versions, which returns the last few at once) and kept. The job's
 * CreateIndex is part of the key: a job purged and registered again starts over at version 0.
 */
import type { Job } from '../domain/nomad.js';
import type { NomadApi } from '../nomad/api.js';
import { isNomadError } from '../nomad/errors.js';

const LIMIT = 2000;

export class JobSpecCache {
  private readonly specs = new Map<string, Job>();

  constructor(private readonly api: NomadApi) {}

  /** The spec, or undefined when Nomad no longer keeps that version (or the job is gone); misses are asked again. */
  async get(namespace: string, jobId: string, jobCreateIndex: number, version: number, signal?: AbortSignal): Promise<Job | undefined> {
    const keyOf = (v: number | undefined) => `${namespace}\u0000${jobId}\u0000${jobCreateIndex}\u0000${v}`;
    const key = keyOf(version);
    if (!this.specs.has(key)) {
      try {
        const { body } = await this.api.jobVersions(jobId, namespace, { signal });
        // Only versions of the same incarnation of the job as the deployment's.
        for (const v of body.Versions) if (v.CreateIndex === undefined || v.CreateIndex === jobCreateIndex) this.remember(keyOf(v.Version), v);
      } catch (err) {
        if (!(isNomadError(err) && err.status === 404)) throw err;
      }
    }
    return this.specs.get(key);
  }

  private remember(key: string, job: Job): void {
    if (this.specs.size >= LIMIT) this.specs.delete(this.specs.keys().next().value!);
    this.specs.set(key, job);
  }
}
