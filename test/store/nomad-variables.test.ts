import { describe, expect, test } from '@jest/globals';
import type { StoredSnapshot } from '../../src/machine/machine.js';
import { persistDeployment, startDeployment } from '../../src/machine/machine.js';
import { NomadVariablesStore } from '../../src/store/nomad-variables.js';
import { SnapshotConflictError } from '../../src/store/store.js';
import { FakeNomad } from '../support/fake-nomad.js';

const snapshot = (id: string, note = ''): StoredSnapshot => {
  const s = persistDeployment(startDeployment({ deploymentId: id, namespace: 'default', job: 'web', jobVersion: 1, now: 1 }));
  return { ...s, context: { ...s.context, warnings: note ? [note] : [] } };
};

describe('NomadVariablesStore', () => {
  test('a new store (a restarted promoter) loads what the previous one wrote', async () => {
    const nomad = new FakeNomad();
    const first = new NomadVariablesStore(nomad, { namespace: 'ops' });
    await first.put('d-1', snapshot('d-1'));
    await first.put('d-2', snapshot('d-2'));
    await first.delete('d-2');
    expect([...nomad.variables.keys()]).toEqual(['ops/nomad-promoter/deployments/d-1']);

    const second = new NomadVariablesStore(nomad, { namespace: 'ops' });
    expect(await second.load()).toBe(1);
    expect(await second.get('d-1')).toEqual(snapshot('d-1'));
    expect((await second.list()).map((s) => s.context.deploymentId)).toEqual(['d-1']);
  });

  test('writes use check-and-set and skip unchanged snapshots', async () => {
    const nomad = new FakeNomad();
    const store = new NomadVariablesStore(nomad, { namespace: 'default' });
    await store.put('d-1', snapshot('d-1'));
    await store.put('d-1', snapshot('d-1'));
    await store.put('d-1', snapshot('d-1', 'changed'));
    const writes = nomad.calls.filter((c) => c.method === 'writeVariable');
    expect(writes.map((c) => c.args[1])).toEqual([0, nomad.variables.get('default/nomad-promoter/deployments/d-1')!.ModifyIndex - 1]);
  });

  test('a conflicting write (the variable changed behind our back) never overwrites: memory takes theirs and the caller is told to decide again', async () => {
    const nomad = new FakeNomad();
    const store = new NomadVariablesStore(nomad, { namespace: 'default' });
    await store.put('d-1', snapshot('d-1'));
    await nomad.writeVariable('nomad-promoter/deployments/d-1', 'default', { snapshot: JSON.stringify(snapshot('d-1', 'other')) });
    const err = await store.put('d-1', snapshot('d-1', 'mine')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotConflictError);
    expect(err).toMatchObject({ deploymentId: 'd-1' });
    expect((await store.get('d-1'))!.context.warnings).toEqual(['other']);
    const again = new NomadVariablesStore(nomad, { namespace: 'default' });
    await again.load();
    expect((await again.get('d-1'))!.context.warnings).toEqual(['other']);
    // Decided again from theirs, the next write goes through against the index just read.
    await store.put('d-1', snapshot('d-1', 'redecided'));
    await again.load();
    expect((await again.get('d-1'))!.context.warnings).toEqual(['redecided']);
  });

  test('a conflict on a snapshot deleted behind our back forgets it; load replaces what memory held', async () => {
    const nomad = new FakeNomad();
    const store = new NomadVariablesStore(nomad, { namespace: 'default' });
    await store.put('d-1', snapshot('d-1'));
    await store.put('d-2', snapshot('d-2'));
    await nomad.deleteVariable('nomad-promoter/deployments/d-1', 'default');
    await expect(store.put('d-1', snapshot('d-1', 'mine'))).rejects.toBeInstanceOf(SnapshotConflictError);
    expect(await store.get('d-1')).toBeUndefined();
    await nomad.deleteVariable('nomad-promoter/deployments/d-2', 'default');
    expect(await store.load()).toBe(0);
    expect(await store.list()).toEqual([]);
  });

  test('large snapshots are gzipped under Nomad\'s size limit and read back', async () => {
    const nomad = new FakeNomad();
    const big = snapshot('d-1', 'x'.repeat(200_000));
    await new NomadVariablesStore(nomad, { namespace: 'default' }).put('d-1', big);
    const stored = nomad.variables.get('default/nomad-promoter/deployments/d-1')!;
    expect(Object.keys(stored.Items)).toEqual(['snapshotGzip']);
    expect(stored.Items.snapshotGzip!.length).toBeLessThan(64 * 1024);
    const again = new NomadVariablesStore(nomad, { namespace: 'default' });
    await again.load();
    expect(await again.get('d-1')).toEqual(big);
  });

  test('an unreadable variable is reported and skipped, not fatal', async () => {
    const nomad = new FakeNomad();
    await nomad.writeVariable('nomad-promoter/deployments/broken', 'default', { snapshot: '{not json' });
    const unreadable: string[] = [];
    const store = new NomadVariablesStore(nomad, { namespace: 'default', onUnreadable: (path) => unreadable.push(path) });
    expect(await store.load()).toBe(0);
    expect(unreadable).toEqual(['nomad-promoter/deployments/broken']);
  });
});
