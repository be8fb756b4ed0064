/**
 * The status API's view of a tracked deployment, built from its stored snapshot.
 * Pure: the HTTP layer only serialises what this returns.
 */
import { stateName, type StoredSnapshot } from '../machine/machine.js';
import { groupStateOf } from '../machine/group-machine.js';
import { HOLDING_PHASES, type Measurement } from '../domain/analysis.js';
import type { CheckSpec, Policy } from '../domain/policy.js';
import { bakeEndsAt, canaryTimeoutAt } from '../machine/due.js';
import type { CheckRecord, DecisionRecord, DecisionSource, GroupTrack, PendingDecision, PromoterContext } from '../machine/types.js';
import type { ClusterCache } from '../watch/cache.js';
import { thresholdOf, type Threshold } from './thresholds.js';

/** What a view adds from outside the snapshot: the policy as loaded now, Nomad's canaries. */
export interface ViewSources {
  policy(name: string): Policy | undefined;
  /** How many of a group's canaries Nomad calls healthy, of how many it wants. */
  canaries(deploymentId: string, group: string): CanaryCount | undefined;
  /** When Nomad created the deployment (its CreateTime), in ms. */
  createdAt(deploymentId: string): number | undefined;
  now(): number;
}

export interface CanaryCount {
  healthy: number;
  desired: number;
}

export interface CheckStatus {
  stage: string;
  check: string;
  state: string;
  lastValue?: number;
  lastResult?: string;
  /** Why: the provider's own message (e.g. Prometheus's error while errored), or what decided. */
  lastMessage?: string;
  lastAt?: string;
  measurements: number;
  /** The policy's expressions, and the bound each sets on the value when it is one comparison. */
  pass?: string;
  fail?: string;
  thresholds?: { pass?: Threshold; fail?: Threshold };
}

export interface GroupStatus {
  policy: string;
  mode: string;
  state: string;
  hold?: string;
  promoted: boolean;
  canariesHealthyAt?: string;
  canaries?: CanaryCount;
  /** While the group bakes, is ready or holds: when the bake ends, and when `canary.timeout` expires. */
  bakeEndsAt?: string;
  timeoutAt?: string;
  checks: CheckStatus[];
}

export interface DeploymentStatusView {
  id: string;
  namespace: string;
  job: string;
  version: number;
  status: string;
  state: string;
  /** When Nomad created the deployment, with the daemon's sources and when Nomad says. */
  createdAt?: string;
  /** Per task group; `state` is the group machine's state, `hold` which hold while `holding`. */
  groups: Record<string, GroupStatus>;
  pending: (PendingDecision & { causes?: HoldCause[] })[];
  warnings: string[];
  /** When the promoter looks again on its own (end of the bake, the canary timeout). */
  nextAt?: string;
  updatedAt: string;
}

export type MeasurementView = Omit<Measurement, 'at'> & { at: string };

/** Why a deployment holds: each held check with its last result, value and message. */
export interface HoldCause extends Omit<CheckStatus, 'measurements' | 'lastAt'> {
  group: string;
}


function holdCauses(groups: DeploymentStatusView['groups'], names: string[]): HoldCause[] {
  return names.flatMap((group) =>
    (groups[group]?.checks ?? []).filter((c) => (HOLDING_PHASES as readonly string[]).includes(c.state)).map(({ measurements: _m, lastAt: _a, ...c }) => ({ group, ...c })),
  );
}

export interface DeploymentDetailView extends DeploymentStatusView {
  history: (Omit<DecisionRecord, 'at' | 'evidence' | 'source'> & { at: string; source: DecisionSource; evidence: MeasurementView[] })[];
  /** Every check's measurements over time, oldest first. */
  series: { group: string; stage: string; check: string; measurements: MeasurementView[] }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export function measurementView(m: Measurement): MeasurementView {
  return { ...m, at: iso(m.at) };
}

function checkStatus(key: string, r: CheckRecord, policy: Policy | undefined): CheckStatus {
  const [stage = '', check = ''] = key.split(':');
  const last = r.measurements[r.measurements.length - 1];
  const spec = policy?.checks[check];
  return {
    stage,
    check,
    state: r.phase,
    ...(last?.value !== undefined ? { lastValue: last.value } : {}),
    ...(last ? { lastResult: last.result, lastAt: iso(last.at) } : {}),
    ...(last?.message ? { lastMessage: last.message } : {}),
    measurements: r.measurements.length,
    ...(spec ? expressions(spec) : {}),
  };
}

function expressions(spec: CheckSpec): Pick<CheckStatus, 'pass' | 'fail' | 'thresholds'> {
  const pass = thresholdOf(spec.pass, spec.source.kind);
  const fail = thresholdOf(spec.fail, spec.source.kind);
  return {
    pass: spec.pass,
    ...(spec.fail ? { fail: spec.fail } : {}),
    ...(pass || fail ? { thresholds: { ...(pass ? { pass } : {}), ...(fail ? { fail } : {}) } } : {}),
  };
}

/** The group states in which the bake or the canary timeout is running toward a decision. */
const CLOCKED = new Set<string>(['baking', 'ready', 'holding']);

function groupStatus(c: PromoterContext, name: string, g: GroupTrack, sources: ViewSources | undefined): GroupStatus {
  const policy = g.policy ? sources?.policy(g.policy) : undefined;
  const canaries = g.canary ? sources?.canaries(c.deploymentId, name) : undefined;
  const deadlines = policy && g.canary && !g.promoted && CLOCKED.has(groupStateOf(g.state).state) ? { bake: bakeEndsAt(g, policy), timeout: canaryTimeoutAt(g, c, policy, sources!.now()) } : {};
  return {
    policy: g.policy ?? '',
    mode: g.mode,
    ...groupStateOf(g.state),
    promoted: g.promoted,
    ...(g.canariesHealthyAt !== undefined ? { canariesHealthyAt: iso(g.canariesHealthyAt) } : {}),
    ...(canaries ? { canaries } : {}),
    ...(deadlines.bake !== undefined ? { bakeEndsAt: iso(deadlines.bake) } : {}),
    ...(deadlines.timeout !== undefined ? { timeoutAt: iso(deadlines.timeout) } : {}),
    checks: Object.entries(g.checks).map(([key, r]) => checkStatus(key, r, policy)),
  };
}

export function statusView(s: StoredSnapshot, sources?: ViewSources): DeploymentStatusView {
  const c = s.context;
  const createdAt = sources?.createdAt(c.deploymentId);
  const view: DeploymentStatusView = {
    id: c.deploymentId,
    namespace: c.namespace,
    job: c.job,
    version: c.jobVersion,
    status: c.nomadStatus,
    state: stateName(s),
    ...(createdAt !== undefined ? { createdAt: iso(createdAt) } : {}),
    groups: Object.fromEntries(Object.entries(c.groups).map(([name, g]) => [name, groupStatus(c, name, g, sources)])),
    pending: c.pending,
    warnings: c.warnings,
    ...(c.wakeAt !== undefined ? { nextAt: iso(c.wakeAt) } : {}),
    updatedAt: iso(c.updatedAt),
  };
  view.pending = c.pending.map((p) => (p.action === 'hold' ? { ...p, causes: holdCauses(view.groups, p.groups) } : p));
  return view;
}

export function detailView(s: StoredSnapshot, sources?: ViewSources): DeploymentDetailView {
  const series = Object.entries(s.context.groups).flatMap(([group, g]) =>
    Object.entries(g.checks).map(([key, r]) => {
      const [stage = '', check = ''] = key.split(':');
      return { group, stage, check, measurements: r.measurements.map(measurementView) };
    }),
  );
  return { ...statusView(s, sources), history: s.context.history.map((h) => ({ ...h, at: iso(h.at), source: h.source ?? 'policy', evidence: h.evidence.map(measurementView) })), series };
}

/** The text `nomad-promoter status ID` and `explain` print for a tracked deployment. */
export function detailText(d: DeploymentDetailView): string {
  const lines = [`Deployment ${d.id} (namespace ${d.namespace}, job ${d.job} version ${d.version}): ${d.status} in Nomad, state ${d.state}`];
  for (const [name, g] of Object.entries(d.groups)) {
    lines.push(`  group ${name}: policy ${g.policy} (${g.mode})${g.promoted ? ', promoted' : ''}`);
    for (const c of g.checks) {
      const value = c.lastValue !== undefined ? ` value=${c.lastValue}` : '';
      lines.push(`    check ${c.stage}:${c.check}: ${c.state}${value}${c.lastMessage ? ` (${c.lastMessage})` : ''}`);
    }
  }
  for (const p of d.pending) lines.push(`  next: ${p.action} (${p.groups.join(', ')}): ${p.reason}`);
  if (d.history.length > 0) lines.push('  history:');
  for (const h of d.history) {
    lines.push(`    ${h.at}  ${h.action} ${h.groups.join(', ')}: ${h.outcome}: ${h.reason}${h.message ? ` (${h.message})` : ''}  [${h.source}${h.who ? ` ${h.who}` : ''}]`);
  }
  return lines.join('\n');
}

/** The daemon's sources: the policies loaded now, and canary health from its copy of Nomad's state. */
export function clusterSources(policies: () => readonly Policy[], cache: Pick<ClusterCache, 'deployment' | 'allocation'>, now: () => number): ViewSources {
  return {
    policy: (name) => policies().find((p) => p.name === name),
    canaries: (deploymentId, group) => {
      const state = cache.deployment(deploymentId)?.TaskGroups[group];
      if (!state || state.DesiredCanaries === 0) return undefined;
      const healthy = (state.PlacedCanaries ?? []).filter((id) => cache.allocation(id)?.DeploymentStatus?.Healthy === true).length;
      return { healthy, desired: state.DesiredCanaries };
    },
    // Nomad's UnixNano loses sub-microsecond precision in JSON, which does not matter for an age.
    createdAt: (deploymentId) => {
      const nanos = cache.deployment(deploymentId)?.CreateTime;
      return nanos ? Math.floor(nanos / 1e6) : undefined;
    },
    now,
  };
}
