import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { allocAddress, allocPorts, allocTemplateVars, type AddressableAlloc } from '../../src/checks/address.js';

const sample = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/nomad-samples/${name}`, import.meta.url), 'utf8'));
const full = sample('GET_v1_allocation_ID.json') as AddressableAlloc;
const stubs = sample('GET_v1_allocations.json') as AddressableAlloc[];

const base: AddressableAlloc = { ID: 'c0ffee00-0000-0000-0000-000000000001', Name: 'web.api[0]', NodeID: 'node-uuid', NodeName: 'worker-1' };

describe('Nomad’s sample payloads', () => {
  test('full allocation (deprecated Resources networks only)', () => {
    expect(allocAddress(full, 'db')).toEqual({ ip: '127.0.0.1', port: 23116 });
    expect(allocTemplateVars(full)).toEqual({
      'alloc.id': 'a8198d79-cfdb-6593-a999-1e9adabcba2e',
      'alloc.name': 'example.cache[0]',
      'alloc.node': 'fb2170a8-257d-3c64-b14d-bc06cc94e34c', // no NodeName in this sample: the node ID
      'alloc.ip': '127.0.0.1',
      'alloc.port.db': '23116',
      'alloc.addr.db': '127.0.0.1:23116',
    });
  });

  test('list stub without resources: names only, no address', () => {
    const stub = stubs[0]!;
    expect(allocAddress(stub, 'db')).toBeUndefined();
    expect(allocTemplateVars(stub)).toEqual({
      'alloc.id': '5457f16d-0f87-8e6b-5e91-0c7da3a41eb7',
      'alloc.name': 'example.cache[0]',
      'alloc.node': 'linux',
    });
  });
});

describe('allocAddress order', () => {
  const sharedPorts: AddressableAlloc = {
    ...base,
    AllocatedResources: {
      Shared: {
        Ports: [
          { Label: 'http', Value: 25123, To: 8080, HostIP: '10.0.0.5' },
          { Label: 'metrics', Value: 25124, To: 9102, HostIP: '10.0.0.5' },
        ],
        Networks: [{ IP: '10.0.0.99', Mode: 'bridge', DynamicPorts: [{ Label: 'http', Value: 1, To: 8080 }], ReservedPorts: null }],
      },
      Tasks: { app: { Networks: [{ IP: '10.0.0.98', DynamicPorts: [{ Label: 'http', Value: 2 }] }] } },
    },
    NetworkStatus: { InterfaceName: 'eth0', Address: '172.26.64.3' },
  };

  test('Shared.Ports first: HostIP:Value, even in bridge mode', () => {
    expect(allocAddress(sharedPorts, 'http')).toEqual({ ip: '10.0.0.5', port: 25123 });
    expect(allocTemplateVars(sharedPorts)).toEqual({
      'alloc.id': base.ID,
      'alloc.name': 'web.api[0]',
      'alloc.node': 'worker-1',
      'alloc.ip': '10.0.0.5',
      'alloc.port.http': '25123',
      'alloc.addr.http': '10.0.0.5:25123',
      'alloc.port.metrics': '25124',
      'alloc.addr.metrics': '10.0.0.5:25124',
    });
  });

  test('else Shared.Networks[0]: IP with dynamic and reserved ports', () => {
    const alloc: AddressableAlloc = {
      ...base,
      AllocatedResources: {
        Shared: {
          Ports: null,
          Networks: [
            { IP: '192.168.1.20', DynamicPorts: [{ Label: 'http', Value: 31000 }], ReservedPorts: [{ Label: 'admin', Value: 9000 }] },
            { IP: '192.168.9.9', DynamicPorts: [{ Label: 'other', Value: 1 }] },
          ],
        },
      },
    };
    expect(allocAddress(alloc, 'http')).toEqual({ ip: '192.168.1.20', port: 31000 });
    expect(allocAddress(alloc, 'admin')).toEqual({ ip: '192.168.1.20', port: 9000 });
    expect(allocAddress(alloc, 'other')).toBeUndefined(); // only the first shared network
  });

  test('else task networks', () => {
    const alloc: AddressableAlloc = {
      ...base,
      AllocatedResources: { Shared: { Ports: [], Networks: [] }, Tasks: { web: { Networks: [{ IP: '10.1.1.1', DynamicPorts: [{ Label: 'http', Value: 20000 }] }] } } },
    };
    expect(allocAddress(alloc, 'http')).toEqual({ ip: '10.1.1.1', port: 20000 });
    expect(allocTemplateVars(alloc)['alloc.addr.http']).toBe('10.1.1.1:20000');
  });

  test('a port without a host IP takes the bridge address and the port inside it', () => {
    const alloc: AddressableAlloc = {
      ...base,
      AllocatedResources: { Shared: { Ports: [{ Label: 'http', Value: 0, To: 8080, HostIP: '' }] } },
      NetworkStatus: { InterfaceName: 'eth0', Address: '172.26.64.3' },
    };
    expect(allocAddress(alloc, 'http')).toEqual({ ip: '172.26.64.3', port: 8080 });
    expect(allocTemplateVars(alloc)['alloc.ip']).toBe('172.26.64.3');
  });

  test('no ports at all: alloc.ip is the bridge address', () => {
    const vars = allocTemplateVars({ ...base, NetworkStatus: { Address: '172.26.64.9' } });
    expect(vars['alloc.ip']).toBe('172.26.64.9');
    expect(Object.keys(vars).filter((k) => k.startsWith('alloc.addr.'))).toEqual([]);
  });

  test('IPv6 addresses are bracketed in alloc.addr', () => {
    const alloc: AddressableAlloc = { ...base, AllocatedResources: { Shared: { Ports: [{ Label: 'http', Value: 8080, To: 0, HostIP: 'fd00::5' }] } } };
    expect(allocAddress(alloc, 'http')).toEqual({ ip: 'fd00::5', port: 8080 });
    expect(allocTemplateVars(alloc)['alloc.addr.http']).toBe('[fd00::5]:8080');
  });

  test('allocPorts: every label once, the first source winning', () => {
    expect(allocPorts(sharedPorts)).toEqual({ http: { ip: '10.0.0.5', port: 25123 }, metrics: { ip: '10.0.0.5', port: 25124 } });
  });

  test('unknown label -> undefined', () => {
    expect(allocAddress(sharedPorts, 'grpc')).toBeUndefined();
  });
});
