import type { StoredSnapshot } from '../machine/machine.js';
import { migrateSnapshot } from '../machine/migrate.js';

/** A stored snapshot as the current machine reads it: older versions migrated; undefined if unreadable. */
export function readSnapshot(raw: string): StoredSnapshot | undefined {
  return migrateSnapshot(JSON.parse(raw) as StoredSnapshot);
}
