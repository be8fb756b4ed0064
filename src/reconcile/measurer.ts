/**
 * Takes the check measurements that are due for one deployment. Which checks run, for which
 * allocations and when is decided beside the machine (machine/due.ts); this only does the I/O,
 * through the providers. Providers never throw, so a measurement always comes back.
 */
import type { Logger } from 'pino';
import type { Measurement } from '../domain/analysis.js';
import type { AllocationView } from '../domain/nomad.js';
import type { CheckSource } from '../domain/policy.js';
import { toMeasurement, type Evaluate } from '../analysis/measure.js';
import { allocPorts, allocTemplateVars } from '../checks/address.js';
import type { CheckProviders } from '../checks/provider.js';
import type { TaggedMeasurement } from '../machine/plan.js';
import { scheduleMeasurements, type DueMeasurement } from '../machine/due.js';
import type { DeploymentObservation, PromoterContext } from '../machine/types.js';
import { compileCondition, evaluateCondition } from '../policy/cel.js';
import { ENV_PREFIX, redactSecrets, renderTemplate, type TemplateAlloc, type TemplateVars } from '../policy/template.js';
import type { Recorder } from '../server/metrics.js';
import type { ClusterCache } from '../watch/cache.js';
import type { Measurer } from './reconciler.js';

export interface CheckMeasurerDeps {
  providers: CheckProviders;
  cache: ClusterCache;
  recorder: Recorder;
  logger: Logger;
  env: Record<string, string | undefined>;
}

export class CheckMeasurer implements Measurer {
  private readonly secrets: string[];

  constructor(private readonly deps: CheckMeasurerDeps) {
    this.secrets = Object.entries(deps.env)
      .filter(([k, v]) => k.startsWith(ENV_PREFIX) && v)
      .map(([, v]) => v as string);
  }

  nextDue(context: PromoterContext, observation: DeploymentObservation): number | undefined {
    const due = scheduleMeasurements(context, observation).map((d) => d.due);
    return due.length ? Math.min(...due) : undefined;
  }

  async measure(context: PromoterContext, observation: DeploymentObservation, now: number, signal?: AbortSignal): Promise<TaggedMeasurement[]> {
    const due = scheduleMeasurements(context, observation).filter((d) => d.due <= now);
    return Promise.all(due.map((d) => this.take(d, observation, now, signal)));
  }

  /** One measurement of every check that is not finished, due or not (for `explain`). */
  async measureAll(context: PromoterContext, observation: DeploymentObservation, now: number, signal?: AbortSignal): Promise<TaggedMeasurement[]> {
    return Promise.all(scheduleMeasurements(context, observation).map((d) => this.take(d, observation, now, signal)));
  }

  private async take(d: DueMeasurement, observation: DeploymentObservation, now: number, signal?: AbortSignal): Promise<TaggedMeasurement> {
    const vars = this.templateVars(d, observation);
    const rendered = renderSource(d.spec.source, vars);
    const observed = rendered.ok
      ? await this.deps.providers.observe(rendered.source, { ...(signal ? { signal } : {}), ...(d.allocId ? { allocId: d.allocId } : {}), secrets: this.secrets })
      : { kind: 'error' as const, message: `template: ${rendered.error}` };
    const celVars = {
      namespace: observation.namespace,
      job: observation.job,
      group: d.group.name,
      ...(vars.alloc ? { alloc: { id: vars.alloc.id, name: vars.alloc.name, node: vars.alloc.node } } : {}),
    };
    const evaluate: Evaluate = (expr, providerVars) => {
      const compiled = compileCondition(expr, { provider: d.spec.source.kind, scope: d.spec.scope });
      return compiled.ok ? evaluateCondition(compiled.condition, { ...providerVars, ...celVars }) : { ok: false, error: compiled.error };
    };
    const m = toMeasurement(observed, d.spec, evaluate, now, d.allocId);
    const measurement: Measurement = m.message ? { ...m, message: redactSecrets(m.message, this.deps.env) } : m;
    const labels = { namespace: observation.namespace, job: observation.job, group: d.group.name };
    this.deps.recorder.measurement(labels, d.spec.name, measurement.result, measurement.value);
    this.deps.logger.debug({ ...labels, deploymentId: observation.id, stage: d.stage, check: d.spec.name, allocId: d.allocId, result: measurement.result, value: measurement.value, message: measurement.message }, 'measurement');
    return { group: d.group.name, stage: d.stage, measurement };
  }

  private templateVars(d: DueMeasurement, observation: DeploymentObservation): TemplateVars {
    const { cache, env } = this.deps;
    const stubs = cache.allocationsOf({ Namespace: observation.namespace, JobID: observation.job, JobVersion: observation.jobVersion });
    const stable = cache
      .allocationsOfJob(observation.namespace, observation.job)
      .filter((a) => a.JobVersion !== observation.jobVersion && a.TaskGroup === d.group.name && a.ClientStatus === 'running' && a.DesiredStatus === 'run');
    const stub = d.allocId ? stubs.find((a) => a.ID === d.allocId) : undefined;
    return {
      namespace: observation.namespace,
      job: observation.job,
      group: d.group.name,
      deploymentId: observation.id,
      jobVersion: observation.jobVersion,
      jobMeta: observation.jobMeta,
      canaryAllocIds: d.group.canaries.map((a) => a.id),
      newAllocIds: d.group.allocs.map((a) => a.id),
      stableAllocIds: stable.map((a) => a.ID),
      ...(stub ? { alloc: templateAlloc(stub) } : {}),
      env,
    };
  }
}

/** The allocation as templates see it, from the address rules of checks/address.ts. */
function templateAlloc(stub: AllocationView): TemplateAlloc {
  const flat = allocTemplateVars(stub);
  return { id: stub.ID, name: stub.Name, node: flat['alloc.node'] ?? '', ...(flat['alloc.ip'] ? { ip: flat['alloc.ip'] } : {}), ports: allocPorts(stub) };
}

type Rendered = { ok: true; source: CheckSource } | { ok: false; error: string };

function renderSource(source: CheckSource, vars: TemplateVars): Rendered {
  const render = (text: string) => renderTemplate(text, vars);
  if (source.kind === 'nomad') return { ok: true, source };
  if (source.kind === 'prometheus') {
    const query = render(source.query);
    return query.ok ? { ok: true, source: { ...source, query: query.text } } : { ok: false, error: `query: ${query.error}` };
  }
  const url = render(source.url);
  if (!url.ok) return { ok: false, error: `url: ${url.error}` };
  const body = render(source.body);
  if (!body.ok) return { ok: false, error: `body: ${body.error}` };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(source.headers)) {
    const h = render(value);
    if (!h.ok) return { ok: false, error: `header ${name}: ${h.error}` };
    headers[name] = h.text;
  }
  return { ok: true, source: { ...source, url: url.text, body: body.text, headers } };
}
