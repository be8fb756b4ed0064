/**
 * What the scheduler, client and deployment watcher share: the state store and the simulated
 * cluster's resources (nodes, ports, application behaviour).
 */
import { randomUUID } from 'node:crypto';

import { lookupGroup } from './jobspec.js';
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

  constructor(readonly store: StateStore) {
    this.nodes = Array.from({ length: NODE_COUNT }, (_, i) => ({ ID: randomUUID(), Name: `sim-node-${i + 1}` }));
  }

  pickNode(): SimNode {
    const node = this.nodes[this.nextNode % this.nodes.length] as SimNode;
    this.nextNode++;
    return node;
  }

  /** Ports per the group's Networks (ReservedPorts keep their value); by default one dynamic `http` port. */
  allocatePorts(job: JobVersion, group: string): PortAlloc[] {
    const g = lookupGroup(job, group);
    const networks = Array.isArray(g?.Networks) ? (g.Networks as Record<string, unknown>[]) : [];
    const ports: PortAlloc[] = [];
    for (const n of networks) {
      for (const p of (n.ReservedPorts as Record<string, unknown>[] | null) ?? []) {
        ports.push({ Label: String(p.Label), Value: Number(p.Value), To: Number(p.To ?? 0), HostIP: '127.0.0.1' });
      }
      for (const p of (n.DynamicPorts as Record<string, unknown>[] | null) ?? []) {
        ports.push({ Label: String(p.Label), Value: this.nextPort++, To: Number(p.To ?? 0), HostIP: '127.0.0.1' });
      }
    }
    if (ports.length === 0) ports.push({ Label: 'http', Value: this.nextPort++, To: 0, HostIP: '127.0.0.1' });
    return ports;
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
