/**
 * The watcher's picture of the cluster, fed by two long-polls (deployments, allocations).
 * Reconciles read from here instead of asking Nomad per deployment, which keeps the number
 * of connections constant whatever the number of deployments.
 */
import type { AllocationStub, Deployment } from '../domain/nomad.js';

/** What changed in one full list, compared with the previous one, by ModifyIndex. */
export interface ListDiff<T> {
  changed: T[];
  removed: T[];
}

function versionKey(namespace: string, job: string, version: number): string {
  return `${namespace}\u0000${job}\u0000${version}`;
}

export class ClusterCache {
  private readonly deployments = new Map<string, Deployment>();
  private readonly allocs = new Map<string, AllocationStub>();
  /** Allocation IDs by namespace/job/version: list stubs carry no DeploymentID. */
  private readonly allocsByVersion = new Map<string, Set<string>>();

  replaceDeployments(list: Deployment[]): ListDiff<Deployment> {
    return replace(this.deployments, list);
  }

  replaceAllocations(list: AllocationStub[]): ListDiff<AllocationStub> {
    const diff = replace(this.allocs, list);
    this.allocsByVersion.clear();
    for (const a of this.allocs.values()) {
      const key = versionKey(a.Namespace, a.JobID, a.JobVersion);
      let ids = this.allocsByVersion.get(key);
      if (!ids) this.allocsByVersion.set(key, (ids = new Set()));
      ids.add(a.ID);
    }
    return diff;
  }

  deployment(id: string): Deployment | undefined {
    return this.deployments.get(id);
  }

  allDeployments(): Deployment[] {
    return [...this.deployments.values()];
  }

  /** Allocations of a deployment: same namespace, job and job version. */
  allocationsOf(d: Pick<Deployment, 'Namespace' | 'JobID' | 'JobVersion'>): AllocationStub[] {
    const ids = this.allocsByVersion.get(versionKey(d.Namespace, d.JobID, d.JobVersion)) ?? new Set<string>();
    return [...ids].map((id) => this.allocs.get(id)!).filter(Boolean);
  }

  /** Every allocation of a job, all versions. */
  allocationsOfJob(namespace: string, job: string): AllocationStub[] {
    return [...this.allocs.values()].filter((a) => a.Namespace === namespace && a.JobID === job);
  }

  /** Deployments an allocation belongs to (normally one). */
  deploymentsOfAlloc(a: Pick<AllocationStub, 'Namespace' | 'JobID' | 'JobVersion'>): Deployment[] {
    return this.allDeployments().filter((d) => d.Namespace === a.Namespace && d.JobID === a.JobID && d.JobVersion === a.JobVersion);
  }
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
