/** The example policies in examples/policies/: each loads cleanly and does what its comments say. */
import { describe, expect, test } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { toMeasurement, type Evaluate } from '../../src/analysis/measure.js';
import type { CheckSpec, Policy } from '../../src/domain/policy.js';
import { compileCondition, evaluateCondition } from '../../src/policy/cel.js';
import { formatPolicyError, loadPolicies } from '../../src/policy/load.js';
import { selectPolicy } from '../../src/policy/select.js';
import type { SelectionTarget } from '../../src/policy/select.js';
import { renderTemplate } from '../../src/policy/template.js';
import type { TemplateVars } from '../../src/policy/template.js';

const dir = fileURLToPath(new URL('../../examples/policies/', import.meta.url));

async function load(file: string): Promise<Policy> {
  const r = await loadPolicies([`${dir}${file}`]);
  expect(r.errors.map(formatPolicyError)).toEqual([]);
  expect(r.policies).toHaveLength(1);
  return r.policies[0] as Policy;
}

function check(p: Policy, name: string): CheckSpec {
  const c = p.checks[name];
  if (!c) throw new Error(`no check ${name}`);
  return c;
}

/**
 * The measurement an observation with these variables gets, through the real rule
 * (`toMeasurement`, docs/policy.md "Measurements and check outcomes") and the real CEL, as the
 * daemon evaluates it. `noData` stands for an empty result or NaN.
 */
function verdict(c: CheckSpec, vars: Record<string, unknown>, noData = false): string {
  const evaluate: Evaluate = (expr, v) => {
    const compiled = compileCondition(expr, { provider: c.source.kind, scope: c.scope });
    if (!compiled.ok) throw new Error(compiled.error);
    return evaluateCondition(compiled.condition, v);
  };
  const m = toMeasurement({ kind: 'data', variables: vars, noData }, c, evaluate, 0);
  return m.result === 'error' ? `error: ${m.message ?? ''}` : m.result;
}

const VARS: TemplateVars = {
  namespace: 'prod',
  job: 'checkout-api',
  group: 'api',
  deploymentId: 'd1',
  jobVersion: 3,
  canaryAllocIds: ['c1', 'c2'],
  newAllocIds: ['c1', 'c2', 'n3'],
  stableAllocIds: ['s1'],
  alloc: { id: 'c1', name: 'payments-api.api[0]', node: 'n1', ip: '10.1.2.3', ports: { http: { port: 23456 } } },
};

function target(job: string, namespace = 'prod'): SelectionTarget {
  return { namespace, job, group: 'api', jobMeta: {}, groupMeta: {} };
}

const base = { namespace: 'prod', job: 'checkout-api', group: 'api' };

describe('example policies', () => {
  test('the default policy directory ships without any: `run` from a checkout acts on nothing the user did not write', async () => {
    const shipped = await loadPolicies([fileURLToPath(new URL('../../policies/', import.meta.url))]);
    expect(shipped).toMatchObject({ errors: [], policies: [] });
  });

  test('all examples load together, and none matches every job', async () => {
    const r = await loadPolicies([dir]);
    expect(r.errors.map(formatPolicyError)).toEqual([]);
    for (const p of r.policies) expect(p.match.jobs).not.toContain('*');
    expect(selectPolicy(r.policies, target('billing-api')).policy).toBeUndefined();
    expect(selectPolicy(r.policies, target('checkout-api')).policy?.name).toBe('checkout-canary');
    expect(selectPolicy(r.policies, target('payments-api')).policy?.name).toBe('payments-manual-health');
    expect(selectPolicy(r.policies, target('search-api')).policy?.name).toBe('search-dry-run');
    expect(selectPolicy(r.policies, target('search-api', 'dev')).policy).toBeUndefined();
    expect(selectPolicy(r.policies, target('web-frontend')).policy?.name).toBe('web-bake');
    expect(selectPolicy(r.policies, target('orders-api')).policy?.name).toBe('orders-notify');
  });

  test('canary-prometheus: error rate and p99 latency gate promotion, with bake, timeout and rollback', async () => {
    const p = await load('canary-prometheus.yaml');
    expect(p.canary).toEqual({
      analysis: ['error-rate', 'p99-latency'],
      bakeMs: 300_000,
      promote: 'auto',
      together: false,
      timeoutMs: 1_800_000,
      onTimeout: 'fail',
    });
    expect(p.rollout.analysis).toEqual(['rollout-error-rate']);
    expect(p.onFailure.rollback).toBe('auto');

    const errorRate = check(p, 'error-rate');
    const query = renderTemplate((errorRate.source as { query: string }).query, VARS);
    expect(query).toEqual({
      ok: true,
      text:
        '(sum(rate(http_requests_total{job="checkout-api",group="api",alloc_id=~"c1|c2",code=~"5.."}[1m])) or vector(0))' +
        ' / sum(rate(http_requests_total{job="checkout-api",group="api",alloc_id=~"c1|c2"}[1m]))',
    });
    expect(verdict(errorRate, { ...base, result: 0.002, results: [] })).toBe('pass');
    expect(verdict(errorRate, { ...base, result: 0, results: [] })).toBe('pass');
    expect(verdict(errorRate, { ...base, result: 0.03, results: [] })).toBe('inconclusive');
    expect(verdict(errorRate, { ...base, result: 0.2, results: [] })).toBe('fail');
    // "No traffic at all still gives no data (0/0), which is inconclusive, not a pass."
    expect(errorRate.noData).toBe('inconclusive');
    expect(verdict(errorRate, { ...base, results: [] }, true)).toBe('inconclusive');
    // Several series: `result` is absent, which the analysis cannot judge (an error, not a fail).
    expect(verdict(errorRate, { ...base, results: [{ labels: {}, value: 1 }, { labels: {}, value: 2 }] })).toMatch(/^error: pass expression: /);

    const latency = check(p, 'p99-latency');
    const latencyQuery = renderTemplate((latency.source as { query: string }).query, VARS);
    expect(latencyQuery.ok && latencyQuery.text).toContain('http_request_duration_seconds_bucket{job="checkout-api",group="api",alloc_id=~"c1|c2"}');
    expect(verdict(latency, { ...base, result: 0.12, results: [] })).toBe('pass');
    expect(verdict(latency, { ...base, result: 1, results: [] })).toBe('fail');

    const rollout = check(p, 'rollout-error-rate');
    const rolloutQuery = renderTemplate((rollout.source as { query: string }).query, VARS);
    expect(rolloutQuery.ok && rolloutQuery.text).toContain('alloc_id=~"c1|c2|n3"');
  });

  test('manual-health-http: an allocation-scope HTTP probe decides allocation health', async () => {
    const p = await load('manual-health-http.yaml');
    expect(p.health.checks).toEqual(['healthz']);
    const healthz = check(p, 'healthz');
    expect(healthz.scope).toBe('allocation');
    expect(healthz.source).toMatchObject({ kind: 'http', method: 'GET', timeoutMs: 2000 });
    expect(renderTemplate((healthz.source as { url: string }).url, VARS)).toEqual({ ok: true, text: 'http://10.1.2.3:23456/healthz' });
    const alloc = { id: 'c1', name: 'payments-api.api[0]', node: 'n1' };
    expect(verdict(healthz, { ...base, alloc, response: { status: 200, body: 'ok', headers: {}, ms: 3 } })).toBe('pass');
    expect(verdict(healthz, { ...base, alloc, response: { status: 503, body: 'down', headers: {}, ms: 3 } })).toBe('fail');
  });

  test('dry-run: decides but never writes', async () => {
    const p = await load('dry-run.yaml');
    expect(p.mode).toBe('dry-run');
    expect(p.match).toEqual({ namespaces: ['prod'], jobs: ['search-*'], groups: ['*'], meta: {} });
    expect(verdict(check(p, 'error-rate'), { ...base, result: 0.01, results: [] })).toBe('pass');
  });

  test('notify: a Slack channel for what went wrong and long holds of its check, a webhook for every decision, secrets from PROMOTER_VAR_*', async () => {
    const p = await load('notify.yaml');
    expect(p.notify).toEqual([
      { kind: 'slack', url: '{{ env.PROMOTER_VAR_SLACK_WEBHOOK_URL }}', headers: {}, prefix: '[{{ namespace }}]', on: ['failed', 'rolled_back', 'timeout', 'held'], heldAfterMs: 600_000, timeoutMs: 10_000 },
      {
        kind: 'webhook',
        url: 'https://deploys.example.com/hooks/nomad-promoter',
        headers: { Authorization: 'Bearer {{ env.PROMOTER_VAR_HOOK_TOKEN }}' },
        prefix: '',
        on: ['promoted', 'failed', 'rolled_back', 'timeout', 'human'],
        heldAfterMs: 300_000,
        timeoutMs: 5_000,
      },
    ]);
    const env = { PROMOTER_VAR_SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/x', PROMOTER_VAR_HOOK_TOKEN: 't' };
    expect(renderTemplate(p.notify![0]!.url, { ...VARS, env })).toEqual({ ok: true, text: env.PROMOTER_VAR_SLACK_WEBHOOK_URL });
    expect(renderTemplate(p.notify![0]!.prefix, VARS)).toEqual({ ok: true, text: '[prod]' });
    expect(p.canary).toMatchObject({ analysis: ['errors'], bakeMs: 120_000, timeoutMs: 1_800_000 });
    // held is promised: the check analysed can hold, errored or inconclusive.
    const errors = check(p, 'errors');
    expect(errors).toMatchObject({ consecutiveErrorLimit: 3, inconclusiveLimit: 2 });
    expect(verdict(errors, { ...base, result: 0.5, results: [] })).toBe('inconclusive');
  });

  test('bake-only: no checks, promote web-* canaries after a 30s bake', async () => {
    const p = await load('bake-only.yaml');
    expect(p.checks).toEqual({});
    expect(p.match.jobs).toEqual(['web-*']);
    expect(p.canary).toEqual({ analysis: [], bakeMs: 30_000, promote: 'auto', together: false, onTimeout: 'fail' });
    expect(p.mode).toBe('enforce');
  });
});
