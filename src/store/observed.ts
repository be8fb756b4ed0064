/**
 * A snapshot store that tells subscribers about every change it accepts: the feed behind the
 * dashboard's live stream and the notifications. Subscribers see a change only once the inner
 * store has taken it, and a subscriber that throws never fails the reconcile that wrote.
 */
import type { StoredSnapshot } from '../machine/machine.js';
import type { SnapshotStore } from './store.js';

/** One accepted change: `after` undefined when the deployment was removed. */
export interface SnapshotChange {
  id: string;
  before?: StoredSnapshot;
  after?: StoredSnapshot;
}

export type SnapshotListener = (change: SnapshotChange) => void;

export class ObservedStore implements SnapshotStore {
  private readonly listeners = new Set<SnapshotListener>();

  constructor(
    private readonly inner: SnapshotStore,
    private readonly onListenerError: (err: unknown) => void,
  ) {}

  /** Returns the unsubscribe function. */
  subscribe(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(deploymentId: string): Promise<StoredSnapshot | undefined> {
    return this.inner.get(deploymentId);
  }

  list(): Promise<StoredSnapshot[]> {
    return this.inner.list();
  }

  async put(deploymentId: string, snapshot: StoredSnapshot): Promise<void> {
    const before = await this.inner.get(deploymentId);
    await this.inner.put(deploymentId, snapshot);
    this.emit({ id: deploymentId, ...(before ? { before } : {}), after: snapshot });
  }

  async delete(deploymentId: string): Promise<void> {
    const before = await this.inner.get(deploymentId);
    await this.inner.delete(deploymentId);
    if (before) this.emit({ id: deploymentId, before });
  }

  private emit(change: SnapshotChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
