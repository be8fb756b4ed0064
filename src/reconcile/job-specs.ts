/**
 * Job specifications by namespace/job/version. A version's spec never changes, so each is read
 * once (from /v1/job/:id/versions, which returns the last few at once) and kept.
 */
import type { Job } from '../domain/nomad.js';
import type { NomadApi } from '../nomad/api.js';
import { isNomadError } from '../nomad/errors.js';

const LIMIT = 2000;

export class JobSpecCache {
  private readonly specs = new Map<string, Job | null>();

  constructor(private readonly api: NomadApi) {}

  /** The spec, or undefined when Nomad no longer keeps that version (or the job is gone). */
  async get(namespace: string, jobId: string, version: number, signal?: AbortSignal): Promise<Job | undefined> {
    const key = `${namespace}\u0000${jobId}\u0000${version}`;
    if (!this.specs.has(key)) {
      try {
        const { body } = await this.api.jobVersions(jobId, namespace, { signal });
        for (const v of body.Versions) this.remember(`${namespace}\u0000${jobId}\u0000${v.Version}`, v);
      } catch (err) {
        if (!(isNomadError(err) && err.status === 404)) throw err;
      }
      // Older than what Nomad keeps, or deleted: remember the miss too.
      if (!this.specs.has(key)) this.remember(key, null);
    }
    return this.specs.get(key) ?? undefined;
  }

  private remember(key: string, job: Job | null): void {
    if (this.specs.size >= LIMIT) this.specs.delete(this.specs.keys().next().value!);
    this.specs.set(key, job);
  }
}
