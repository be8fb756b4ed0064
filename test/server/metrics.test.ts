import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Recorder } from '../../src/server/metrics.js';

/** Metric names of the table in docs/metrics.md, the documented contract. */
function documentedMetrics(): string[] {
  const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  return [...doc.matchAll(/^\| `(nomad_promoter_[a-z_]+)` \|/gm)].map((m) => m[1]!);
}

function exercised(): Recorder {
  const r = new Recorder('1.2.3');
  const labels = { namespace: 'default', job: 'web', group: 'api' };
  r.decision(labels, 'promote', 'ok');
  r.measurement(labels, 'error-rate', 'pass', 0.002);
  r.nomadRequest('/v1/deployment/promote/:id', '200', 0.02);
  r.decisionLatencySeconds('promote', 0.4);
  r.watchError();
  r.watchReset('deployments');
  r.watchFullList('blocking', 'deployments');
  r.policyReload('ok');
  r.policyTie(labels);
  r.autoPromoteConflict(labels, true);
  r.reconcileError();
  r.trackedStates({ baking: 2 }, ['waiting', 'baking']);
  return r;
}

describe('metrics', () => {
  test('every nomad_promoter_ metric the daemon exports is documented, and every documented one is exported', async () => {
    const text = await exercised().metrics();
    const exported = [...new Set([...text.matchAll(/^# TYPE (nomad_promoter_[a-z_]+) /gm)].map((m) => m[1]!))].sort();
    expect(exported).toEqual([...new Set(documentedMetrics())].sort());
  });

  test('the exposition passes promtool check metrics', async () => {
    const text = await exercised().metrics();
    // promtool exits non-zero on problems and prints them.
    const output = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(output).toBe('');
  });

  test('values carry the contract labels', async () => {
    const text = await exercised().metrics();
    expect(text).toContain('nomad_promoter_check_value{nomad_namespace="default",nomad_job="web",task_group="api",check="error-rate"} 0.002');
    expect(text).toContain('nomad_promoter_decisions_total{nomad_namespace="default",nomad_job="web",task_group="api",action="promote",outcome="ok",source="policy"} 1');
    expect(text).not.toMatch(/[{,](job|namespace|group)="/);
    expect(text).toContain('nomad_promoter_deployments{state="baking"} 2');
    expect(text).toContain('nomad_promoter_build_info{version="1.2.3"} 1');
    expect(text).toContain('nomad_promoter_leader 1');
    expect(text).toContain('nomad_promoter_nomad_requests_total{endpoint="/v1/deployment/promote/:id",code="200"} 1');
  });

  test('a tracked group has its promote and fail decisions and its checks\' measurements at 0 before the first event', async () => {
    const r = new Recorder('1.2.3', { defaultMetrics: false });
    const labels = { namespace: 'prod', job: 'web', group: 'api' };
    r.groupTracked(labels, ['error-rate'], 'enforce');
    r.groupTracked({ ...labels, group: 'trial' }, [], 'dry-run');
    const group = 'nomad_namespace="prod",nomad_job="web",task_group="api"';
    const trial = 'nomad_namespace="prod",nomad_job="web",task_group="trial"';
    let text = await r.metrics();
    for (const action of ['promote', 'fail']) {
      for (const outcome of ['ok', 'error']) expect(text).toContain(`nomad_promoter_decisions_total{${group},action="${action}",outcome="${outcome}",source="policy"} 0`);
      expect(text).toContain(`nomad_promoter_decisions_total{${trial},action="${action}",outcome="dry_run",source="policy"} 0`);
    }
    // Outcomes a group's mode cannot have get no series.
    expect(text).not.toContain(`${group},action="promote",outcome="dry_run"`);
    expect(text).not.toContain(`${trial},action="promote",outcome="ok"`);
    for (const result of ['pass', 'fail', 'inconclusive', 'error']) {
      expect(text).toContain(`nomad_promoter_check_measurements_total{${group},check="error-rate",result="${result}"} 0`);
    }
    r.decision(labels, 'promote', 'ok');
    r.groupTracked(labels, ['error-rate'], 'enforce');
    text = await r.metrics();
    // Tracking again on the next pass keeps the count.
    expect(text).toContain(`nomad_promoter_decisions_total{${group},action="promote",outcome="ok",source="policy"} 1`);
  });
});
