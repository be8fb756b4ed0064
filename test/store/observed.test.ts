import { expect, test } from '@jest/globals';
import { MemorySnapshotStore } from '../../src/store/memory.js';
import { ObservedStore, type SnapshotChange } from '../../src/store/observed.js';
import type { StoredSnapshot } from '../../src/machine/machine.js';
import type { SnapshotStore } from '../../src/store/store.js';

const snapshot = (id: string, updatedAt: number) => ({ machineVersion: 1, value: 'waiting', context: { deploymentId: id, updatedAt } }) as unknown as StoredSnapshot;

test('subscribers see each accepted change with what it replaced, and removals', async () => {
  const store = new ObservedStore(new MemorySnapshotStore(), () => undefined);
  const seen: SnapshotChange[] = [];
  const unsubscribe = store.subscribe((c) => seen.push(c));
  await store.put('d-1', snapshot('d-1', 1));
  await store.put('d-1', snapshot('d-1', 2));
  await store.delete('d-1');
  await store.delete('d-1');
  unsubscribe();
  await store.put('d-2', snapshot('d-2', 3));
  expect(seen.map((c) => [c.id, c.before?.context.updatedAt, c.after?.context.updatedAt])).toEqual([
    ['d-1', undefined, 1],
    ['d-1', 1, 2],
    ['d-1', 2, undefined],
  ]);
});

test('a refused write tells no one, and a throwing subscriber does not fail the write', async () => {
  const inner = new MemorySnapshotStore();
  const refusing: SnapshotStore = { ...inner, get: (id) => inner.get(id), list: () => inner.list(), delete: (id) => inner.delete(id), put: async () => Promise.reject(new Error('409 conflict')) };
  const errors: unknown[] = [];
  const seen: SnapshotChange[] = [];
  const observed = new ObservedStore(refusing, (err) => errors.push(err));
  observed.subscribe((c) => seen.push(c));
  await expect(observed.put('d-1', snapshot('d-1', 1))).rejects.toThrow('409');
  expect(seen).toEqual([]);

  const healthy = new ObservedStore(inner, (err) => errors.push(err));
  healthy.subscribe(() => {
    throw new Error('subscriber broke');
  });
  healthy.subscribe((c) => seen.push(c));
  await healthy.put('d-1', snapshot('d-1', 1));
  expect(await inner.get('d-1')).toBeDefined();
  expect(seen).toHaveLength(1);
  expect(String(errors[0])).toContain('subscriber broke');
});
