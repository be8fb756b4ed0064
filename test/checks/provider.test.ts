import { describe, expect, test } from '@jest/globals';
import { CHECK_KINDS, providersFor } from '../../src/checks/provider.js';
import type { CheckSource } from '../../src/domain/policy.js';

const providers = providersFor({ prometheusAddress: 'http://127.0.0.1:9', allocationChecks: async () => ({}) });

describe('providersFor', () => {
  test('one provider per kind', () => {
    for (const kind of CHECK_KINDS) expect(providers.get(kind).kind).toBe(kind);
    expect([providers.prometheus.kind, providers.http.kind, providers.nomad.kind]).toEqual(['prometheus', 'http', 'nomad']);
  });

  test.each(['datadog', '', 'toString', '__proto__'])('unknown kind %j fails loudly', (kind) => {
    expect(() => providers.get(kind)).toThrow(/unknown check source kind/);
    expect(() => providers.observe({ kind } as unknown as CheckSource, {})).toThrow(/unknown check source kind/);
  });

  test('an unparsable default Prometheus address fails at once', () => {
    const make = (prometheusAddress: string) => () => providersFor({ prometheusAddress, allocationChecks: async () => ({}) });
    expect(make('http://prometheus:9090')).not.toThrow();
    expect(make('not a url')).toThrow(/--prometheus-addr/);
    expect(make('prometheus:9090')).toThrow(/--prometheus-addr/);
  });

  test('observe dispatches on the source kind', async () => {
    const o = await providers.observe({ kind: 'nomad', timeoutMs: 100 }, { allocId: 'a1' });
    expect(o).toEqual({ kind: 'data', noData: true, variables: { checks: [] } });
  });

  test('a reader that throws synchronously still yields an error observation', async () => {
    const p = providersFor({
      allocationChecks: () => {
        throw new Error('bug in reader');
      },
    });
    expect(await p.nomad.observe({ kind: 'nomad', timeoutMs: 100 }, { allocId: 'a1' })).toEqual({ kind: 'error', message: expect.stringContaining('bug in reader') });
  });
});
