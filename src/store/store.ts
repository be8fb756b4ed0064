import type { StoredSnapshot } from '../machine/machine.js';

/** Where machine snapshots live between reconciles. Memory now; Nomad Variables later. */
export interface SnapshotStore {
  get(deploymentId: string): Promise<StoredSnapshot | undefined>;
  put(deploymentId: string, snapshot: StoredSnapshot): Promise<void>;
  delete(deploymentId: string): Promise<void>;
  list(): Promise<StoredSnapshot[]>;
}

/**
 * The stored snapshot changed under us (check-and-set refused): memory now holds Nomad's copy,
 * and the reconcile that wrote is retried so it decides again from that copy.
 */
export class SnapshotConflictError extends Error {
  override readonly name = 'SnapshotConflictError';
  constructor(readonly deploymentId: string) {
    super(`the stored snapshot of deployment ${deploymentId} was changed by another writer; deciding again from it`);
  }
}
