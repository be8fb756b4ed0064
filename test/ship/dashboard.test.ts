/**
 * The Grafana dashboard queries only metrics that docs/metrics.md documents (the single source
 * of truth for exported metrics), its PromQL parses, and it takes the data source as a variable.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, test, expect } from '@jest/globals';
import { documentedMetrics } from './lib/docs-tables.js';
import type { DocumentedMetric } from './lib/docs-tables.js';
import { metricNames, withoutGrafanaVariables } from './lib/promql.js';
import { dashboardQueries, datasourceRefs } from './lib/dashboard.js';

const documented = documentedMetrics(path.resolve('docs/metrics.md'));
const dashboardFile = path.resolve('deploy/grafana/nomad-promoter.json');
const dashboard: unknown = JSON.parse(fs.readFileSync(dashboardFile, 'utf8'));

/** The documented metric a queried series name belongs to (histogram series map to their base). */
function documentedBase(name: string, metrics: DocumentedMetric[]): string | undefined {
  if (metrics.some((m) => m.name === name)) return name;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  const base = m?.[1];
  return metrics.find((d) => d.name === base && (d.type === 'histogram' || d.type === 'summary'))?.name;
}

function unknownMetrics(dash: unknown): string[] {
  return dashboardQueries(dash).flatMap((q) =>
    metricNames(q.expr).filter((n) => !documentedBase(n, documented)).map((n) => `${q.where}: ${n}`),
  );
}

describe('docs/metrics.md', () => {
  test('documents every metric of the interfaces contract, with its labels', () => {
    const byName = new Map(documented.map((m) => [m.name, m]));
    const contract: [string, string, string[]][] = [
      ['nomad_promoter_decisions_total', 'counter', ['namespace', 'job', 'group', 'action', 'outcome', 'source']],
      ['nomad_promoter_check_measurements_total', 'counter', ['namespace', 'job', 'group', 'check', 'result']],
      ['nomad_promoter_check_value', 'gauge', ['namespace', 'job', 'group', 'check']],
      ['nomad_promoter_deployments', 'gauge', ['state']],
      ['nomad_promoter_nomad_requests_total', 'counter', ['endpoint', 'code']],
      ['nomad_promoter_nomad_request_duration_seconds', 'histogram', ['endpoint']],
      ['nomad_promoter_decision_latency_seconds', 'histogram', ['action']],
      ['nomad_promoter_watch_errors_total', 'counter', []],
      ['nomad_promoter_policy_reloads_total', 'counter', ['result']],
      ['nomad_promoter_build_info', 'gauge', ['version']],
    ];
    for (const [name, type, labels] of contract) {
      expect(byName.get(name)).toEqual({ name, type, labels });
    }
  });
});

describe('Grafana dashboard', () => {
  test('queries only documented metrics', () => {
    expect(dashboardQueries(dashboard).length).toBeGreaterThan(10);
    expect(unknownMetrics(dashboard)).toEqual([]);
  });

  test('covers decisions, checks, deployments, the Nomad API, watch errors, reloads and latency', () => {
    const queried = new Set(
      dashboardQueries(dashboard).flatMap((q) => metricNames(q.expr).map((n) => documentedBase(n, documented))),
    );
    for (const m of [
      'nomad_promoter_decisions_total', 'nomad_promoter_check_value', 'nomad_promoter_deployments',
      'nomad_promoter_nomad_requests_total', 'nomad_promoter_nomad_request_duration_seconds',
      'nomad_promoter_watch_errors_total', 'nomad_promoter_policy_reloads_total',
      'nomad_promoter_decision_latency_seconds',
    ]) {
      expect(queried).toContain(m);
    }
  });

  test('takes its Prometheus data source from a variable', () => {
    const templating = (dashboard as { templating: { list: { name: string; type: string; query: unknown }[] } }).templating.list;
    expect(templating).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    const refs = datasourceRefs(dashboard);
    expect(refs.length).toBeGreaterThan(10);
    expect(refs.filter((r) => r.uid !== '${datasource}')).toEqual([]);
  });

  test('a dashboard querying an undocumented metric is caught', () => {
    const bad: unknown = JSON.parse(fs.readFileSync(path.resolve('test/fixtures/ship/dashboard-unknown-metric.json'), 'utf8'));
    expect(unknownMetrics(bad)).toEqual([
      'dashboard.panels[0] "Decisions".targets[0]: nomad_promoter_decision_total',
      'dashboard.panels[1] "Check rate".targets[0]: nomad_promoter_check_value_count',
      'variable $job: nomad_promoter_jobs',
    ]);
  });

  test('every expression parses (promtool, from the Debian prometheus package)', () => {
    const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (promtool.error) throw new Error('promtool not found: apt-get install -y prometheus (see README)');
    const rules = dashboardQueries(dashboard).map((q, i) => ({
      record: `dashboard:query_${i}`,
      expr: withoutGrafanaVariables(q.expr),
    }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-rules-'));
    try {
      const file = path.join(dir, 'rules.json');
      // promtool reads YAML, and JSON is YAML.
      fs.writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
      const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(`${run.stdout}${run.stderr}`).toContain('SUCCESS');
      expect(run.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PromQL metric extraction', () => {
  test.each([
    ['histogram_quantile(0.99, sum by (le, endpoint) (rate(nomad_promoter_nomad_request_duration_seconds_bucket{code=~"5.."}[$__rate_interval])))',
      ['nomad_promoter_nomad_request_duration_seconds_bucket']],
    ['sum(rate(a_total[5m])) by (job) / on(job) group_left(version) b_info offset 1h', ['a_total', 'b_info']],
    ['label_replace(up{job="x"}, "dst", "$1", "src", "(.*)") > bool 0 and c', ['up', 'c']],
    ['count without (instance) (d) unless e or vector(1)', ['d', 'e']],
    ['f:recorded:rate5m * 1e3 + Inf', ['f:recorded:rate5m']],
  ])('%s', (expr, names) => {
    expect(metricNames(expr).sort()).toEqual([...names].sort());
  });
});
