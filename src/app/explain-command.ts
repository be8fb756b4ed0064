/**
 * `nomad-promoter explain ID`: one read-only reconcile of a live deployment. Reads Nomad, picks
 * each group's policy, takes one measurement of every check and prints what the daemon would
 * decide and why. Never writes to Nomad.
 */
import type { Deployment } from '../domain/nomad.js';
import { startDeployment, step } from '../machine/machine.js';
import type { TaggedMeasurement } from '../machine/plan.js';
import { HttpNomadClient } from '../nomad/client.js';
import { readNomadConfig } from '../nomad/config.js';
import { formatPolicyError, loadPolicies } from '../policy/load.js';
import { selectPolicy } from '../policy/select.js';
import { JobSpecCache } from '../reconcile/job-specs.js';
import { observeDeployment } from '../reconcile/observe.js';
import { Recorder } from '../server/metrics.js';
import { detailView, measurementView } from '../server/status.js';
import { persistDeployment } from '../machine/machine.js';
import { ClusterCache } from '../watch/cache.js';
import { EXIT } from '../cli.js';
import { createLogger } from './logger.js';
import { createMeasurer } from './measurer.js';
import { RUN_DEFAULTS } from './config.js';

export async function explainCommand(id: string, flags: Record<string, string | boolean | undefined>): Promise<number> {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`nomad-promoter explain: ${line}\n`);
  const nomad = readNomadConfig(process.env);
  if (!nomad.config) {
    nomad.errors.forEach(err);
    return EXIT.invalid;
  }
  const policiesDir = (flags.policies as string | undefined) ?? process.env.PROMOTER_POLICIES ?? RUN_DEFAULTS.policies;
  const loaded = await loadPolicies([policiesDir]);
  if (loaded.errors.length > 0) {
    loaded.errors.forEach((e) => err(formatPolicyError(e)));
    return EXIT.invalid;
  }

  const api = new HttpNomadClient(nomad.config, { retries: 2 });
  try {
    let d: Deployment | undefined;
    let allocs;
    try {
      d = (await api.listAllDeployments({ namespace: '*', filter: `ID == "${id.replace(/"/g, '')}"` })).body[0];
      if (!d) {
        err(`deployment ${id} not found`);
        return EXIT.invalid;
      }
      allocs = (await api.listAllocations({ namespace: d.Namespace, filter: `DeploymentID == "${d.ID}"`, resources: true })).body;
    } catch (e) {
      err(e instanceof Error ? e.message : String(e));
      return EXIT.nomad;
    }
    const cache = new ClusterCache();
    cache.replaceDeployments([d]);
    cache.replaceAllocations(allocs);
    const job = await new JobSpecCache(api).get(d.Namespace, d.JobID, d.JobCreateIndex, d.JobVersion);
    // Each policy's own mode, as the daemon runs it: explain shows effects and never carries them out.
    const { observation, selections } = observeDeployment(d, job, allocs, (t) => selectPolicy(loaded.policies, t), false);

    const prometheusAddr = (flags['prometheus-addr'] as string | undefined) ?? process.env.PROMOTER_PROMETHEUS_ADDR;
    const logger = createLogger('silent');
    const measurer = createMeasurer({ api, cache, recorder: new Recorder('explain', { defaultMetrics: false }), logger, prometheusAddr });
    const now = Date.now();
    let snapshot = startDeployment({ deploymentId: d.ID, namespace: d.Namespace, job: d.JobID, jobVersion: d.JobVersion, now });
    snapshot = step(snapshot, { type: 'observe', now, observation, measurements: [] }).snapshot;
    const measurements: TaggedMeasurement[] = await measurer.measureAll(snapshot.context, observation, now);
    const result = step(snapshot, { type: 'observe', now, observation, measurements });

    if (flags.json) {
      out(JSON.stringify({ ...detailView(persistDeployment(result.snapshot)), selections: Object.fromEntries(Object.entries(selections).map(([g, s]) => [g, { policy: s.policy?.name ?? null, reason: s.reason }])), measurements: measurements.map((m) => ({ ...m, measurement: measurementView(m.measurement) })), wouldDo: result.effects.map(({ action, groups, reason }) => ({ action, groups, reason })) }, null, 2));
      return EXIT.ok;
    }
    out(`Deployment ${d.ID} (namespace ${d.Namespace}, job ${d.JobID} version ${d.JobVersion}): ${d.Status}${d.StatusDescription ? `: ${d.StatusDescription}` : ''}`);
    for (const g of observation.groups) {
      const s = selections[g.name]!;
      out(`  group ${g.name}: ${s.policy ? `policy ${s.policy.name} (${s.policy.mode})` : 'not governed'}: ${s.reason}`);
      if (g.desiredCanaries > 0) out(`    canaries: ${g.canaries.filter((a) => a.healthy === true).length}/${g.desiredCanaries} healthy${g.promoted ? ', promoted' : ''}`);
      for (const m of measurements.filter((x) => x.group === g.name)) {
        const value = m.measurement.value !== undefined ? ` value=${m.measurement.value}` : '';
        const alloc = m.measurement.allocId ? ` alloc=${m.measurement.allocId.slice(0, 8)}` : '';
        out(`    check ${m.stage}:${m.measurement.check}${alloc}: ${m.measurement.result}${value} (${m.measurement.message ?? ''})`);
      }
    }
    out();
    if (result.effects.length > 0) for (const e of result.effects) out(`would ${e.action} ${e.groups.join(', ')}: ${e.reason}`);
    for (const p of result.snapshot.context.pending.filter((x) => x.action === 'hold' || x.action === 'wait')) out(`would ${p.action} (${p.groups.join(', ')}): ${p.reason}`);
    if (result.effects.length === 0 && result.snapshot.context.pending.length === 0) out(`no decision: machine state ${String(result.snapshot.value)}`);
    return EXIT.ok;
  } finally {
    api.close();
  }
}
