/**
 * Snapshots written by an older machine version, brought to the current one on read, so that a
 * promoter upgraded mid-deployment continues where the old one was (its bake, its measurements,
 * the effects already done) instead of starting over.
 */
import { MACHINE_VERSION, type DeploymentState, type StoredSnapshot } from './machine.js';
import type { GroupTrack, PromoterContext } from './types.js';

/** Version 1: one flat label (`waiting`, `baking`, `holding`, `promoted`, `failing`, `done`, `ignored`), no group states. */
type V1Snapshot = { machineVersion: 1; value: string; context: PromoterContext & { groups: Record<string, Omit<GroupTrack, 'state'>> } };

/** The snapshot at the current version; undefined for one this promoter cannot read (a newer version). */
export function migrateSnapshot(stored: { machineVersion: number; value: unknown; context: unknown }): StoredSnapshot | undefined {
  if (stored.machineVersion === MACHINE_VERSION) return stored as StoredSnapshot;
  if (stored.machineVersion === 1) return fromV1(stored as V1Snapshot);
  return undefined;
}

function fromV1(old: V1Snapshot): StoredSnapshot {
  const failed = old.context.done?.['fail'] !== undefined;
  const owed = old.context.rollbackDue !== undefined && old.context.done?.['revert'] === undefined;
  const value: DeploymentState =
    old.value === 'ignored' ? 'ignored' : old.value === 'done' ? (failed ? 'failed' : 'done') : failed ? (owed ? 'rolling-back' : 'failed') : 'active';
  // A group's place is re-read from its data on the next observation: `waiting` decides from
  // scratch (canaries healthy since, checks' phases), so a bake keeps its start and nothing done is redone.
  const groups = Object.fromEntries(
    Object.entries(old.context.groups ?? {}).map(([name, g]) => [name, { ...g, state: failed ? 'failed' : g.promoted ? 'promoted' : g.canary ? 'waiting' : 'rollout' }]),
  );
  return { machineVersion: MACHINE_VERSION, value, context: { ...old.context, groups } };
}
