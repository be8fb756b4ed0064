import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { ServiceCheckResult } from '../../src/domain/nomad.js';
import type { NomadChecksSource } from '../../src/domain/policy.js';
import { nomadChecksProvider, type AllocationChecksReader } from '../../src/checks/nomad.js';

const sample = JSON.parse(readFileSync(new URL('../fixtures/nomad-samples/GET_v1_allocation_ID_checks.json', import.meta.url), 'utf8')) as Record<string, ServiceCheckResult>;
const source: NomadChecksSource = { kind: 'nomad', timeoutMs: 1000 };

function check(id: string, name: string, status: ServiceCheckResult['Status'], output = ''): ServiceCheckResult {
  return { ID: id, Check: name, Group: 'web.api[0]', Mode: 'healthiness', Output: output, Service: 'api', Status: status, Timestamp: 1 };
}

describe('nomad checks provider', () => {
  test('Nomad’s sample answer -> checks variable', async () => {
    const calls: string[] = [];
    const read: AllocationChecksReader = async (allocId) => {
      calls.push(allocId);
      return sample;
    };
    const o = await nomadChecksProvider(read).observe(source, { allocId: 'a8198d79' });
    expect(calls).toEqual(['a8198d79']);
    expect(o).toEqual({
      kind: 'data',
      noData: false,
      variables: { checks: [{ name: 'redis_probe', status: 'success', mode: 'healthiness', output: 'nomad: tcp ok' }] },
    });
  });

  test('checks come sorted by name, whatever the map order', async () => {
    const read: AllocationChecksReader = async () => ({ z: check('z', 'ready', 'pending'), a: check('a', 'alive', 'failure', 'HTTP 500') });
    const o = await nomadChecksProvider(read).observe(source, { allocId: 'x' });
    expect(o.kind === 'data' && o.variables.checks).toEqual([
      { name: 'alive', status: 'failure', mode: 'healthiness', output: 'HTTP 500' },
      { name: 'ready', status: 'pending', mode: 'healthiness', output: '' },
    ]);
  });

  test('no checks -> noData', async () => {
    const o = await nomadChecksProvider(async () => ({})).observe(source, { allocId: 'x' });
    expect(o).toEqual({ kind: 'data', noData: true, variables: { checks: [] } });
  });

  test('a reader error -> error with its message', async () => {
    const o = await nomadChecksProvider(async () => {
      throw new Error('Nomad GET /v1/allocation/:id/checks: 403 Permission denied');
    }).observe(source, { allocId: 'x' });
    expect(o).toEqual({ kind: 'error', message: 'reading Nomad checks failed: Nomad GET /v1/allocation/:id/checks: 403 Permission denied' });
  });

  test('a reader that ignores its signal still times out', async () => {
    const o = await nomadChecksProvider(() => new Promise(() => undefined)).observe({ kind: 'nomad', timeoutMs: 20 }, { allocId: 'x' });
    expect(o).toEqual({ kind: 'error', message: 'Nomad did not answer within 20ms' });
  });

  test('the reader gets a signal that fires on timeout', async () => {
    let seen: AbortSignal | undefined;
    await nomadChecksProvider((_id, signal) => {
      seen = signal;
      return new Promise(() => undefined);
    }).observe({ kind: 'nomad', timeoutMs: 20 }, { allocId: 'x' });
    expect(seen?.aborted).toBe(true);
  });

  test('without an allocation -> error', async () => {
    const o = await nomadChecksProvider(async () => sample).observe(source, {});
    expect(o).toEqual({ kind: 'error', message: expect.stringContaining('scope: allocation') });
  });
});
