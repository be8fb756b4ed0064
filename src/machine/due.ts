/**
 * Which checks are due, decided in one place: the stages that run for a group now, the
 * allocations each check covers, and when each next measurement is due. The coordinator records
 * measurements only for these; the measurer takes exactly these (it only does the I/O).
 */
import type { CheckSpec, Policy } from '../domain/policy.js';
import { isTerminalPhase, nextMeasurementDue } from '../analysis/assess.js';
import type { DeploymentObservation, GroupObservation, GroupTrack, PromoterContext, Stage } from './types.js';

export function checkKey(stage: Stage, check: string): string {
  return `${stage}:${check}`;
}

/** Which allocations an allocation-scope check covers in a stage. */
export function allocsInScope(stage: Stage, group: GroupObservation): string[] {
  if (stage === 'canary') return group.canaries.map((a) => a.id);
  if (stage === 'rollout') return group.allocs.filter((a) => a.running).map((a) => a.id);
  return group.allocs.filter((a) => a.running && (a.healthy === null || a.healthy === undefined)).map((a) => a.id);
}

/** When the bake of a group whose canaries are all healthy ends. */
export function bakeEndsAt(track: GroupTrack, policy: Policy): number | undefined {
  return track.canariesHealthyAt !== undefined ? track.canariesHealthyAt + policy.canary.bakeMs : undefined;
}

/** When `canary.timeout` expires: time spent paused does not count toward it. */
export function canaryTimeoutAt(track: GroupTrack, ctx: Pick<PromoterContext, 'pausedMs' | 'pausedSince'>, policy: Policy, now: number): number | undefined {
  if (track.canariesHealthyAt === undefined || policy.canary.timeoutMs === undefined) return undefined;
  const pausedMs = ctx.pausedMs + (ctx.pausedSince !== undefined ? now - ctx.pausedSince : 0);
  return track.canariesHealthyAt + policy.canary.timeoutMs + pausedMs;
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
  if (group.desiredCanaries > 0 && track.canariesHealthyAt !== undefined && canaryOpen) stages.push('canary');
  if (group.desiredCanaries === 0 || track.promoted) stages.push('rollout');
  if (group.healthCheck === 'manual') stages.push('health');
  return stages;
}

/** One measurement to take: a check, for a group, in a stage, maybe for one allocation. */
export interface DueMeasurement {
  group: GroupObservation & { policy: Policy };
  stage: Stage;
  spec: CheckSpec;
  allocId?: string;
  due: number;
}

/** Every measurement of the deployment with its due time (pure). */
export function scheduleMeasurements(context: PromoterContext, observation: DeploymentObservation): DueMeasurement[] {
  const out: DueMeasurement[] = [];
  for (const group of observation.groups) {
    const track = context.groups[group.name];
    if (!group.policy || !track) continue;
    const governed = group as GroupObservation & { policy: Policy };
    for (const stage of activeStages(group, track, group.policy)) {
      for (const spec of stageChecks(group.policy, stage)) {
        const record = track.checks[checkKey(stage, spec.name)];
        if (!record) continue;
        if (spec.scope === 'deployment') {
          const due = nextMeasurementDue(spec, record.measurements, record.startedAt);
          if (due !== undefined) out.push({ group: governed, stage, spec, due });
          continue;
        }
        for (const allocId of allocsInScope(stage, group)) {
          if (stage === 'health' && track.healthDecided[allocId] !== undefined) continue;
          const mine = record.measurements.filter((m) => m.allocId === allocId);
          const due = nextMeasurementDue(spec, mine, record.allocStartedAt?.[allocId] ?? record.startedAt);
          if (due !== undefined) out.push({ group: governed, stage, spec, allocId, due });
        }
      }
    }
  }
  return out;
}

