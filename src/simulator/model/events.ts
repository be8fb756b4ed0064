/**
 * Nomad's event broker for the Deployment and Allocation topics: every committed write that
 * changed deployments or allocations becomes one frame of events at its raft index, kept in a
 * buffer of the last `event_buffer_size` frames. Payloads are serialised at commit, so a frame
 * shows each object as that write left it.
 */
import { allocToFull, deploymentToApi, omitEmpty } from './serialize.js';
import type { ChangedRow, StateStore } from './store.js';

/** Nomad's `event_buffer_size` default. */
export const DEFAULT_EVENT_BUFFER_SIZE = 100;

export interface StreamEvent {
  Topic: 'Deployment' | 'Allocation';
  Type: string;
  Key: string;
  Namespace: string;
  FilterKeys: string[] | null;
  Index: number;
  Payload: Record<string, unknown>;
}

export interface Frame {
  Index: number;
  Events: StreamEvent[];
}

export interface FrameSubscriber {
  frame(f: Frame): void;
  /** The server ends the subscription (a cut, or the simulator closing). */
  end(): void;
}

export class EventBuffer {
  private frames: Frame[] = [];
  private readonly subscribers = new Set<FrameSubscriber>();

  constructor(
    store: StateStore,
    private readonly size: number = DEFAULT_EVENT_BUFFER_SIZE,
  ) {
    if (!(Number.isInteger(size) && size > 0)) throw new Error(`eventBufferSize must be a positive integer, got ${size}`);
    store.onCommit((index, changed) => this.publish({ Index: index, Events: changed.map((row) => toEvent(index, row)) }));
  }

  /**
   * The frames a subscription at `index` starts with: all for 0; from the frame at `index` on
   * (inclusive) when buffered; from the oldest when `index` is older than the buffer (silently);
   * the latest frame when `index` is newer than everything buffered.
   */
  from(index: number): Frame[] {
    const last = this.frames[this.frames.length - 1];
    if (!last) return [];
    if (index > last.Index) return [last];
    return this.frames.filter((f) => f.Index >= index);
  }

  subscribe(s: FrameSubscriber): () => void {
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  /** Ends every open subscription, as a server does on a token change or snapshot restore. */
  cutAll(): number {
    const open = [...this.subscribers];
    this.subscribers.clear();
    for (const s of open) s.end();
    return open.length;
  }

  /** A snapshot restore: the buffer is emptied and every subscription ends. */
  restart(): void {
    this.frames = [];
    this.cutAll();
  }

  get open(): number {
    return this.subscribers.size;
  }

  private publish(f: Frame): void {
    this.frames.push(f);
    if (this.frames.length > this.size) this.frames.shift();
    for (const s of this.subscribers) s.frame(f);
  }
}

/** A row created by this write arrives as a plan result; later changes as updates. */
function toEvent(index: number, row: ChangedRow): StreamEvent {
  if ('deployment' in row) {
    const d = row.deployment;
    return {
      Topic: 'Deployment',
      Type: d.CreateIndex === index ? 'PlanResult' : 'DeploymentStatusUpdate',
      Key: d.ID,
      Namespace: d.Namespace,
      FilterKeys: [d.JobID],
      Index: index,
      Payload: { Deployment: deploymentToApi(d) },
    };
  }
  const a = row.alloc;
  // Nomad strips the job from allocation events (so there is no JobVersion either).
  const { Job: _job, ...alloc } = omitEmpty(allocToFull(a));
  return {
    Topic: 'Allocation',
    Type: a.CreateIndex === index ? 'PlanResult' : 'AllocationUpdated',
    Key: a.ID,
    Namespace: a.Namespace,
    FilterKeys: a.DeploymentID ? [a.JobID, a.DeploymentID] : [a.JobID],
    Index: index,
    Payload: { Allocation: alloc },
  };
}
