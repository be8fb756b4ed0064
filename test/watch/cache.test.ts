import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';

import { allocTemplateVars } from '../../src/checks/address.js';
import type { AllocationStub } from '../../src/domain/nomad.js';
import { ClusterCache } from '../../src/watch/cache.js';

const stubs = JSON.parse(readFileSync(new URL('../fixtures/nomad-samples/GET_v1_allocations.json', import.meta.url), 'utf8')) as AllocationStub[];

/** Nomad's sample stub as `resources=true` sends it: AllocatedResources with CPU, memory, disk and networks. */
const withResources = {
  ...stubs[0]!,
  AllocatedResources: {
    Shared: { DiskMB: 300, Networks: [{ Mode: 'host', IP: '10.0.0.7', CIDR: '', Device: '', MBits: 0, DynamicPorts: [{ Label: 'db', Value: 23116, To: 6379, HostNetwork: 'default' }] }], Ports: [{ Label: 'db', Value: 23116, To: 6379, HostIP: '10.0.0.7' }] },
    Tasks: { redis: { Cpu: { CpuShares: 500 }, Memory: { MemoryMB: 256, MemoryMaxMB: 0 }, Networks: null, Devices: null } },
  },
} as unknown as AllocationStub;

describe('ClusterCache', () => {
  test('keeps of an allocation what decisions and addresses read, not the payload', () => {
    const cache = new ClusterCache();
    cache.replaceAllocations([withResources]);
    const kept = cache.allocation(withResources.ID)!;
    expect(Object.keys(kept).sort()).toEqual(
      ['AllocatedResources', 'ClientStatus', 'DeploymentStatus', 'DesiredStatus', 'ID', 'JobID', 'JobVersion', 'ModifyIndex', 'Name', 'Namespace', 'NodeID', 'NodeName', 'TaskGroup'].sort(),
    );
    expect(kept.DeploymentStatus).toEqual({ Healthy: true, Canary: false });
    // The group network repeats the shared port, which always wins: only the shared port is kept.
    expect(kept.AllocatedResources).toEqual({ Shared: { Ports: [{ Label: 'db', Value: 23116, To: 6379, HostIP: '10.0.0.7' }] } });
    expect(allocTemplateVars(kept)).toEqual(allocTemplateVars(withResources));
  });

  test.each([
    ['a shared port without a host IP (bridge): the network port stays', { Shared: { Ports: [{ Label: 'http', Value: 0, To: 8080 }], Networks: [{ Mode: 'bridge', IP: '10.0.0.9', DynamicPorts: [{ Label: 'http', Value: 25001, To: 8080 }] }] } }],
    ['task networks with other labels stay, an answered one goes', { Shared: { Ports: [{ Label: 'http', Value: 25001, HostIP: '10.0.0.9' }] }, Tasks: { b: { Networks: [{ IP: '10.0.0.9', DynamicPorts: [{ Label: 'http', Value: 1 }, { Label: 'admin', Value: 25002 }] }] }, a: { Networks: [{ IP: '10.0.0.8', ReservedPorts: [{ Label: 'metrics', Value: 9100 }] }] } } }],
    ['no shared ports: the first shared network only', { Shared: { Networks: [{ IP: '10.0.0.5', DynamicPorts: [{ Label: 'http', Value: 25003 }] }, { IP: '10.0.0.6', DynamicPorts: [{ Label: 'other', Value: 1 }] }] } }],
  ])('%s, and every address is the one the payload gives', (_name, resources) => {
    const alloc = { ...stubs[0]!, AllocatedResources: resources } as unknown as AllocationStub;
    const cache = new ClusterCache();
    cache.replaceAllocations([alloc]);
    const kept = cache.allocation(alloc.ID)!;
    expect(allocTemplateVars(kept)).toEqual(allocTemplateVars(alloc));
    expect(Object.keys(allocTemplateVars(kept)).filter((k) => k.startsWith('alloc.port.')).length).toBeGreaterThan(0);
  });

  test('an unchanged allocation in the next list is not reported, a changed one is, in its kept form', () => {
    const cache = new ClusterCache();
    cache.replaceAllocations([withResources]);
    expect(cache.replaceAllocations([{ ...withResources }]).changed).toEqual([]);
    const changed = cache.replaceAllocations([{ ...withResources, ModifyIndex: withResources.ModifyIndex + 1, ClientStatus: 'failed' }]).changed;
    expect(changed.map((a) => [a.ID, a.ClientStatus, 'TaskStates' in a])).toEqual([[withResources.ID, 'failed', false]]);
    expect(cache.allocationsOfJob(withResources.Namespace, withResources.JobID)).toEqual(changed);
  });

  test('an allocation event is kept in the same form', () => {
    const cache = new ClusterCache();
    expect(cache.upsertAllocation(withResources)).toBe(true);
    expect('EvalID' in cache.allocation(withResources.ID)!).toBe(false);
    expect(cache.upsertAllocation(withResources)).toBe(false);
  });
});
