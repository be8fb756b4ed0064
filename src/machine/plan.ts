/**
 * The coordinator of one deployment's group machines: absorbs what was just observed and
 * measured into each group's record, reads from it the facts each group machine
 * (group-machine.ts) decides on, steps those machines, and turns their requests into effects
 * where groups meet (`together`, one fail for the deployment, dry-run).
 * No I/O, no clock: everything arrives as data. The deployment machine (machine.ts) calls it.
 */
import { transition, type StateValue } from 'xstate';
import { HOLDING_PHASES, type Measurement, type CheckPhase } from '../domain/analysis.js';
import type { CheckSpec, Policy } from '../domain/policy.js';
import { isActiveDeployment } from '../domain/nomad.js';
import { formatDuration } from '../policy/duration.js';
import { assessCheck, assessAllocationCheck, trimErrorRuns } from '../analysis/assess.js';
import { activeStages, allocsInScope, bakeEndsAt, canaryTimeoutAt, checkKey, stageChecks } from './due.js';
import { groupMachine, groupStateOf, initialGroupState, type AnalysisPhase, type GroupEvent, type GroupFacts } from './group-machine.js';
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

function isCanaryGroup(group: GroupObservation): boolean {
  return group.desiredCanaries > 0;
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
    state: previous?.state ?? initialGroupState(),
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
      const next: CheckRecord = { ...record, measurements: trimErrorRuns(spec, [...record.measurements, ...fresh]) };
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

function describe(phases: { spec: CheckSpec; phase: CheckPhase }[], wanted: readonly CheckPhase[]): string {
  return phases
    .filter((p) => wanted.includes(p.phase))
    .map((p) => `${p.spec.name} ${p.phase}`)
    .join(', ');
}

/** The worst phase among a stage's checks (none: passed). */
export function analysisPhase(phases: CheckPhase[]): AnalysisPhase {
  for (const worst of ['failed', 'inconclusive', 'errored'] as const) if (phases.includes(worst)) return worst;
  return phases.some((p) => p === 'pending' || p === 'running') ? 'running' : 'passed';
}

/** Earliest of the deadlines still ahead; a deadline already passed never asks for a wake-up. */
function nextWake(now: number, ...values: (number | undefined)[]): number | undefined {
  const ahead = values.filter((v): v is number => v !== undefined && v > now);
  return ahead.length ? Math.min(...ahead) : undefined;
}

/** What the coordinator read of one group: the machine's facts, and the words and times behind them. */
interface GroupReading {
  facts: GroupFacts;
  canaryPhases: { spec: CheckSpec; phase: CheckPhase }[];
  bakeEnd?: number;
  timeoutAt?: number;
}

function readGroup(group: Governed, track: GroupTrack, ctx: PromoterContext, paused: boolean, now: number): GroupReading {
  const { policy } = group;
  const canaryPhases = phasesOf(track, 'canary', policy);
  const healthyAt = track.canariesHealthyAt;
  const timeoutAt = canaryTimeoutAt(track, ctx, policy, now);
  const bakeEnd = bakeEndsAt(track, policy);
  const facts: GroupFacts = {
    canary: isCanaryGroup(group),
    promotedInNomad: track.promoted,
    canariesHealthy: healthyAt !== undefined,
    paused,
    canaryAnalysis: analysisPhase(canaryPhases.map((p) => p.phase)),
    rolloutAnalysis: analysisPhase(phasesOf(track, 'rollout', policy).map((p) => p.phase)),
    baked: bakeEnd !== undefined && now >= bakeEnd,
    timeout: timeoutAt !== undefined && now >= timeoutAt ? policy.canary.onTimeout : 'none',
    manual: policy.canary.promote === 'manual',
  };
  return { facts, canaryPhases, ...(bakeEnd !== undefined ? { bakeEnd } : {}), ...(timeoutAt !== undefined ? { timeoutAt } : {}) };
}

function timeoutReason(policy: Policy): string {
  return `canary timeout ${formatDuration(policy.canary.timeoutMs ?? 0)} expired`;
}

/** Why a group asks to be promoted, and since when the evidence allowed it. */
function promoteReason(group: Governed, r: GroupReading): { reason: string; since?: number } {
  if (r.facts.timeout === 'promote' && !(r.facts.canaryAnalysis === 'passed' && r.facts.baked)) {
    return { reason: `${timeoutReason(group.policy)}: onTimeout promote`, since: r.timeoutAt };
  }
  const analysis = r.canaryPhases.length > 0 ? `analysis passed (${r.canaryPhases.map((p) => p.spec.name).join(', ')}), ` : '';
  return { reason: `${analysis}baked ${formatDuration(group.policy.canary.bakeMs)} since all canaries healthy`, since: r.bakeEnd };
}

/** Why a group asks for the deployment to be failed. */
function failReason(group: Governed, track: GroupTrack, r: GroupReading): { reason: string; evidence: Measurement[]; since?: number } {
  const canaryFailed = describe(r.canaryPhases, ['failed']);
  if (canaryFailed) return { reason: `canary analysis failed: ${canaryFailed}`, evidence: stageEvidence(track, 'canary') };
  const rolloutFailed = describe(phasesOf(track, 'rollout', group.policy), ['failed']);
  if (rolloutFailed) return { reason: `rollout analysis failed: ${rolloutFailed}`, evidence: stageEvidence(track, 'rollout') };
  return { reason: timeoutReason(group.policy), evidence: stageEvidence(track, 'canary'), since: r.timeoutAt };
}

/** What a group in its state waits for, in words (status `pending`). */
function pendingOf(group: Governed, track: GroupTrack, r: GroupReading, now: number): PendingDecision | undefined {
  const { state, hold } = groupStateOf(track.state);
  const groups = [group.name];
  if (state === 'waiting') {
    const healthy = group.canaries.filter((a) => a.healthy === true).length;
    const unhealthy = group.canaries.filter((a) => a.healthy === false).length;
    return { action: 'wait', groups, reason: `${healthy}/${group.desiredCanaries} canaries healthy${unhealthy > 0 ? `, ${unhealthy} unhealthy` : ''}` };
  }
  if (state === 'baking') {
    const running = describe(r.canaryPhases, ['pending', 'running']);
    if (running) return { action: 'wait', groups, reason: `analysis running: ${running}` };
    return { action: 'wait', groups, reason: `baking until ${new Date(r.bakeEnd ?? now).toISOString()}` };
  }
  if (state === 'ready') return { action: 'wait', groups, reason: `${promoteReason(group, r).reason}; waiting for the other groups (together)` };
  if (state === 'holding') {
    // Any hold taken while paused stays as it is until Nomad resumes: the pause is what it waits for.
    if (hold === 'paused' || r.facts.paused) return { action: 'hold', groups, reason: 'deployment is paused in Nomad' };
    if (hold === 'manual') return { action: 'wait', groups, reason: 'canary.promote is manual' };
    return { action: 'hold', groups, reason: `holding: ${describe(r.canaryPhases, HOLDING_PHASES)}` };
  }
  return undefined;
}

function record(effect: EffectRequest, now: number): DecisionRecord {
  return {
    at: now,
    action: effect.action,
    groups: effect.groups,
    outcome: 'pending',
    reason: effect.reason,
    evidence: effect.evidence,
    source: effect.source ?? 'policy',
    ...(effect.who ? { who: effect.who } : {}),
    ...(effect.action === 'set_health' && (effect.unhealthy?.length ?? 0) > 0 ? { failsDeployment: true } : {}),
  };
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

/** One event to one group's machine: its next state value and the requests it made. */
export function stepGroup(value: StateValue, event: GroupEvent): { state: StateValue; requests: string[] } {
  const [next, actions] = transition(groupMachine, groupMachine.resolveState({ value, context: undefined }), event);
  return { state: next.value, requests: actions.map((a) => a.type) };
}

/** Send one event to the named groups' machines. */
export function tellGroups(groups: Record<string, GroupTrack>, names: string[], event: GroupEvent): Record<string, GroupTrack> {
  const out = { ...groups };
  for (const name of names) if (out[name]) out[name] = { ...out[name]!, state: stepGroup(out[name]!.state, event).state };
  return out;
}

/**
 * Absorb an observation (and fresh measurements) into the context, step every group's machine
 * and work out, across groups, the effects due: `together` promotes in one call, one fail for the
 * deployment (per mode), nothing promoted once it fails. Idempotent: the same inputs twice
 * yield no second effect.
 */
export function plan(prev: PromoterContext, obs: DeploymentObservation, measurements: TaggedMeasurement[], now: number): Plan {
  const paused = obs.status === 'paused';
  const governed = obs.groups.filter((g): g is Governed => g.policy !== undefined);
  let groups: Record<string, GroupTrack> = {};
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

  if (ctx.rollbackDue && isNew(ctx, 'revert')) {
    effects.push({ key: 'revert', action: 'revert', groups: ctx.rollbackDue.groups, reason: ctx.rollbackDue.reason, dryRun: false, evidence: [], decidableAt: now });
  }
  if (isActiveDeployment(obs.status) && governed.length > 0) {
    const autoRevertGroups = governed.filter((g) => g.autoRevert).map((g) => g.name);
    if (ctx.failRequest) {
      // The deployment is being failed: nothing else is decided, the fail is asked until acknowledged.
      if (isNew(ctx, ctx.failRequest.key)) effects.push({ ...ctx.failRequest, decidableAt: now });
      ctx.pending = [{ action: ctx.failRequest.action, groups: ctx.failRequest.groups, reason: ctx.failRequest.reason }];
    } else {
      const readings = new Map(governed.map((g) => [g.name, readGroup(g, groups[g.name]!, ctx, paused, now)]));
      const requests = new Map<string, string[]>();
      for (const g of governed) {
        const stepped = stepGroup(groups[g.name]!.state, { type: 'observe', facts: readings.get(g.name)!.facts });
        groups[g.name] = { ...groups[g.name]!, state: stepped.state };
        requests.set(g.name, stepped.requests);
      }
      groups = release(governed, groups, requests);
      const asking = (action: string) => governed.filter((g) => requests.get(g.name)!.includes(action));

      const failing = asking('fail');
      for (const [part, dryRun] of byMode(failing, (g) => dryRunOf(g.name))) {
        const why = part.map((g) => ({ g, ...failReason(g, groups[g.name]!, readings.get(g.name)!) }));
        const effect: EffectRequest = {
          key: effectKey('fail', [], dryRun),
          action: 'fail',
          groups: part.map((g) => g.name),
          reason: why.map((w) => `${w.g.name}: ${w.reason}`).join('; '),
          dryRun,
          evidence: why.flatMap((w) => w.evidence),
          decidableAt: decidableAt(why.flatMap((w) => w.evidence), now, ...why.map((w) => w.since)),
          rollback: part[0]!.policy.onFailure.rollback,
          autoRevertGroups,
        };
        if (isNew(ctx, effect.key)) effects.push(effect);
        // One fail for the whole deployment: every group goes down with it.
        if (!dryRun) {
          ctx.failRequest = effect;
          groups = tellGroups(groups, Object.keys(groups), { type: 'fail' });
        }
      }
      if (ctx.failRequest) {
        ctx.pending = [{ action: 'fail', groups: ctx.failRequest.groups, reason: ctx.failRequest.reason }];
      } else {
        const pending: PendingDecision[] = failing.map((g) => ({ action: 'fail', groups: [g.name], reason: failReason(g, groups[g.name]!, readings.get(g.name)!).reason }));
        for (const batch of promoteBatches(asking('promote'), dryRunOf)) {
          const names = batch.map((g) => g.name).sort();
          const why = batch.map((g) => ({ g, ...promoteReason(g, readings.get(g.name)!), evidence: stageEvidence(groups[g.name]!, 'canary') }));
          const dryRun = dryRunOf(names[0]!);
          const key = effectKey('promote', names, dryRun);
          // A person's promote that Nomad has not acknowledged yet is asked again as theirs.
          const human = [...ctx.history].reverse().find((h) => h.action === 'promote' && h.source === 'human' && h.groups.join(',') === names.join(',') && h.outcome !== 'ok');
          const reason = human?.reason ?? why.map((w) => (batch.length > 1 ? `${w.g.name}: ${w.reason}` : w.reason)).join('; ');
          pending.push({ action: 'promote', groups: names, reason });
          if (!isNew(ctx, key)) continue;
          const evidence = human ? [] : why.flatMap((w) => w.evidence);
          const by = human ? { source: 'human' as const, ...(human.who ? { who: human.who } : {}) } : {};
          effects.push({ key, action: 'promote', groups: names, reason, dryRun, evidence, decidableAt: decidableAt(evidence, now, ...why.map((w) => w.since)), ...by });
        }
        for (const g of governed) {
          const p = pendingOf(g, groups[g.name]!, readings.get(g.name)!, now);
          if (p) pending.push(p);
        }
        ctx.pending = pending;
        ctx.wakeAt = nextWake(now, ...governed.flatMap((g) => deadlines(groups[g.name]!, readings.get(g.name)!)));
      }
    }
    ctx.groups = groups;
    effects.push(...healthDecisions(ctx, governed, dryRunOf, autoRevertGroups, now));
  }
  ctx.groups = groups;
  const entries = [...holdChanges(prev.groups, groups, now), ...effects.map((e) => record(e, now))];
  ctx.history = [...ctx.history, ...entries].slice(-HISTORY_LIMIT);
  return { context: ctx, effects };
}

/** The deadlines a group's state waits for: the end of the bake, the canary timeout. */
function deadlines(track: GroupTrack, r: GroupReading): (number | undefined)[] {
  const { state } = groupStateOf(track.state);
  if (state === 'baking') return [r.bakeEnd, r.timeoutAt];
  if (state === 'ready' || state === 'holding') return [r.timeoutAt];
  return [];
}

/**
 * Ready groups are let go: each on its own, except `together: true` groups, which wait until
 * every open one of them is ready and then go out in one call.
 */
function release(governed: Governed[], groups: Record<string, GroupTrack>, requests: Map<string, string[]>): Record<string, GroupTrack> {
  const isReady = (g: Governed) => groupStateOf(groups[g.name]!.state).state === 'ready';
  const open = (g: Governed) => g.desiredCanaries > 0 && !['promoting', 'promoted', 'succeeded', 'failed'].includes(groupStateOf(groups[g.name]!.state).state);
  const together = governed.filter((g) => g.policy.canary.together && open(g));
  const go = governed.filter((g) => isReady(g) && (!g.policy.canary.together || together.every(isReady)));
  let out = groups;
  for (const g of go) {
    const stepped = stepGroup(out[g.name]!.state, { type: 'release' });
    out = { ...out, [g.name]: { ...out[g.name]!, state: stepped.state } };
    requests.set(g.name, [...requests.get(g.name)!, ...stepped.requests]);
  }
  return out;
}

/** Promote requests into calls: `together` groups in one call (per mode), the others one each. */
function promoteBatches(asking: Governed[], dryRunOf: (group: string) => boolean): Governed[][] {
  const together = asking.filter((g) => g.policy.canary.together);
  return [...asking.filter((g) => !g.policy.canary.together).map((g) => [g]), ...byMode(together, (g) => dryRunOf(g.name)).map(([part]) => part)];
}

/** One check that changed phase in a pass; `hold` when it entered or left a hold. */
export interface PhaseChange {
  group: string;
  stage: string;
  check: string;
  from: CheckPhase;
  phase: CheckPhase;
  hold: boolean;
  last?: Measurement;
  /** In words, with the provider's message as the cause. */
  reason: string;
}

export function phaseChanges(before: Record<string, GroupTrack>, after: Record<string, GroupTrack>): PhaseChange[] {
  return Object.entries(after).flatMap(([group, track]) =>
    Object.entries(track.checks).flatMap(([key, r]): PhaseChange[] => {
      const from = before[group]?.checks[key]?.phase ?? 'pending';
      if (from === r.phase) return [];
      const last = r.measurements.at(-1);
      const [stage = '', check = ''] = key.split(':');
      const cause = last?.message ? `: ${last.message}` : '';
      const hold = HOLDING_PHASES.includes(from) || HOLDING_PHASES.includes(r.phase);
      return [{ group, stage, check, from, phase: r.phase, hold, ...(last ? { last } : {}), reason: `${stage} check ${check} ${from} -> ${r.phase}${cause}` }];
    }),
  );
}

/** A check entering or leaving a hold is history too. */
function holdChanges(before: Record<string, GroupTrack>, after: Record<string, GroupTrack>, now: number): DecisionRecord[] {
  return phaseChanges(before, after)
    .filter((c) => c.hold)
    .map((c) => ({ at: now, action: 'check' as const, groups: [c.group], outcome: 'ok' as const, reason: c.reason, evidence: c.last ? [c.last] : [] }));
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

export { checkKey };
