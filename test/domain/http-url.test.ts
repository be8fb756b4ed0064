/**
 * One URL rule everywhere the promoter takes a URL: the daemon's configuration, NOMAD_ADDR,
 * policy validation, and both providers when a check runs agree on what is a valid http(s) URL,
 * and none of them quotes a credential back.
 */
import { describe, expect, test } from '@jest/globals';
import { resolveRunConfig } from '../../src/app/config.js';
import { httpProvider } from '../../src/checks/http.js';
import { prometheusProvider } from '../../src/checks/prometheus.js';
import { providersFor } from '../../src/checks/provider.js';
import { readNomadConfig } from '../../src/nomad/config.js';
import { formatPolicyError, parsePolicies } from '../../src/policy/load.js';

const SECRET = 's3cret-in-url';

/** What each place says about one URL: undefined when it accepts it. */
async function verdicts(url: string): Promise<Record<string, string | undefined>> {
  const config = resolveRunConfig({ 'prometheus-addr': url }, {}).errors.find((e) => e.startsWith('--prometheus-addr'));
  const nomad = readNomadConfig({ NOMAD_ADDR: url }).errors.find((e) => e.startsWith('NOMAD_ADDR'));
  const policy = (address: string) =>
    parsePolicies(`name: p\nmatch:\n  jobs: ["x"]\nchecks:\n  c:\n    prometheus:\n      address: "${address}"\n      query: "vector(1)"\n    pass: "result < 1"\n`, 'p.yaml')
      .errors.map(formatPolicyError).find((e) => e.includes('address'));
  let providers: string | undefined;
  try {
    providersFor({ prometheusAddress: url, allocationChecks: async () => ({}) as never });
  } catch (err) {
    providers = (err as Error).message;
  }
  // Port 9 on loopback refuses: a valid URL gets as far as connecting and fails there instead.
  const prom = await prometheusProvider().observe({ kind: 'prometheus', address: url, query: 'vector(1)', timeoutMs: 500 }, {});
  const http = await httpProvider().observe({ kind: 'http', url, method: 'GET', headers: {}, body: '', timeoutMs: 500 }, {});
  const rejected = (o: { kind: string; message?: string }) => (o.kind === 'error' && /not a URL|not http|percent-encoding/.test(o.message ?? '') ? o.message : undefined);
  return { config, nomad, policy: policy(url), providers, prometheus: rejected(prom), http: rejected(http) };
}

describe('one http(s) URL rule', () => {
  test.each([
    ['a space in the host', `http://user:${SECRET}@exa mple:9090`, /not a URL/],
    ['no scheme', 'prometheus:9090', /not http:\/\/ or https:\/\//],
    ['another scheme', `ftp://user:${SECRET}@example/`, /not http:\/\/ or https:\/\//],
    ['no host', 'http://', /not a URL/],
    ['plain words', 'not a url', /not a URL/],
    ['a stray % in the password', `http://user:${SECRET}%zz@example:9090`, /not valid percent-encoding/],
  ])('%s: every place rejects it, naming itself, without quoting credentials', async (_name, url, problem) => {
    const v = await verdicts(url);
    expect(v.config).toMatch(/^--prometheus-addr \/ PROMOTER_PROMETHEUS_ADDR: /);
    expect(v.nomad).toMatch(/^NOMAD_ADDR: /);
    expect(v.policy).toMatch(/^p\.yaml:\d+:\d+: checks\.c\.prometheus\.address: /);
    for (const [place, message] of Object.entries(v)) {
      expect([place, message]).toEqual([place, expect.stringMatching(problem)]);
      expect(message).not.toContain(SECRET);
    }
  });

  test.each(['http://127.0.0.1:9', 'https://[::1]:9/prefix', 'http://localhost:9'])('%s: every place accepts it', async (url) => {
    expect(await verdicts(url)).toEqual({ config: undefined, nomad: undefined, policy: undefined, providers: undefined, prometheus: undefined, http: undefined });
  });
});
