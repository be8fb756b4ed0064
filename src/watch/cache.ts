/**
 * The watcher's picture of the cluster: filled by full lists, then kept current either by more
 * full lists (blocking queries) or by single changes (the event stream).
 * Reconciles read from here instead of asking Nomad per deployment, which keeps the number
 * of connections constant whatever the number of deployments.
 */
import type { AllocationStub, Deployment } from '../domain/nomad.js';

/** What changed in one full list, compared with the previous one, by ModifyIndex. */
export interface ListDiff<T> {
  changed: T[];
  removed: T[];
}

function jobKey(namespace: string, job: string): string {
  return `${namespace}\u0000${job}`;
}

/** Items grouped by namespace/job, so that per-job lookups never scan the whole cluster. */
function byJob<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

export class ClusterCache {
  private readonly deployments = new Map<string, Deployment>();
  private readonly allocs = new Map<string, AllocationStub>();
  /** List stubs carry no DeploymentID: allocations are found by namespace/job (and version). */
  private allocsByJob = new Map<string, AllocationStub[]>();
  private deploymentsByJob = new Map<string, Deployment[]>();

  replaceDeployments(list: Deployment[]): ListDiff<Deployment> {
    const diff = replace(this.deployments, list);
    this.deploymentsByJob = byJob(this.deployments.values(), (d) => jobKey(d.Namespace, d.JobID));
    return diff;
  }

  replaceAllocations(list: AllocationStub[]): ListDiff<AllocationStub> {
    const diff = replace(this.allocs, list);
    this.allocsByJob = byJob(this.allocs.values(), (a) => jobKey(a.Namespace, a.JobID));
    return diff;
  }

  /** Applies one changed deployment; false when the cache already had it at that index or later. */
  upsertDeployment(d: Deployment): boolean {
    return upsert(this.deployments, this.deploymentsByJob, d, jobKey(d.Namespace, d.JobID));
  }

  upsertAllocation(a: AllocationStub): boolean {
    return upsert(this.allocs, this.allocsByJob, a, jobKey(a.Namespace, a.JobID));
  }

  allocation(id: string): AllocationStub | undefined {
    return this.allocs.get(id);
  }

  deployment(id: string): Deployment | undefined {
    return this.deployments.get(id);
  }

  allDeployments(): Deployment[] {
    return [...this.deployments.values()];
  }

  /** Allocations of a deployment: same namespace, job and job version. */
  allocationsOf(d: Pick<Deployment, 'Namespace' | 'JobID' | 'JobVersion'>): AllocationStub[] {
    return this.allocationsOfJob(d.Namespace, d.JobID).filter((a) => a.JobVersion === d.JobVersion);
  }

  /** Every allocation of a job, all versions. */
  allocationsOfJob(namespace: string, job: string): AllocationStub[] {
    return this.allocsByJob.get(jobKey(namespace, job)) ?? [];
  }

  /** Deployments an allocation belongs to (normally one). */
  deploymentsOfAlloc(a: Pick<AllocationStub, 'Namespace' | 'JobID' | 'JobVersion'>): Deployment[] {
    return (this.deploymentsByJob.get(jobKey(a.Namespace, a.JobID)) ?? []).filter((d) => d.JobVersion === a.JobVersion);
  }
}

/** A change older than what is cached (a replayed or duplicated event) is ignored. */
function upsert<T extends { ID: string; ModifyIndex: number }>(map: Map<string, T>, index: Map<string, T[]>, item: T, key: string): boolean {
  const before = map.get(item.ID);
  if (before && before.ModifyIndex >= item.ModifyIndex) return false;
  map.set(item.ID, item);
  const list = (index.get(key) ?? []).filter((x) => x.ID !== item.ID);
  list.push(item);
  index.set(key, list);
  return true;
}

function replace<T extends { ID: string; ModifyIndex: number }>(map: Map<string, T>, list: T[]): ListDiff<T> {
  const changed: T[] = [];
  const seen = new Set<string>();
  for (const item of list) {
    seen.add(item.ID);
    const before = map.get(item.ID);
    if (!before || before.ModifyIndex !== item.ModifyIndex) changed.push(item);
    map.set(item.ID, item);
  }
  const removed: T[] = [];
  for (const [id, item] of map) {
    if (!seen.has(id)) {
      removed.push(item);
      map.delete(id);
    }
  }
  return { changed, removed };
}
