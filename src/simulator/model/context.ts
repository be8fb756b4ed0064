/**
 * What the scheduler, client and deployment watcher share: the state store and the simulated
 * cluster's resources (nodes, ports, application behaviour, the apps that run allocations).
 */
import { randomUUID } from 'node:crypto';

import { groupBehaviour, type AppBehaviour, type AppHost, type AppIdentity } from './app-host.js';
import { lookupGroup } from './jobspec.js';
import { nomadBehaviour, type NomadBehaviour } from './nomad-version.js';
import type { StateStore } from './store.js';
import { jobKey } from './store.js';
import type { JobVersion, PortAlloc, SimNode } from './types.js';

const NODE_COUNT = 3;

export class ModelContext {
  readonly nodes: SimNode[];
  private nextNode = 0;
  private nextPort = 21000;
  /** Application health for new allocations, set through the control API: `ns\0job` or `ns\0job\0version`. */
  readonly appHealthOverrides = new Map<string, boolean>();
  /** Error rate and latency set through the control API, keyed like appHealthOverrides. */
  readonly appBehaviourOverrides = new Map<string, AppBehaviour>();
  /** Per allocation, set through the control API; dropped when its app stops. */
  readonly allocBehaviourOverrides = new Map<string, AppBehaviour>();

  constructor(
    readonly store: StateStore,
    /** Runs an app per running allocation; null = no apps (ports are then mere numbers). */
    readonly apps: AppHost | null = null,
    /** Where Nomad releases differ, how this cluster behaves. */
    readonly behaviour: NomadBehaviour = nomadBehaviour(),
  ) {
    this.nodes = Array.from({ length: NODE_COUNT }, (_, i) => ({ ID: randomUUID(), Name: `sim-node-${i + 1}` }));
  }

  pickNode(): SimNode {
    const node = this.nodes[this.nextNode % this.nodes.length] as SimNode;
    this.nextNode++;
    return node;
  }

  /**
   * Ports per the group's Networks (ReservedPorts keep their value); by default one dynamic
   * `http` port. With apps, the allocation's app starts here, on the dynamic `http` port (else
   * the first dynamic one), whose real number the allocation carries; other dynamic ports are
   * mere numbers from 21000 up. Null when the app's port is not ready yet: the placement waits.
   */
  placementPorts(job: JobVersion, group: string, app: AppIdentity, healthy: boolean): PortAlloc[] | null {
    const g = lookupGroup(job, group);
    const networks = Array.isArray(g?.Networks) ? (g.Networks as Record<string, unknown>[]) : [];
    const declared: { Label: string; reserved: number | null; To: number }[] = [];
    for (const n of networks) {
      for (const p of (n.ReservedPorts as Record<string, unknown>[] | null) ?? []) {
        declared.push({ Label: String(p.Label), reserved: Number(p.Value), To: Number(p.To ?? 0) });
      }
      for (const p of (n.DynamicPorts as Record<string, unknown>[] | null) ?? []) {
        declared.push({ Label: String(p.Label), reserved: null, To: Number(p.To ?? 0) });
      }
    }
    if (declared.length === 0) declared.push({ Label: 'http', reserved: null, To: 0 });
    const dynamic = declared.filter((p) => p.reserved === null);
    const appSlot = this.apps ? (dynamic.find((p) => p.Label === 'http') ?? dynamic[0]) : undefined;
    let appPort: number | null = null;
    if (this.apps && appSlot) {
      appPort = this.apps.start(app, this.appBehaviourFor(job, group, app.allocId), healthy);
      if (appPort === null) {
        this.apps.awaitPorts();
        return null;
      }
    }
    return declared.map((p) => {
      if (p === appSlot && appPort !== null) return { Label: p.Label, Value: appPort, To: p.To || appPort, HostIP: '127.0.0.1' };
      return { Label: p.Label, Value: p.reserved ?? this.nextPort++, To: p.To, HostIP: '127.0.0.1' };
    });
  }

  /**
   * How an allocation's app behaves, the most specific setting winning: the task Config
   * (`sim_error_rate`, `sim_latency_ms`), then the control API's job, job version, allocation.
   */
  appBehaviourFor(job: JobVersion, group: string, allocId: string): AppBehaviour {
    const key = jobKey(job.Namespace, job.ID);
    return {
      ...groupBehaviour(lookupGroup(job, group)),
      ...this.appBehaviourOverrides.get(key),
      ...this.appBehaviourOverrides.get(`${key}\u0000${job.Version}`),
      ...this.allocBehaviourOverrides.get(allocId),
    };
  }

  /**
   * Whether a new allocation's application passes its checks: a control-API override for the job
   * version, else for the job, else `sim_healthy` in a task's Config, else true.
   */
  appHealthFor(job: JobVersion, group: string): boolean {
    const key = jobKey(job.Namespace, job.ID);
    const override = this.appHealthOverrides.get(`${key}\u0000${job.Version}`) ?? this.appHealthOverrides.get(key);
    if (override !== undefined) return override;
    const tasks = lookupGroup(job, group)?.Tasks ?? [];
    const flagged = tasks.some((t) => t.Config && ['false', false].includes(t.Config.sim_healthy as string | boolean));
    return !flagged;
  }
}
