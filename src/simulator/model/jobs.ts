/** Writing job versions: registration of a new version, and stability. */
import { specChanged } from './jobspec.js';
import type { StateStore, Txn } from './store.js';
import { jobKey } from './store.js';
import type { JobVersion } from './types.js';

/**
 * Stores `spec` as the job's next version (version 0 for a new job). The new version is not
 * stable until a deployment of it succeeds. Returns null when the spec equals the current job's:
 * Nomad then creates no version at all.
 */
export function insertJobVersion(store: StateStore, txn: Txn, spec: JobVersion): JobVersion | null {
  const existing = store.jobs.get(jobKey(spec.Namespace, spec.ID));
  if (existing && !existing.Stop && !specChanged(existing, spec)) return null;
  const job: JobVersion = {
    ...structuredClone(spec),
    Version: existing ? existing.Version + 1 : 0,
    Stable: false,
    Status: existing && !spec.Stop ? existing.Status : spec.Stop ? 'dead' : 'pending',
    StatusDescription: '',
    SubmitTime: Math.round(txn.now * 1e6),
    CreateIndex: existing?.CreateIndex ?? txn.index,
    ModifyIndex: txn.index,
    JobModifyIndex: txn.index,
  };
  store.putJobVersion(txn, job);
  return job;
}

export function setJobStability(txn: Txn, job: JobVersion, stable: boolean): void {
  if (job.Stable === stable) return;
  job.Stable = stable;
  job.ModifyIndex = txn.index;
  txn.touch('jobs', 'job_version');
}
