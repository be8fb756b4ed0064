/**
 * The daemon's metrics behind a domain facade: callers say what happened
 * (`recorder.decision(...)`), never touch prom-client. A private registry per recorder keeps
 * tests independent. Names and labels are the public contract of docs/interfaces.md.
 *
 * Nomad's names are exported as `nomad_namespace`, `nomad_job`, `task_group`: Prometheus and its
 * service discovery put `job` and `namespace` on every target, and a scrape would rename ours
 * to `exported_job`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MeasurementResult } from '../domain/analysis.js';
import type { DecisionSource, EffectAction, GroupMode, Outcome } from '../machine/types.js';
import type { NotifyTarget } from '../domain/policy.js';
import { NOTIFY_KINDS } from '../policy/defaults.js';

export interface GroupLabels {
  namespace: string;
  job: string;
  group: string;
}

type GroupLabelName = 'nomad_namespace' | 'nomad_job' | 'task_group';
const GROUP_LABELS: GroupLabelName[] = ['nomad_namespace', 'nomad_job', 'task_group'];

// Label objects are written out in full, never spread: prom-client keeps each one, and a spread
// gives every object its own hidden class (about 400 bytes a series, 24 MB at 10,000 groups).
function groupLabels(l: GroupLabels): Record<GroupLabelName, string> {
  return { nomad_namespace: l.namespace, nomad_job: l.job, task_group: l.group };
}

function decisionLabels(l: GroupLabels, action: EffectAction, outcome: Outcome, source: DecisionSource) {
  return { nomad_namespace: l.namespace, nomad_job: l.job, task_group: l.group, action, outcome, source };
}

function checkLabels(l: GroupLabels, check: string) {
  return { nomad_namespace: l.namespace, nomad_job: l.job, task_group: l.group, check };
}

function measurementLabels(l: GroupLabels, check: string, result: MeasurementResult) {
  return { nomad_namespace: l.namespace, nomad_job: l.job, task_group: l.group, check, result };
}

/**
 * The series a dashboard reads for a governed group, created at 0 so `increase()` sees the first
 * event: only the outcomes its mode can have (a group that writes to Nomad never counts
 * `dry_run`, a dry-run group never `ok` or `error`), which at 10,000 groups is 20,000 series fewer.
 */
function initialDecisions(mode: GroupMode): { action: EffectAction; outcome: Outcome }[] {
  const outcomes: Outcome[] = mode === 'dry-run' ? ['dry_run'] : ['ok', 'error'];
  return (['promote', 'fail'] as const).flatMap((action) => outcomes.map((outcome) => ({ action, outcome })));
}
const MEASUREMENT_RESULTS: MeasurementResult[] = ['pass', 'fail', 'inconclusive', 'error'];
/** A notification delivered, given up after its retries, or dropped from a full queue. */
export type NotificationResult = 'ok' | 'error' | 'dropped';
const NOTIFICATION_RESULTS: NotificationResult[] = ['ok', 'error', 'dropped'];

export class Recorder {
  readonly registry = new Registry();
  private readonly decisions: Counter<GroupLabelName | 'action' | 'outcome' | 'source'>;
  private readonly measurements: Counter<GroupLabelName | 'check' | 'result'>;
  private readonly checkValues: Gauge<GroupLabelName | 'check'>;
  private readonly deployments: Gauge<'state'>;
  private readonly nomadRequests: Counter<'endpoint' | 'code'>;
  private readonly nomadDuration: Histogram<'endpoint'>;
  private readonly decisionLatency: Histogram<'action'>;
  private readonly watchErrors: Counter;
  private readonly watchResets: Counter<'table'>;
  private readonly watchSource: Gauge<'source'>;
  private readonly watchLists: Counter<'source' | 'table'>;
  private readonly policyReloads: Counter<'result'>;
  private readonly policiesInForce: Gauge;
  private readonly policyTies: Counter<GroupLabelName>;
  private readonly autoPromoteConflicts: Gauge<GroupLabelName>;
  private readonly reconcileErrors: Counter;
  private readonly notifications: Counter<'target' | 'result'>;
  private readonly leader: Gauge;
  private readonly leaderTransitions: Counter;

  constructor(version: string, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.decisions = new Counter({
      name: 'nomad_promoter_decisions_total',
      help: 'Decisions taken, by action, outcome (ok, error, dry_run) and source (policy, human).',
      labelNames: [...GROUP_LABELS, 'action', 'outcome', 'source'],
      registers,
    });
    this.measurements = new Counter({
      name: 'nomad_promoter_check_measurements_total',
      help: 'Check measurements taken, by result (pass, fail, inconclusive, error).',
      labelNames: [...GROUP_LABELS, 'check', 'result'],
      registers,
    });
    this.checkValues = new Gauge({
      name: 'nomad_promoter_check_value',
      help: 'The last numeric value a check measured.',
      labelNames: [...GROUP_LABELS, 'check'],
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
    this.watchLists = new Counter({
      name: 'nomad_promoter_watch_full_lists_total',
      help: 'Full lists of a watched table (deployments, allocations) read from Nomad, by source: every answer of the blocking source, the re-list after each connect of the stream.',
      labelNames: ['source', 'table'],
      registers,
    });
    this.policyReloads = new Counter({
      name: 'nomad_promoter_policy_reloads_total',
      help: 'Policy reloads, by result (ok, error).',
      labelNames: ['result'],
      registers,
    });
    this.policiesInForce = new Gauge({
      name: 'nomad_promoter_policies',
      help: 'Policies in force after the last valid load (0: no deployment is governed).',
      registers,
    });
    this.policyTies = new Counter({
      name: 'nomad_promoter_policy_ties_total',
      help: 'Selections where several policies of the same priority matched a group.',
      labelNames: GROUP_LABELS,
      registers,
    });
    this.autoPromoteConflicts = new Gauge({
      name: 'nomad_promoter_auto_promote_conflicts',
      help: 'Governed groups whose job also has Nomad auto_promote (1 while the deployment is tracked).',
      labelNames: GROUP_LABELS,
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'nomad_promoter_reconcile_errors_total',
      help: 'Reconcile passes that failed and were retried with backoff.',
      registers,
    });
    this.notifications = new Counter({
      name: 'nomad_promoter_notifications_total',
      help: 'Notifications, by target kind (webhook, slack) and result (ok, error, dropped).',
      labelNames: ['target', 'result'],
      registers,
    });
    for (const target of NOTIFY_KINDS) for (const result of NOTIFICATION_RESULTS) this.notifications.inc({ target, result }, 0);
    const buildInfo = new Gauge({
      name: 'nomad_promoter_build_info',
      help: 'Build information; always 1.',
      labelNames: ['version'],
      registers,
    });
    buildInfo.set({ version }, 1);
    this.leader = new Gauge({
      name: 'nomad_promoter_leader',
      help: '1 on the replica that holds the leader lock, or runs alone; else 0.',
      registers,
    });
    this.leaderTransitions = new Counter({
      name: 'nomad_promoter_leader_transitions_total',
      help: 'Times this replica became leader or stopped being leader (HA).',
      registers,
    });
    // Without HA one daemon acts alone: there is no leader lock to lose.
    this.leader.set(1);
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names these gauges with a `_total` suffix, which promtool rejects; the same
      // counts stay available per type in nodejs_active_handles / _requests / _resources.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        this.registry.removeSingleMetric(name);
      }
    }
  }

  /** A governed group is tracked: its decision (for its mode) and measurement counters exist from now on, at 0 until counted. */
  groupTracked(labels: GroupLabels, checks: readonly string[], mode: GroupMode): void {
    for (const d of initialDecisions(mode)) this.decisions.inc(decisionLabels(labels, d.action, d.outcome, 'policy'), 0);
    for (const check of checks) {
      for (const result of MEASUREMENT_RESULTS) this.measurements.inc(measurementLabels(labels, check, result), 0);
    }
  }

  decision(labels: GroupLabels, action: EffectAction, outcome: Outcome, source: DecisionSource = 'policy'): void {
    this.decisions.inc(decisionLabels(labels, action, outcome, source));
  }

  measurement(labels: GroupLabels, check: string, result: MeasurementResult, value?: number): void {
    this.measurements.inc(measurementLabels(labels, check, result));
    if (value !== undefined && Number.isFinite(value)) this.checkValues.set(checkLabels(labels, check), value);
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

  watchFullList(source: 'stream' | 'blocking', table: 'deployments' | 'allocations'): void {
    this.watchLists.inc({ source, table });
  }

  policyReload(result: 'ok' | 'error'): void {
    this.policyReloads.inc({ result });
  }

  policiesLoaded(count: number): void {
    this.policiesInForce.set(count);
  }

  policyTie(labels: GroupLabels): void {
    this.policyTies.inc(groupLabels(labels));
  }

  autoPromoteConflict(labels: GroupLabels, active: boolean): void {
    const group = groupLabels(labels);
    if (active) this.autoPromoteConflicts.set(group, 1);
    else this.autoPromoteConflicts.remove(group);
  }

  /** HA: this replica starts (true) or stops (false) leading. */
  leadership(leader: boolean): void {
    this.leader.set(leader ? 1 : 0);
    this.leaderTransitions.inc();
  }

  /** HA: a replica starts as a standby, before it has contended. */
  standby(): void {
    this.leader.set(0);
  }

  reconcileError(): void {
    this.reconcileErrors.inc();
  }

  notification(target: NotifyTarget['kind'], result: NotificationResult): void {
    this.notifications.inc({ target, result });
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
