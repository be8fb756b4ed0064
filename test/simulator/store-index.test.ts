/** The store's per-job lookups agree with its tables, however rows were inserted. */
import { describe, expect, test } from '@jest/globals';

import { StateStore } from '../../src/simulator/model/store.js';
import type { Alloc, Deployment } from '../../src/simulator/model/types.js';

const alloc = (id: string, job: string, deployment = '', namespace = 'default') =>
  ({ ID: id, Namespace: namespace, JobID: job, DeploymentID: deployment }) as Alloc;
const deployment = (id: string, job: string, createIndex: number) => ({ ID: id, Namespace: 'default', JobID: job, CreateIndex: createIndex }) as Deployment;

describe('per-job lookups', () => {
  test('in insertion order, by namespace and job, also for rows set on the maps directly', () => {
    const store = new StateStore();
    store.addAlloc(alloc('a1', 'web', 'd1'));
    store.addAlloc(alloc('b1', 'api'));
    store.allocs.set('a2', alloc('a2', 'web', 'd2'));
    store.addAlloc(alloc('a3', 'web', 'd1'));
    store.addAlloc(alloc('x1', 'web', '', 'other'));
    store.addDeployment(deployment('d1', 'web', 5));
    store.deployments.set('d2', deployment('d2', 'web', 9));
    store.addDeployment(deployment('d3', 'web', 9));

    expect(store.allocsOfJob('default', 'web').map((a) => a.ID)).toEqual(['a1', 'a2', 'a3']);
    expect(store.allocsOfJob('other', 'web').map((a) => a.ID)).toEqual(['x1']);
    expect(store.allocsOfJob('default', 'nope')).toEqual([]);
    expect(store.allocsOfDeployment('d1').map((a) => a.ID)).toEqual(['a1', 'a3']);
    expect(store.allocsOfDeployment('d2').map((a) => a.ID)).toEqual(['a2']);
    // Newest first; the later insertion wins a tie.
    expect(store.deploymentsOfJob('default', 'web').map((d) => d.ID)).toEqual(['d3', 'd2', 'd1']);

    store.allocs.delete('a1');
    expect(store.allocsOfJob('default', 'web').map((a) => a.ID)).toEqual(['a2', 'a3']);
  });
});
