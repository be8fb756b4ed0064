import type { StoredSnapshot } from '../machine/machine.js';
import { readSnapshot } from './read.js';
import type { SnapshotStore } from './store.js';

/** Snapshots in process memory. Values are deep-copied so callers never share state with the store. */
export class MemorySnapshotStore implements SnapshotStore {
  private readonly snapshots = new Map<string, string>();

  async get(deploymentId: string): Promise<StoredSnapshot | undefined> {
    const raw = this.snapshots.get(deploymentId);
    return raw === undefined ? undefined : readSnapshot(raw);
  }

  async put(deploymentId: string, snapshot: StoredSnapshot): Promise<void> {
    this.snapshots.set(deploymentId, JSON.stringify(snapshot));
  }

  async delete(deploymentId: string): Promise<void> {
    this.snapshots.delete(deploymentId);
  }

  async list(): Promise<StoredSnapshot[]> {
    return [...this.snapshots.values()].flatMap((raw) => readSnapshot(raw) ?? []);
  }
}
