/**
 * The watcher's picture of the cluster: filled by full lists, then kept current either by more
 * full lists (blocking queries) or by single changes (the event stream). Allocations are kept as
 * AllocationView (the fields decisions read), not as the payloads they came in: at 10,000
 * deployments the rest of a stub (resources, descriptions, task states) is most of the memory.
 * Reconciles read from here instead of asking Nomad per deployment, which keeps the number
 * of connections constant whatever the number of deployments.
 */
import type { AllocatedResources, AllocationView, Deployment, NetworkResource } from '../domain/nomad.js';

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
  private readonly allocs = new Map<string, AllocationView>();
  /** List stubs carry no DeploymentID: allocations are found by namespace/job (and version). */
  private allocsByJob = new Map<string, AllocationView[]>();
  private deploymentsByJob = new Map<string, Deployment[]>();

  replaceDeployments(list: Deployment[]): ListDiff<Deployment> {
    const diff = replace(this.deployments, list);
    this.deploymentsByJob = byJob(this.deployments.values(), (d) => jobKey(d.Namespace, d.JobID));
    return diff;
  }

  replaceAllocations(list: AllocationView[]): ListDiff<AllocationView> {
    const diff = replace(this.allocs, list, allocationView);
    this.allocsByJob = byJob(this.allocs.values(), (a) => jobKey(a.Namespace, a.JobID));
    return diff;
  }

  /** Applies one changed deployment; false when the cache already had it at that index or later. */
  upsertDeployment(d: Deployment): boolean {
    return upsert(this.deployments, this.deploymentsByJob, d, jobKey(d.Namespace, d.JobID));
  }

  upsertAllocation(a: AllocationView): boolean {
    return upsert(this.allocs, this.allocsByJob, a, jobKey(a.Namespace, a.JobID), allocationView);
  }

  allocation(id: string): AllocationView | undefined {
    return this.allocs.get(id);
  }

  deployment(id: string): Deployment | undefined {
    return this.deployments.get(id);
  }

  allDeployments(): Deployment[] {
    return [...this.deployments.values()];
  }

  /** Allocations of a deployment: same namespace, job and job version. */
  allocationsOf(d: Pick<Deployment, 'Namespace' | 'JobID' | 'JobVersion'>): AllocationView[] {
    return this.allocationsOfJob(d.Namespace, d.JobID).filter((a) => a.JobVersion === d.JobVersion);
  }

  /** Every allocation of a job, all versions. */
  allocationsOfJob(namespace: string, job: string): AllocationView[] {
    return this.allocsByJob.get(jobKey(namespace, job)) ?? [];
  }

  /** Deployments an allocation belongs to (normally one). */
  deploymentsOfAlloc(a: Pick<AllocationView, 'Namespace' | 'JobID' | 'JobVersion'>): Deployment[] {
    return (this.deploymentsByJob.get(jobKey(a.Namespace, a.JobID)) ?? []).filter((d) => d.JobVersion === a.JobVersion);
  }
}

/** A change older than what is cached (a replayed or duplicated event) is ignored; a newer one is stored as `keep` makes it. */
function upsert<T extends { ID: string; ModifyIndex: number }>(map: Map<string, T>, index: Map<string, T[]>, item: T, key: string, keep: (item: T) => T = (x) => x): boolean {
  const before = map.get(item.ID);
  if (before && before.ModifyIndex >= item.ModifyIndex) return false;
  const kept = keep(item);
  map.set(item.ID, kept);
  const list = (index.get(key) ?? []).filter((x) => x.ID !== item.ID);
  list.push(kept);
  index.set(key, list);
  return true;
}

/** Unchanged items keep the object already cached; changed ones are stored as `keep` makes them. */
function replace<T extends { ID: string; ModifyIndex: number }>(map: Map<string, T>, list: T[], keep: (item: T) => T = (item) => item): ListDiff<T> {
  const changed: T[] = [];
  const seen = new Set<string>();
  for (const item of list) {
    seen.add(item.ID);
    const before = map.get(item.ID);
    if (before && before.ModifyIndex === item.ModifyIndex) continue;
    const kept = keep(item);
    changed.push(kept);
    map.set(item.ID, kept);
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

/** The fields of an allocation the cache keeps (see AllocationView), copied out of the payload. */
export function allocationView(a: AllocationView): AllocationView {
  const view: AllocationView = {
    ID: a.ID,
    Name: a.Name,
    Namespace: a.Namespace,
    NodeID: a.NodeID && nodeString(a.NodeID),
    NodeName: a.NodeName && nodeString(a.NodeName),
    JobID: a.JobID,
    JobVersion: a.JobVersion,
    TaskGroup: a.TaskGroup,
    DesiredStatus: a.DesiredStatus,
    ClientStatus: a.ClientStatus,
    ModifyIndex: a.ModifyIndex,
  };
  const status = a.DeploymentStatus;
  if (status) view.DeploymentStatus = { Healthy: status.Healthy ?? null, ...(status.Canary !== undefined ? { Canary: status.Canary } : {}) };
  const resources = networksOf(a.AllocatedResources);
  if (resources) view.AllocatedResources = resources;
  return view;
}

/**
 * AllocatedResources cut to what addresses are built from (src/checks/address.ts): shared ports,
 * the first shared network, task networks. A port whose label a shared port with a host IP
 * already answers is left out: that shared port always wins, and Nomad repeats every group port
 * in the group network, which was a third of an allocation's view.
 */
function networksOf(r: AllocatedResources | null | undefined): AllocatedResources | undefined {
  if (!r) return undefined;
  const out: AllocatedResources = {};
  const shared: NonNullable<AllocatedResources['Shared']> = {};
  const answered = new Set<string>();
  if (r.Shared?.Ports?.length) {
    shared.Ports = r.Shared.Ports.map(({ Label, Value, To, HostIP }) => ({ Label, Value, To, HostIP: HostIP && nodeString(HostIP) }));
    for (const p of shared.Ports) if (p.HostIP && p.Value > 0) answered.add(p.Label);
  }
  const sharedNet = r.Shared?.Networks?.[0] && networkOf(r.Shared.Networks[0], answered);
  if (sharedNet) shared.Networks = [sharedNet];
  if (shared.Ports || shared.Networks) out.Shared = shared;
  for (const [task, t] of Object.entries(r.Tasks ?? {})) {
    const networks = (t.Networks ?? []).map((n) => networkOf(n, answered)).filter((n) => n !== undefined);
    if (networks.length) (out.Tasks ??= {})[task] = { Networks: networks };
  }
  return out.Shared || out.Tasks ? out : undefined;
}

/** A network's ports not already answered, or undefined when none is left (a network without ports gives no address). */
function networkOf(n: NetworkResource, answered: ReadonlySet<string>): NetworkResource | undefined {
  const open = (ports: NetworkResource['DynamicPorts']) => ports?.filter((p) => !answered.has(p.Label)).map((p) => ({ ...p }));
  const dynamic = open(n.DynamicPorts);
  const reserved = open(n.ReservedPorts);
  if (!dynamic?.length && !reserved?.length) return undefined;
  const out: NetworkResource = {};
  if (n.IP !== undefined) out.IP = nodeString(n.IP);
  if (n.Mode !== undefined) out.Mode = n.Mode;
  if (dynamic?.length) out.DynamicPorts = dynamic;
  if (reserved?.length) out.ReservedPorts = reserved;
  return out;
}

/**
 * One copy of each node-level value (node ID and name, host IPs): every allocation of a node
 * repeats them, and JSON.parse makes a string per occurrence. Emptied past a bound, so node
 * churn over months cannot grow it without end.
 */
const nodeStrings = new Map<string, string>();
const NODE_STRINGS_MAX = 50_000;

function nodeString(value: string): string {
  const known = nodeStrings.get(value);
  if (known !== undefined) return known;
  if (nodeStrings.size >= NODE_STRINGS_MAX) nodeStrings.clear();
  nodeStrings.set(value, value);
  return value;
}
