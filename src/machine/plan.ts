/**
 * The pure decision core: given what the machine remembered, what was just observed and
 * measured, and `now`, work out the next context and which effects are due.
 * No I/O, no clock: everything arrives as data. The xstate machine (machine.ts) calls it.
 */
import type { Measurement, CheckPhase } from '../domain/analysis.js';
import type { CheckSpec, Policy } from '../domain/policy.js';
import { isActiveDeployment } from '../domain/nomad.js';
import { formatDuration } from '../policy/duration.js';
import { assessCheck, assessAllocationCheck, nextMeasurementDue } from '../analysis/assess.js';
import type {
  CheckRecord,
  DecisionRecord,
  DeploymentObservation,
  EffectAction,
  GroupObservation,
  GroupTrack,
  PendingDecision,
  PromoterContext,
  Stage,
} from './types.js';

/** An effect the reconciler should carry out (or, in dry-run, only report). */
export interface EffectRequest {
  key: string;
  action: EffectAction;
  groups: string[];
  reason: string;
  dryRun: boolean;
  evidence: Measurement[];
  /** When the evidence first allowed this decision (for the decision latency metric). */
  decidableAt: number;
  /** set_health only. */
  healthy?: string[];
  unhealthy?: string[];
  /** fail only: how to roll back afterwards. */
  rollback?: Policy['onFailure']['rollback'];
  /** fail only: groups for which Nomad's own auto_revert applies. */
  autoRevertGroups?: string[];
}

/** One measurement just taken by a provider, tagged with where it belongs. */
export interface TaggedMeasurement {
  group: string;
  stage: Stage;
  measurement: Measurement;
}

export interface Plan {
  context: PromoterContext;
  effects: EffectRequest[];
}

const HISTORY_LIMIT = 100;
const MEASUREMENT_LIMIT = 200;

export function checkKey(stage: Stage, check: string): string {
  return `${stage}:${check}`;
}

/** Measurements that belong to one check key, grouped per allocation for allocation scope. */
function byAlloc(measurements: Measurement[]): Record<string, Measurement[]> {
  const out: Record<string, Measurement[]> = {};
  for (const m of measurements) (out[m.allocId ?? ''] ??= []).push(m);
  return out;
}

export function checkPhase(spec: CheckSpec, record: CheckRecord | undefined, allocIds: string[]): CheckPhase {
  if (!record) return 'pending';
  if (spec.scope === 'allocation') return assessAllocationCheck(spec, byAlloc(record.measurements), allocIds).phase;
  return assessCheck(spec, record.measurements).phase;
}

/** Which allocations an allocation-scope check covers in a stage. */
export function allocsInScope(stage: Stage, group: GroupObservation): string[] {
  if (stage === 'canary') return group.canaries.map((a) => a.id);
  if (stage === 'rollout') return group.allocs.filter((a) => a.running).map((a) => a.id);
  return group.allocs.filter((a) => a.healthy === null || a.healthy === undefined).map((a) => a.id);
}

function isCanaryGroup(group: GroupObservation): boolean {
  return group.desiredCanaries > 0;
}

/** The stages whose checks run now for a governed group, given what is known. */
export function activeStages(group: GroupObservation, track: GroupTrack): Stage[] {
  const stages: Stage[] = [];
  if (isCanaryGroup(group) && !track.promoted && track.canariesHealthyAt !== undefined) stages.push('canary');
  if (!isCanaryGroup(group) || track.promoted) stages.push('rollout');
  if (group.healthCheck === 'manual') stages.push('health');
  return stages;
}

export function stageChecks(policy: Policy, stage: Stage): CheckSpec[] {
  const names = stage === 'canary' ? policy.canary.analysis : stage === 'rollout' ? policy.rollout.analysis : policy.health.checks;
  return names.map((n) => policy.checks[n]).filter((c): c is CheckSpec => c !== undefined);
}

/**
 * When all canaries are healthy: the later of Nomad's health times, but never after our first
 * sight of it. Kept while the same canaries stay healthy; a different set starts over.
 */
function canariesHealthy(group: GroupObservation, previous: GroupTrack | undefined, now: number): Pick<GroupTrack, 'canariesHealthyAt' | 'canaryIds'> {
  const healthy = group.canaries.filter((a) => a.healthy === true);
  if (group.desiredCanaries === 0 || healthy.length < group.desiredCanaries || healthy.length < group.canaries.length) return {};
  const ids = healthy.map((a) => a.id).sort();
  if (previous?.canariesHealthyAt !== undefined && previous.canaryIds?.join(',') === ids.join(',')) {
    return { canariesHealthyAt: previous.canariesHealthyAt, canaryIds: ids };
  }
  const times = healthy.map((a) => a.healthAt ?? now);
  return { canariesHealthyAt: Math.min(Math.max(...times), now), canaryIds: ids };
}

function absorbGroup(
  previous: GroupTrack | undefined,
  group: GroupObservation,
  policy: Policy,
  dryRun: boolean,
  measurements: TaggedMeasurement[],
  now: number,
): GroupTrack {
  const track: GroupTrack = {
    policy: policy.name,
    mode: dryRun || policy.mode === 'dry-run' ? 'dry-run' : 'enforce',
    canary: isCanaryGroup(group),
    promoted: group.promoted || (previous?.promoted ?? false),
    checks: { ...(previous?.policy === policy.name ? previous.checks : {}) },
    healthDecided: { ...(previous?.healthDecided ?? {}) },
  };
  Object.assign(track, canariesHealthy(group, previous, now));
  for (const stage of activeStages(group, track)) {
    for (const spec of stageChecks(policy, stage)) {
      const key = checkKey(stage, spec.name);
      const record = track.checks[key] ?? { startedAt: now, measurements: [], phase: 'pending' };
      const fresh = measurements.filter((m) => m.stage === stage && m.measurement.check === spec.name).map((m) => m.measurement);
      const all = [...record.measurements, ...fresh].slice(-MEASUREMENT_LIMIT);
      track.checks[key] = { ...record, measurements: all, phase: checkPhase(spec, { ...record, measurements: all }, allocsInScope(stage, group)) };
    }
  }
  return track;
}

interface GroupVerdict {
  group: string;
  verdict: 'promote' | 'fail' | 'hold' | 'wait' | 'done';
  reason: string;
  wakeAt?: number;
  evidence: Measurement[];
  /** A deadline that made the verdict possible (bake end, timeout), besides the evidence. */
  since?: number;
}

/** The later of the evidence and a deadline; never after now. */
function decidableAt(evidence: Measurement[], now: number, ...deadlines: (number | undefined)[]): number {
  const times = [...evidence.map((m) => m.at), ...deadlines.filter((d): d is number => d !== undefined)];
  return times.length ? Math.min(now, Math.max(...times)) : now;
}

function stageEvidence(track: GroupTrack, stage: Stage): Measurement[] {
  return Object.entries(track.checks)
    .filter(([key]) => key.startsWith(`${stage}:`))
    .flatMap(([, r]) => r.measurements.slice(-1));
}

function phasesOf(track: GroupTrack, stage: Stage, policy: Policy): { spec: CheckSpec; phase: CheckPhase }[] {
  return stageChecks(policy, stage).map((spec) => ({ spec, phase: track.checks[checkKey(stage, spec.name)]?.phase ?? 'pending' }));
}

function describe(phases: { spec: CheckSpec; phase: CheckPhase }[], wanted: CheckPhase[]): string {
  return phases
    .filter((p) => wanted.includes(p.phase))
    .map((p) => `${p.spec.name} ${p.phase}`)
    .join(', ');
}

function canaryVerdict(group: GroupObservation, track: GroupTrack, policy: Policy, now: number): GroupVerdict {
  const base = { group: group.name, evidence: stageEvidence(track, 'canary') };
  if (track.promoted) return { ...base, verdict: 'done', reason: 'canaries promoted' };
  const phases = phasesOf(track, 'canary', policy);
  const failed = describe(phases, ['failed']);
  if (failed) return { ...base, verdict: 'fail', reason: `canary analysis failed: ${failed}` };
  const healthyAt = track.canariesHealthyAt;
  if (healthyAt === undefined) {
    const healthy = group.canaries.filter((a) => a.healthy === true).length;
    const unhealthy = group.canaries.filter((a) => a.healthy === false).length;
    const note = unhealthy > 0 ? `, ${unhealthy} unhealthy` : '';
    return { ...base, verdict: 'wait', reason: `${healthy}/${group.desiredCanaries} canaries healthy${note}` };
  }
  const timeoutAt = policy.canary.timeoutMs !== undefined ? healthyAt + policy.canary.timeoutMs : undefined;
  if (timeoutAt !== undefined && now >= timeoutAt && policy.canary.onTimeout !== 'wait') {
    const reason = `canary timeout ${formatDuration(policy.canary.timeoutMs!)} expired`;
    return { ...base, verdict: policy.canary.onTimeout === 'fail' ? 'fail' : 'promote', reason, since: timeoutAt };
  }
  const held = describe(phases, ['inconclusive', 'errored']);
  if (held) return { ...base, verdict: 'hold', reason: `holding: ${held}`, wakeAt: timeoutAt };
  const running = describe(phases, ['pending', 'running']);
  if (running) return { ...base, verdict: 'wait', reason: `analysis running: ${running}`, wakeAt: timeoutAt };
  const bakeEnd = healthyAt + policy.canary.bakeMs;
  if (now < bakeEnd) {
    return { ...base, verdict: 'wait', reason: `baking until ${new Date(bakeEnd).toISOString()}`, wakeAt: min(bakeEnd, timeoutAt) };
  }
  if (policy.canary.promote === 'manual') {
    return { ...base, verdict: 'wait', reason: 'canary.promote is manual', wakeAt: timeoutAt };
  }
  const analysis = phases.length > 0 ? `analysis passed (${phases.map((p) => p.spec.name).join(', ')}), ` : '';
  return { ...base, verdict: 'promote', reason: `${analysis}baked ${formatDuration(policy.canary.bakeMs)} since all canaries healthy`, since: bakeEnd };
}

function min(...values: (number | undefined)[]): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length ? Math.min(...defined) : undefined;
}

function record(ctx: PromoterContext, effect: EffectRequest, now: number): DecisionRecord {
  return { at: now, action: effect.action, groups: effect.groups, outcome: 'pending', reason: effect.reason, evidence: effect.evidence };
}

/** Effects already carried out (or reported in dry-run) for this deployment are not emitted again. */
function isNew(ctx: PromoterContext, key: string): boolean {
  return ctx.done[key] === undefined;
}

/**
 * Absorb an observation (and fresh measurements) into the context and list due effects.
 * Idempotent: the same inputs twice yield no second effect.
 */
export function plan(
  prev: PromoterContext,
  obs: DeploymentObservation,
  measurements: TaggedMeasurement[],
  now: number,
): Plan {
  const groups: Record<string, GroupTrack> = {};
  const governed = obs.groups.filter((g): g is GroupObservation & { policy: Policy } => g.policy !== undefined);
  for (const g of governed) groups[g.name] = absorbGroup(prev.groups[g.name], g, g.policy, obs.dryRun, measurements, now);
  const ctx: PromoterContext = {
    ...prev,
    jobVersion: obs.jobVersion,
    nomadStatus: obs.status,
    groups,
    pending: [],
    wakeAt: undefined,
    warnings: governed.filter((g) => g.autoPromote).map((g) => `group ${g.name} has Nomad auto_promote: Nomad may promote before analysis ends`),
    updatedAt: now,
    lastEvidenceAt: measurements.length > 0 ? now : prev.lastEvidenceAt,
  };
  if (!isActiveDeployment(obs.status) || governed.length === 0) return { context: ctx, effects: [] };

  const effects: EffectRequest[] = [];
  const pending: PendingDecision[] = [];
  const dryRunOf = (g: GroupObservation) => groups[g.name]?.mode === 'dry-run';

  const canaryVerdicts = governed.filter(isCanaryGroup).map((g) => canaryVerdict(g, groups[g.name]!, g.policy, now));
  const rolloutFailures = governed.flatMap((g): GroupVerdict[] => {
    const failed = describe(phasesOf(groups[g.name]!, 'rollout', g.policy), ['failed']);
    return failed ? [{ group: g.name, verdict: 'fail', reason: `rollout analysis failed: ${failed}`, evidence: stageEvidence(groups[g.name]!, 'rollout') }] : [];
  });

  const failing = [...canaryVerdicts.filter((v) => v.verdict === 'fail'), ...rolloutFailures];
  if (failing.length > 0) {
    const first = failing[0]!;
    const policy = governed.find((g) => g.name === first.group)!.policy;
    const effect: EffectRequest = {
      key: 'fail',
      action: 'fail',
      groups: failing.map((f) => f.group),
      reason: failing.map((f) => `${f.group}: ${f.reason}`).join('; '),
      dryRun: governed.some((g) => g.name === first.group && dryRunOf(g)),
      evidence: failing.flatMap((f) => f.evidence),
      decidableAt: decidableAt(failing.flatMap((f) => f.evidence), now, ...failing.map((f) => f.since)),
      rollback: policy.onFailure.rollback,
      autoRevertGroups: obs.groups.filter((g) => g.autoRevert).map((g) => g.name),
    };
    if (isNew(ctx, effect.key)) effects.push(effect);
    pending.push({ action: 'fail', groups: effect.groups, reason: effect.reason });
  } else if (ctx.done['fail'] === undefined) {
    effects.push(...promotions(ctx, governed, canaryVerdicts, dryRunOf, pending, now));
    for (const v of canaryVerdicts) {
      if (v.verdict === 'hold' || v.verdict === 'wait') pending.push({ action: v.verdict, groups: [v.group], reason: v.reason });
    }
  }
  const health = healthDecisions(ctx, governed, dryRunOf, now);
  effects.push(...health);

  ctx.pending = pending;
  ctx.wakeAt = min(...canaryVerdicts.map((v) => v.wakeAt));
  for (const e of effects) {
    ctx.history = [...ctx.history, record(ctx, e, now)].slice(-HISTORY_LIMIT);
  }
  return { context: ctx, effects };
}

function promotions(
  ctx: PromoterContext,
  governed: (GroupObservation & { policy: Policy })[],
  verdicts: GroupVerdict[],
  dryRunOf: (g: GroupObservation) => boolean,
  pending: PendingDecision[],
  now: number,
): EffectRequest[] {
  const ready = verdicts.filter((v) => v.verdict === 'promote');
  const open = verdicts.filter((v) => v.verdict !== 'done');
  const policyOf = (group: string) => governed.find((g) => g.name === group)!;
  // `together: true` groups wait for each other and go out in one call.
  const together = ready.filter((v) => policyOf(v.group).policy.canary.together);
  const alone = ready.filter((v) => !policyOf(v.group).policy.canary.together);
  const batches: GroupVerdict[][] = alone.map((v) => [v]);
  const togetherOpen = open.filter((v) => policyOf(v.group).policy.canary.together);
  if (together.length > 0 && together.length === togetherOpen.length) batches.push(together);
  else if (together.length > 0) {
    for (const v of together) pending.push({ action: 'wait', groups: [v.group], reason: `${v.reason}; waiting for the other groups (together)` });
  }
  return batches.flatMap((batch) => {
    const names = batch.map((v) => v.group).sort();
    const key = `promote:${names.join(',')}`;
    pending.push({ action: 'promote', groups: names, reason: batch.map((v) => v.reason).join('; ') });
    if (!isNew(ctx, key)) return [];
    return [{
      key,
      action: 'promote' as const,
      groups: names,
      reason: batch.map((v) => (batch.length > 1 ? `${v.group}: ${v.reason}` : v.reason)).join('; '),
      dryRun: batch.some((v) => dryRunOf(policyOf(v.group))),
      evidence: batch.flatMap((v) => v.evidence),
      decidableAt: decidableAt(batch.flatMap((v) => v.evidence), now, ...batch.map((v) => v.since)),
    }];
  });
}

/** Manual-health groups: every allocation whose health checks all passed is healthy; any failed, unhealthy. One batch. */
function healthDecisions(
  ctx: PromoterContext,
  governed: (GroupObservation & { policy: Policy })[],
  dryRunOf: (g: GroupObservation) => boolean,
  now: number,
): EffectRequest[] {
  const healthy: string[] = [];
  const unhealthy: string[] = [];
  const evidence: Measurement[] = [];
  let dryRun = false;
  for (const g of governed.filter((x) => x.healthCheck === 'manual')) {
    const track = ctx.groups[g.name]!;
    const specs = stageChecks(g.policy, 'health');
    if (specs.length === 0) continue;
    for (const id of allocsInScope('health', g)) {
      if (track.healthDecided[id] !== undefined) continue;
      const phases = specs.map((spec) => {
        const r = track.checks[checkKey('health', spec.name)];
        return checkPhase(spec, r && { ...r, measurements: r.measurements.filter((m) => m.allocId === id) }, [id]);
      });
      if (phases.includes('failed')) unhealthy.push(id);
      else if (phases.every((p) => p === 'passed')) healthy.push(id);
      else continue;
      dryRun ||= dryRunOf(g);
      evidence.push(...Object.values(track.checks).flatMap((r) => r.measurements.filter((m) => m.allocId === id).slice(-1)));
    }
  }
  if (healthy.length === 0 && unhealthy.length === 0) return [];
  const groups = governed.filter((g) => g.healthCheck === 'manual').map((g) => g.name);
  const reason = [healthy.length ? `healthy: ${healthy.length} passed health checks` : '', unhealthy.length ? `unhealthy: ${unhealthy.length} failed health checks` : '']
    .filter(Boolean)
    .join('; ');
  const key = `set_health:${[...healthy, ...unhealthy].sort().join(',')}`;
  if (!isNew(ctx, key)) return [];
  return [{ key, action: 'set_health', groups, reason, dryRun, evidence, decidableAt: decidableAt(evidence, now), healthy, unhealthy }];
}
