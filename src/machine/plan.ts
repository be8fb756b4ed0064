/**
 * The pure decision core: given what the machine remembered, what was just observed and
 * measured, and `now`, work out the next context and which effects are due.
 * No I/O, no clock: everything arrives as data. The xstate machine (machine.ts) calls it.
 */
import type { Measurement, CheckPhase } from '../domain/analysis.js';
import type { CheckSpec, Policy } from '../domain/policy.js';
import { isActiveDeployment } from '../domain/nomad.js';
import { formatDuration } from '../policy/duration.js';
import { assessCheck, assessAllocationCheck, isTerminalPhase } from '../analysis/assess.js';
import type {
  CheckRecord,
  DecisionRecord,
  DecisionSource,
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
  /** fail, set_health with unhealthy allocations, revert: how to roll back afterwards. */
  rollback?: Policy['onFailure']['rollback'];
  /** Groups for which Nomad's own auto_revert applies. */
  autoRevertGroups?: string[];
  /** A person's decision (absent: the policy's), and who asked. */
  source?: DecisionSource;
  who?: string;
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

type Governed = GroupObservation & { policy: Policy };

const HISTORY_LIMIT = 100;

export function checkKey(stage: Stage, check: string): string {
  return `${stage}:${check}`;
}

/** Effects are keyed by mode too: a dry-run report never stands in for the real action. */
export function effectKey(action: EffectAction, ids: string[], dryRun: boolean): string {
  return `${dryRun ? 'dry-run:' : ''}${action}${ids.length ? `:${[...ids].sort().join(',')}` : ''}`;
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
  return group.allocs.filter((a) => a.running && (a.healthy === null || a.healthy === undefined)).map((a) => a.id);
}

function isCanaryGroup(group: GroupObservation): boolean {
  return group.desiredCanaries > 0;
}

export function stageChecks(policy: Policy, stage: Stage): CheckSpec[] {
  const names = stage === 'canary' ? policy.canary.analysis : stage === 'rollout' ? policy.rollout.analysis : policy.health.checks;
  return names.map((n) => policy.checks[n]).filter((c): c is CheckSpec => c !== undefined);
}

/**
 * The stages whose checks run now for a governed group. The canary stage starts once every
 * canary is healthy in Nomad and ends with the promotion, except where Nomad's auto_promote
 * promoted first: then the canary analysis still runs to its end (a failure still fails).
 */
export function activeStages(group: GroupObservation, track: GroupTrack, policy: Policy): Stage[] {
  const stages: Stage[] = [];
  const canaryOpen =
    !track.promoted ||
    (group.autoPromote && stageChecks(policy, 'canary').some((spec) => !isTerminalPhase(track.checks[checkKey('canary', spec.name)]?.phase ?? 'pending')));
  if (isCanaryGroup(group) && track.canariesHealthyAt !== undefined && canaryOpen) stages.push('canary');
  if (!isCanaryGroup(group) || track.promoted) stages.push('rollout');
  if (group.healthCheck === 'manual') stages.push('health');
  return stages;
}

/**
 * When all canaries are healthy: our first sight of it, on the promoter's clock. Nomad's health
 * timestamps come from client clocks that may be skewed (one behind would shorten the bake), so
 * they are not used. Kept while the same canaries stay healthy; a different set starts over.
 */
function canariesHealthy(group: GroupObservation, previous: GroupTrack | undefined, now: number): Pick<GroupTrack, 'canariesHealthyAt' | 'canaryIds'> {
  const healthy = group.canaries.filter((a) => a.healthy === true);
  // Not all healthy: the bake clock stops, but the last healthy set is kept to tell a replacement.
  if (group.desiredCanaries === 0 || healthy.length < group.desiredCanaries || healthy.length < group.canaries.length) {
    return previous?.canaryIds ? { canaryIds: previous.canaryIds } : {};
  }
  const ids = healthy.map((a) => a.id).sort();
  if (previous?.canariesHealthyAt !== undefined && previous.canaryIds?.join(',') === ids.join(',')) {
    return { canariesHealthyAt: previous.canariesHealthyAt, canaryIds: ids };
  }
  return { canariesHealthyAt: now, canaryIds: ids };
}

/** Check records carried over: none after a policy change; after a canary was replaced, only failures. */
function carriedChecks(previous: GroupTrack | undefined, policy: Policy, canaryIds: string[] | undefined): Record<string, CheckRecord> {
  if (!previous || previous.policy !== policy.name) return {};
  const replaced = previous.canaryIds !== undefined && canaryIds !== undefined && previous.canaryIds.join(',') !== canaryIds.join(',');
  if (!replaced) return { ...previous.checks };
  return Object.fromEntries(Object.entries(previous.checks).filter(([key, r]) => !key.startsWith('canary:') || r.phase === 'failed'));
}

function absorbGroup(previous: GroupTrack | undefined, group: Governed, dryRun: boolean, measurements: TaggedMeasurement[], now: number): GroupTrack {
  const { policy } = group;
  const healthy = canariesHealthy(group, previous, now);
  const track: GroupTrack = {
    policy: policy.name,
    mode: dryRun || policy.mode === 'dry-run' ? 'dry-run' : 'enforce',
    canary: isCanaryGroup(group),
    promoted: group.promoted || (previous?.promoted ?? false),
    checks: carriedChecks(previous, policy, healthy.canaryIds),
    healthDecided: { ...(previous?.healthDecided ?? {}) },
    ...healthy,
  };
  for (const stage of activeStages(group, track, policy)) {
    for (const spec of stageChecks(policy, stage)) {
      const key = checkKey(stage, spec.name);
      const inScope = allocsInScope(stage, group);
      const record: CheckRecord = track.checks[key] ?? { startedAt: now, measurements: [], phase: 'pending' };
      const fresh = measurements
        .filter((m) => m.group === group.name && m.stage === stage && m.measurement.check === spec.name)
        .map((m) => m.measurement);
      const next: CheckRecord = { ...record, measurements: [...record.measurements, ...fresh] };
      if (spec.scope === 'allocation') {
        next.allocStartedAt = { ...record.allocStartedAt };
        for (const id of inScope) next.allocStartedAt[id] ??= now;
      }
      next.phase = checkPhase(spec, next, inScope);
      track.checks[key] = next;
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

/** Earliest of the deadlines still ahead; a deadline already passed never asks for a wake-up. */
function nextWake(now: number, ...values: (number | undefined)[]): number | undefined {
  const ahead = values.filter((v): v is number => v !== undefined && v > now);
  return ahead.length ? Math.min(...ahead) : undefined;
}

function canaryVerdict(group: Governed, track: GroupTrack, ctx: PromoterContext, paused: boolean, now: number): GroupVerdict {
  const { policy } = group;
  const base = { group: group.name, evidence: stageEvidence(track, 'canary') };
  const phases = phasesOf(track, 'canary', policy);
  const failed = describe(phases, ['failed']);
  if (failed) return { ...base, verdict: 'fail', reason: `canary analysis failed: ${failed}` };
  if (track.promoted) return { ...base, verdict: 'done', reason: 'canaries promoted' };
  const healthyAt = track.canariesHealthyAt;
  if (healthyAt === undefined) {
    const healthy = group.canaries.filter((a) => a.healthy === true).length;
    const unhealthy = group.canaries.filter((a) => a.healthy === false).length;
    const note = unhealthy > 0 ? `, ${unhealthy} unhealthy` : '';
    return { ...base, verdict: 'wait', reason: `${healthy}/${group.desiredCanaries} canaries healthy${note}` };
  }
  if (paused) return { ...base, verdict: 'hold', reason: 'deployment is paused in Nomad' };
  // Time spent paused does not count toward the timeout.
  const pausedMs = ctx.pausedMs + (ctx.pausedSince !== undefined ? now - ctx.pausedSince : 0);
  const timeoutAt = policy.canary.timeoutMs !== undefined ? healthyAt + policy.canary.timeoutMs + pausedMs : undefined;
  const timedOut = timeoutAt !== undefined && now >= timeoutAt;
  const timeoutReason = `canary timeout ${formatDuration(policy.canary.timeoutMs ?? 0)} expired`;
  if (timedOut && policy.canary.onTimeout === 'fail') return { ...base, verdict: 'fail', reason: timeoutReason, since: timeoutAt };
  // Inconclusive or errored never promotes, not even at the timeout.
  const held = describe(phases, ['inconclusive', 'errored']);
  if (held) return { ...base, verdict: 'hold', reason: `holding: ${held}`, wakeAt: nextWake(now, timeoutAt) };
  if (policy.canary.promote === 'manual') return { ...base, verdict: 'wait', reason: 'canary.promote is manual', wakeAt: nextWake(now, timeoutAt) };
  if (timedOut && policy.canary.onTimeout === 'promote') return { ...base, verdict: 'promote', reason: `${timeoutReason}: onTimeout promote`, since: timeoutAt };
  const running = describe(phases, ['pending', 'running']);
  if (running) return { ...base, verdict: 'wait', reason: `analysis running: ${running}`, wakeAt: nextWake(now, timeoutAt) };
  const bakeEnd = healthyAt + policy.canary.bakeMs;
  if (now < bakeEnd) {
    return { ...base, verdict: 'wait', reason: `baking until ${new Date(bakeEnd).toISOString()}`, wakeAt: nextWake(now, bakeEnd, timeoutAt) };
  }
  const analysis = phases.length > 0 ? `analysis passed (${phases.map((p) => p.spec.name).join(', ')}), ` : '';
  return { ...base, verdict: 'promote', reason: `${analysis}baked ${formatDuration(policy.canary.bakeMs)} since all canaries healthy`, since: bakeEnd };
}

function rolloutFailure(group: Governed, track: GroupTrack): GroupVerdict[] {
  const failed = describe(phasesOf(track, 'rollout', group.policy), ['failed']);
  return failed ? [{ group: group.name, verdict: 'fail', reason: `rollout analysis failed: ${failed}`, evidence: stageEvidence(track, 'rollout') }] : [];
}

function record(effect: EffectRequest, now: number): DecisionRecord {
  return { at: now, action: effect.action, groups: effect.groups, outcome: 'pending', reason: effect.reason, evidence: effect.evidence, source: 'policy' };
}

/** Effects already carried out (or reported in dry-run) for this deployment are not emitted again. */
function isNew(ctx: PromoterContext, key: string): boolean {
  return ctx.done[key] === undefined;
}

/** Split into the enforced part and the dry-run part, each acted on (or reported) on its own. */
function byMode<T>(items: T[], isDryRun: (item: T) => boolean): [T[], boolean][] {
  const parts: [T[], boolean][] = [
    [items.filter((i) => !isDryRun(i)), false],
    [items.filter(isDryRun), true],
  ];
  return parts.filter(([part]) => part.length > 0);
}

function trackPause(prev: PromoterContext, paused: boolean, now: number): Pick<PromoterContext, 'pausedMs' | 'pausedSince'> {
  const pausedMs = prev.pausedMs ?? 0;
  if (paused) return { pausedMs, pausedSince: prev.pausedSince ?? now };
  return { pausedMs: pausedMs + (prev.pausedSince !== undefined ? now - prev.pausedSince : 0), pausedSince: undefined };
}

/**
 * Absorb an observation (and fresh measurements) into the context and list due effects.
 * Idempotent: the same inputs twice yield no second effect.
 */
export function plan(prev: PromoterContext, obs: DeploymentObservation, measurements: TaggedMeasurement[], now: number): Plan {
  const paused = obs.status === 'paused';
  const governed = obs.groups.filter((g): g is Governed => g.policy !== undefined);
  const groups: Record<string, GroupTrack> = {};
  for (const g of governed) groups[g.name] = absorbGroup(prev.groups[g.name], g, obs.dryRun, measurements, now);
  const ctx: PromoterContext = {
    ...prev,
    ...trackPause(prev, paused, now),
    jobVersion: obs.jobVersion,
    nomadStatus: obs.status,
    groups,
    pending: [],
    wakeAt: undefined,
    warnings: governed.filter((g) => g.autoPromote).map((g) => `group ${g.name} has Nomad auto_promote: Nomad may promote before analysis ends`),
    updatedAt: now,
  };
  const effects: EffectRequest[] = [];
  const dryRunOf = (group: string) => groups[group]?.mode === 'dry-run';
  const policyOf = (group: string) => governed.find((g) => g.name === group)!.policy;

  if (ctx.rollbackDue && isNew(ctx, 'revert')) {
    effects.push({ key: 'revert', action: 'revert', groups: ctx.rollbackDue.groups, reason: ctx.rollbackDue.reason, dryRun: false, evidence: [], decidableAt: now });
  }
  if (isActiveDeployment(obs.status) && governed.length > 0) {
    const pending: PendingDecision[] = [];
    const canaryVerdicts = governed.filter(isCanaryGroup).map((g) => canaryVerdict(g, groups[g.name]!, ctx, paused, now));
    const failing = [...canaryVerdicts.filter((v) => v.verdict === 'fail'), ...governed.flatMap((g) => rolloutFailure(g, groups[g.name]!))];
    // rollback auto relies on Nomad's auto_revert where a governed group has it.
    const autoRevertGroups = governed.filter((g) => g.autoRevert).map((g) => g.name);
    for (const [part, dryRun] of byMode(failing, (v) => dryRunOf(v.group))) {
      const names = part.map((f) => f.group);
      const effect: EffectRequest = {
        key: effectKey('fail', [], dryRun),
        action: 'fail',
        groups: names,
        reason: part.map((f) => `${f.group}: ${f.reason}`).join('; '),
        dryRun,
        evidence: part.flatMap((f) => f.evidence),
        decidableAt: decidableAt(part.flatMap((f) => f.evidence), now, ...part.map((f) => f.since)),
        rollback: policyOf(names[0]!).onFailure.rollback,
        autoRevertGroups,
      };
      if (isNew(ctx, effect.key)) effects.push(effect);
      pending.push({ action: 'fail', groups: names, reason: effect.reason });
    }
    // Once the deployment is failed for real (or about to be), nothing is promoted any more.
    const failingForReal = failing.some((f) => !dryRunOf(f.group)) || ctx.done['fail'] !== undefined;
    if (!failingForReal) {
      effects.push(...promotions(ctx, canaryVerdicts.filter((v) => v.verdict !== 'fail'), policyOf, dryRunOf, pending, now));
      for (const v of canaryVerdicts) {
        if (v.verdict === 'hold' || v.verdict === 'wait') pending.push({ action: v.verdict, groups: [v.group], reason: v.reason });
      }
    }
    effects.push(...healthDecisions(ctx, governed, dryRunOf, autoRevertGroups, now));
    ctx.pending = pending;
    ctx.wakeAt = nextWake(now, ...canaryVerdicts.map((v) => v.wakeAt));
  }
  const entries = [...holdChanges(prev.groups, groups, now), ...effects.map((e) => record(e, now))];
  ctx.history = [...ctx.history, ...entries].slice(-HISTORY_LIMIT);
  return { context: ctx, effects };
}

const HOLDS: readonly CheckPhase[] = ['errored', 'inconclusive'];

/** A check entering or leaving a hold is history too, with the provider's message as the cause. */
function holdChanges(before: Record<string, GroupTrack>, after: Record<string, GroupTrack>, now: number): DecisionRecord[] {
  return Object.entries(after).flatMap(([group, track]) =>
    Object.entries(track.checks).flatMap(([key, r]) => {
      const from = before[group]?.checks[key]?.phase ?? 'pending';
      if (from === r.phase || !(HOLDS.includes(from) || HOLDS.includes(r.phase))) return [];
      const last = r.measurements[r.measurements.length - 1];
      const [stage, check] = key.split(':');
      const cause = last?.message ? `: ${last.message}` : '';
      return [{ at: now, action: 'check' as const, groups: [group], outcome: 'ok' as const, reason: `${stage} check ${check} ${from} -> ${r.phase}${cause}`, evidence: last ? [last] : [] }];
    }),
  );
}

function promotions(
  ctx: PromoterContext,
  verdicts: GroupVerdict[],
  policyOf: (group: string) => Policy,
  dryRunOf: (group: string) => boolean,
  pending: PendingDecision[],
  now: number,
): EffectRequest[] {
  const ready = verdicts.filter((v) => v.verdict === 'promote');
  const open = verdicts.filter((v) => v.verdict !== 'done');
  // `together: true` groups wait for each other and go out in one call (one per mode).
  const together = ready.filter((v) => policyOf(v.group).canary.together);
  const batches: GroupVerdict[][] = ready.filter((v) => !policyOf(v.group).canary.together).map((v) => [v]);
  if (together.length > 0 && together.length === open.filter((v) => policyOf(v.group).canary.together).length) {
    batches.push(...byMode(together, (v) => dryRunOf(v.group)).map(([part]) => part));
  } else {
    for (const v of together) pending.push({ action: 'wait', groups: [v.group], reason: `${v.reason}; waiting for the other groups (together)` });
  }
  return batches.flatMap((batch) => {
    const names = batch.map((v) => v.group).sort();
    const dryRun = dryRunOf(names[0]!);
    const key = effectKey('promote', names, dryRun);
    pending.push({ action: 'promote', groups: names, reason: batch.map((v) => v.reason).join('; ') });
    if (!isNew(ctx, key)) return [];
    return [{
      key,
      action: 'promote' as const,
      groups: names,
      reason: batch.map((v) => (batch.length > 1 ? `${v.group}: ${v.reason}` : v.reason)).join('; '),
      dryRun,
      evidence: batch.flatMap((v) => v.evidence),
      decidableAt: decidableAt(batch.flatMap((v) => v.evidence), now, ...batch.map((v) => v.since)),
    }];
  });
}

interface HealthVerdict {
  group: Governed;
  id: string;
  healthy: boolean;
  evidence: Measurement[];
}

/** Manual-health groups: an allocation whose health checks all passed is healthy; any failed, unhealthy. */
function healthVerdicts(ctx: PromoterContext, group: Governed): HealthVerdict[] {
  const track = ctx.groups[group.name]!;
  const specs = stageChecks(group.policy, 'health');
  if (group.healthCheck !== 'manual' || specs.length === 0) return [];
  return allocsInScope('health', group).flatMap((id): HealthVerdict[] => {
    if (track.healthDecided[id] !== undefined) return [];
    const own = specs.map((spec) => {
      const r = track.checks[checkKey('health', spec.name)];
      return r && { ...r, measurements: r.measurements.filter((m) => m.allocId === id) };
    });
    const phases = specs.map((spec, i) => checkPhase(spec, own[i], [id]));
    if (!phases.includes('failed') && !phases.every((p) => p === 'passed')) return [];
    const evidence = own.flatMap((r) => r?.measurements.slice(-1) ?? []);
    return [{ group, id, healthy: !phases.includes('failed'), evidence }];
  });
}

/** One allocation-health call per batch (per mode), for the groups whose allocations are in it. */
function healthDecisions(ctx: PromoterContext, governed: Governed[], dryRunOf: (group: string) => boolean, autoRevertGroups: string[], now: number): EffectRequest[] {
  const verdicts = governed.flatMap((g) => healthVerdicts(ctx, g));
  return byMode(verdicts, (v) => dryRunOf(v.group.name)).flatMap(([part, dryRun]) => {
    const healthy = part.filter((v) => v.healthy).map((v) => v.id);
    const unhealthy = part.filter((v) => !v.healthy).map((v) => v.id);
    const key = effectKey('set_health', [...healthy, ...unhealthy], dryRun);
    if (!isNew(ctx, key)) return [];
    const groups = [...new Set(part.map((v) => v.group.name))].sort();
    const evidence = part.flatMap((v) => v.evidence);
    const reason = [healthy.length ? `healthy: ${healthy.length} passed health checks` : '', unhealthy.length ? `unhealthy: ${unhealthy.length} failed health checks` : '']
      .filter(Boolean)
      .join('; ');
    const failing = part.find((v) => !v.healthy);
    return [{
      key,
      action: 'set_health' as const,
      groups,
      reason,
      dryRun,
      evidence,
      decidableAt: decidableAt(evidence, now),
      healthy,
      unhealthy,
      // An unhealthy allocation fails the deployment in Nomad: the policy's rollback applies.
      ...(failing ? { rollback: failing.group.policy.onFailure.rollback, autoRevertGroups } : {}),
    }];
  });
}
