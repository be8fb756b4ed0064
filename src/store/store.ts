import type { StoredSnapshot } from '../machine/machine.js';

/** Where machine snapshots live between reconciles. Memory now; Nomad Variables later. */
export interface SnapshotStore {
  get(deploymentId: string): Promise<StoredSnapshot | undefined>;
  put(deploymentId: string, snapshot: StoredSnapshot): Promise<void>;
  delete(deploymentId: string): Promise<void>;
  list(): Promise<StoredSnapshot[]>;
}
