/**
 * The daemon's metrics behind a domain facade: callers say what happened
 * (`recorder.decision(...)`), never touch prom-client. A private registry per recorder keeps
 * tests independent. Names and labels are the public contract of docs/interfaces.md.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MeasurementResult } from '../domain/analysis.js';
import type { EffectAction, Outcome } from '../machine/types.js';

export interface GroupLabels {
  namespace: string;
  job: string;
  group: string;
}

export class Recorder {
  readonly registry = new Registry();
  private readonly decisions: Counter<'namespace' | 'job' | 'group' | 'action' | 'outcome'>;
  private readonly measurements: Counter<'namespace' | 'job' | 'group' | 'check' | 'result'>;
  private readonly checkValues: Gauge<'namespace' | 'job' | 'group' | 'check'>;
  private readonly deployments: Gauge<'state'>;
  private readonly nomadRequests: Counter<'endpoint' | 'code'>;
  private readonly nomadDuration: Histogram<'endpoint'>;
  private readonly decisionLatency: Histogram<'action'>;
  private readonly watchErrors: Counter;
  private readonly watchResets: Counter<'table'>;
  private readonly watchSource: Gauge<'source'>;
  private readonly policyReloads: Counter<'result'>;
  private readonly policyTies: Counter<'namespace' | 'job' | 'group'>;
  private readonly autoPromoteConflicts: Gauge<'namespace' | 'job' | 'group'>;
  private readonly reconcileErrors: Counter;

  constructor(version: string, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.decisions = new Counter({
      name: 'nomad_promoter_decisions_total',
      help: 'Decisions taken, by action and outcome (ok, error, dry_run).',
      labelNames: ['namespace', 'job', 'group', 'action', 'outcome'],
      registers,
    });
    this.measurements = new Counter({
      name: 'nomad_promoter_check_measurements_total',
      help: 'Check measurements taken, by result (pass, fail, inconclusive, error).',
      labelNames: ['namespace', 'job', 'group', 'check', 'result'],
      registers,
    });
    this.checkValues = new Gauge({
      name: 'nomad_promoter_check_value',
      help: 'The last numeric value a check measured.',
      labelNames: ['namespace', 'job', 'group', 'check'],
      registers,
    });
    this.deployments = new Gauge({
      name: 'nomad_promoter_deployments',
      help: 'Tracked deployments per machine state.',
      labelNames: ['state'],
      registers,
    });
    this.nomadRequests = new Counter({
      name: 'nomad_promoter_nomad_requests_total',
      help: 'HTTP requests to Nomad, by route pattern and status code (error: no answer).',
      labelNames: ['endpoint', 'code'],
      registers,
    });
    this.nomadDuration = new Histogram({
      name: 'nomad_promoter_nomad_request_duration_seconds',
      help: 'Duration of HTTP requests to Nomad, blocking queries included.',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 330],
      registers,
    });
    this.decisionLatency = new Histogram({
      name: 'nomad_promoter_decision_latency_seconds',
      help: 'From the moment the evidence allowed a decision to Nomad acknowledging the action.',
      labelNames: ['action'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60],
      registers,
    });
    this.watchErrors = new Counter({
      name: 'nomad_promoter_watch_errors_total',
      help: 'Failed long-poll requests to Nomad.',
      registers,
    });
    this.watchResets = new Counter({
      name: 'nomad_promoter_watch_index_resets_total',
      help: 'Times a watched table index went backwards and was re-listed in full.',
      labelNames: ['table'],
      registers,
    });
    this.watchSource = new Gauge({
      name: 'nomad_promoter_watch_source',
      help: 'What feeds the cache: 1 for the source in use (stream or blocking), 0 for the other.',
      labelNames: ['source'],
      registers,
    });
    this.policyReloads = new Counter({
      name: 'nomad_promoter_policy_reloads_total',
      help: 'Policy reloads, by result (ok, error).',
      labelNames: ['result'],
      registers,
    });
    this.policyTies = new Counter({
      name: 'nomad_promoter_policy_ties_total',
      help: 'Selections where several policies of the same priority matched a group.',
      labelNames: ['namespace', 'job', 'group'],
      registers,
    });
    this.autoPromoteConflicts = new Gauge({
      name: 'nomad_promoter_auto_promote_conflicts',
      help: 'Governed groups whose job also has Nomad auto_promote (1 while the deployment is tracked).',
      labelNames: ['namespace', 'job', 'group'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'nomad_promoter_reconcile_errors_total',
      help: 'Reconcile passes that failed and were retried with backoff.',
      registers,
    });
    const buildInfo = new Gauge({
      name: 'nomad_promoter_build_info',
      help: 'Build information; always 1.',
      labelNames: ['version'],
      registers,
    });
    buildInfo.set({ version }, 1);
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names these gauges with a `_total` suffix, which promtool rejects; the same
      // counts stay available per type in nodejs_active_handles / _requests / _resources.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        this.registry.removeSingleMetric(name);
      }
    }
  }

  decision(labels: GroupLabels, action: EffectAction, outcome: Outcome): void {
    this.decisions.inc({ ...labels, action, outcome });
  }

  measurement(labels: GroupLabels, check: string, result: MeasurementResult, value?: number): void {
    this.measurements.inc({ ...labels, check, result });
    if (value !== undefined && Number.isFinite(value)) this.checkValues.set({ ...labels, check }, value);
  }

  nomadRequest(endpoint: string, code: string, seconds: number): void {
    this.nomadRequests.inc({ endpoint, code });
    this.nomadDuration.observe({ endpoint }, seconds);
  }

  decisionLatencySeconds(action: EffectAction, seconds: number): void {
    this.decisionLatency.observe({ action }, Math.max(0, seconds));
  }

  watchError(): void {
    this.watchErrors.inc();
  }

  watchReset(table: string): void {
    this.watchResets.inc({ table });
  }

  watchSourceInUse(source: 'stream' | 'blocking'): void {
    this.watchSource.set({ source }, 1);
    this.watchSource.set({ source: source === 'stream' ? 'blocking' : 'stream' }, 0);
  }

  policyReload(result: 'ok' | 'error'): void {
    this.policyReloads.inc({ result });
  }

  policyTie(labels: GroupLabels): void {
    this.policyTies.inc(labels);
  }

  autoPromoteConflict(labels: GroupLabels, active: boolean): void {
    if (active) this.autoPromoteConflicts.set(labels, 1);
    else this.autoPromoteConflicts.remove(labels);
  }

  reconcileError(): void {
    this.reconcileErrors.inc();
  }

  /** Replace the per-state gauge with a fresh count. */
  trackedStates(counts: Record<string, number>, allStates: readonly string[]): void {
    for (const state of allStates) this.deployments.set({ state }, counts[state] ?? 0);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
