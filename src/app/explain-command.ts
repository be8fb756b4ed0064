/**
 * `nomad-promoter explain ID`: when the running daemon tracks the deployment, its own state and
 * history; otherwise, saying so, one read-only reconcile of the live deployment: reads Nomad,
 * picks each group's policy, takes one measurement of every check and prints what the daemon
 * would decide and why. Never writes to Nomad.
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
import { detailText, detailView, measurementView } from '../server/status.js';
import { persistDeployment, stateName } from '../machine/machine.js';
import { ClusterCache } from '../watch/cache.js';
import { EXIT } from '../cli.js';
import { createLogger } from './logger.js';
import { createMeasurer } from './measurer.js';
import { RUN_DEFAULTS } from './config.js';
import { DaemonClient, encodeId, errorOf } from './daemon-client.js';
import type { DeploymentDetailView } from '../server/status.js';

/** Shortest ID prefix accepted, as the Nomad CLI. */
const MIN_PREFIX = 8;

export async function explainCommand(id: string, flags: Record<string, string | boolean | undefined>): Promise<number> {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`nomad-promoter explain: ${line}\n`);
  const daemon = new DaemonClient(flags);
  const tracked = await daemon.call('GET', `/v1/deployments/${encodeId(id)}`).catch((e: Error) => ({ status: 0, body: { error: e.message } }));
  if (tracked.status === 200) {
    const view = tracked.body as DeploymentDetailView;
    if (flags.json) out(JSON.stringify({ source: 'daemon', daemon: daemon.url, ...view }, null, 2));
    else out(`From the running daemon at ${daemon.url}, which tracks this deployment:\n${detailText(view)}`);
    return EXIT.ok;
  }
  const fallback = `the daemon at ${daemon.url} does not show this deployment (${errorOf(tracked)}): a fresh evaluation of its own follows`;
  if (!flags.json) out(`Note: ${fallback}.`);
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
      const all = (await api.listAllDeployments({ namespace: '*' })).body;
      const found = all.filter((x) => x.ID === id || (id.length >= MIN_PREFIX && x.ID.startsWith(id)));
      if (found.length !== 1) {
        err(found.length === 0 ? `deployment ${id} not found${id.length < MIN_PREFIX ? ` (an ID prefix needs at least ${MIN_PREFIX} characters)` : ''}` : `ID prefix ${id} matches ${found.length} deployments: give more characters`);
        return EXIT.invalid;
      }
      d = found[0]!;
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
      out(JSON.stringify({ source: 'fresh evaluation', note: fallback, policies: policiesDir, ...detailView(persistDeployment(result.snapshot)), selections: Object.fromEntries(Object.entries(selections).map(([g, s]) => [g, { policy: s.policy?.name ?? null, reason: s.reason }])), measurements: measurements.map((m) => ({ ...m, measurement: measurementView(m.measurement) })), wouldDo: result.effects.map(({ action, groups, reason }) => ({ action, groups, reason })) }, null, 2));
      return EXIT.ok;
    }
    out(`Deployment ${d.ID} (namespace ${d.Namespace}, job ${d.JobID} version ${d.JobVersion}): ${d.Status}${d.StatusDescription ? `: ${d.StatusDescription}` : ''}`);
    out(`  policies read from ${policiesDir}; state after this evaluation: ${stateName(persistDeployment(result.snapshot))}`);
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
    if (result.effects.length === 0 && result.snapshot.context.pending.length === 0) out('no decision');
    return EXIT.ok;
  } finally {
    api.close();
  }
}
