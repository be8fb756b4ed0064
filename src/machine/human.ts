/**
 * A person's decision about one deployment (promote, abort, retry, pause, resume), as a pure
 * function of the machine's context: either the reason it does not apply now, or the next
 * context and the effects to carry out. The machine's `human` event and the action API's 409
 * both use it, so what is accepted is exactly what the machine does.
 */
import type { EffectRequest } from './plan.js';
import { effectKey } from './plan.js';
import { isActiveDeployment } from '../domain/nomad.js';
import type { DecisionRecord, DeploymentObservation, PromoterContext } from './types.js';

export const HUMAN_ACTIONS = ['promote', 'abort', 'retry', 'pause', 'resume'] as const;
export type HumanAction = (typeof HUMAN_ACTIONS)[number];

export interface HumanEvent {
  type: 'human';
  now: number;
  action: HumanAction;
  /** Only this group; absent: every governed group of the deployment. */
  group?: string;
  reason?: string;
  who: string;
  /** The deployment as observed just now (the policies behind the groups, for the rollback). */
  observation: DeploymentObservation;
}

type Accepted = { applies: true; context: PromoterContext; effects: EffectRequest[]; record: DecisionRecord };
export type HumanDecision = { applies: false; reason: string } | Accepted;

/** Check phases a retry starts afresh. */
const RETRYABLE = ['inconclusive', 'errored', 'failed'];

export function humanDecision(ctx: PromoterContext, e: HumanEvent): HumanDecision {
  const governed = Object.keys(ctx.groups).sort();
  if (governed.length === 0) return refuse('no group of this deployment is governed by a policy');
  // Nomad's status as just observed: fresher than the last pass's.
  const status = e.observation.status;
  if (!isActiveDeployment(status)) return refuse(`the deployment is ${status} in Nomad`);
  if (e.group !== undefined && !ctx.groups[e.group]) return refuse(`group "${e.group}" is not governed in this deployment (governed: ${governed.join(', ')})`);
  const failed = ctx.done['fail'] !== undefined;
  if (failed) return refuse('the deployment was already failed by the promoter');
  const groups = e.group !== undefined ? [e.group] : governed;
  const paused = status === 'paused';
  const dryRun = groups.every((g) => ctx.groups[g]!.mode === 'dry-run');
  const reason = e.reason?.trim() || `${e.action} by ${e.who}`;
  const effect = (action: EffectRequest['action'], names: string[], key: string, extra: Partial<EffectRequest> = {}): EffectRequest => ({
    key, action, groups: names, reason, dryRun, evidence: [], decidableAt: e.now, source: 'human', who: e.who, ...extra,
  });

  switch (e.action) {
    case 'promote': {
      const targets = groups.filter((g) => ctx.groups[g]!.canary && !ctx.groups[g]!.promoted);
      if (targets.length === 0) return refuse('no canary group left to promote');
      if (paused) return refuse('the deployment is paused in Nomad: resume it first');
      const next = accept(ctx, e, [effect('promote', targets, effectKey('promote', targets, dryRun))]);
      // The holds and waits of these groups are overruled.
      const pending = [...ctx.pending.filter((p) => !p.groups.some((g) => targets.includes(g))), { action: 'promote' as const, groups: targets, reason }];
      return { ...next, context: { ...next.context, pending } };
    }
    case 'abort': {
      const policy = e.observation.groups.find((g) => groups.includes(g.name) && g.policy)?.policy;
      const autoRevertGroups = e.observation.groups.filter((g) => g.policy && g.autoRevert).map((g) => g.name);
      // Keyed as the policy's own fail: the deployment is failed once, whoever decides first.
      const abort = effect('abort', groups, effectKey('fail', [], dryRun), { ...(policy ? { rollback: policy.onFailure.rollback } : {}), autoRevertGroups });
      const next = accept(ctx, e, [abort]);
      return { ...next, context: { ...next.context, pending: [{ action: 'abort', groups, reason }] } };
    }
    case 'retry': {
      const held = groups.flatMap((g) => Object.entries(ctx.groups[g]!.checks).filter(([, r]) => RETRYABLE.includes(r.phase)).map(([key]) => ({ g, key })));
      if (held.length === 0) return refuse('no held or failed check to retry');
      const next = structuredClone(ctx.groups);
      // Dropped records start over, with a fresh clock, on the next pass.
      for (const { g, key } of held) delete next[g]!.checks[key];
      const record: DecisionRecord = { at: e.now, action: 'retry', groups, outcome: 'ok', reason: `${reason} (restarted: ${held.map((h) => `${h.g}/${h.key}`).join(', ')})`, evidence: [], source: 'human', who: e.who };
      return { applies: true, context: { ...ctx, groups: next, pending: [], history: [...ctx.history, record], updatedAt: e.now }, effects: [], record };
    }
    case 'pause':
      if (paused) return refuse('the deployment is already paused');
      return accept(ctx, e, [effect('pause', groups, `pause@${e.now}`)]);
    case 'resume':
      if (!paused) return refuse('the deployment is not paused');
      return accept(ctx, e, [effect('resume', groups, `resume@${e.now}`)]);
  }
}

function refuse(reason: string): HumanDecision {
  return { applies: false, reason };
}

function accept(ctx: PromoterContext, e: HumanEvent, effects: EffectRequest[]): Accepted {
  const records: DecisionRecord[] = effects.map((f) => ({ at: e.now, action: f.action, groups: f.groups, outcome: 'pending', reason: f.reason, evidence: [], source: 'human', who: e.who }));
  return { applies: true, context: { ...ctx, history: [...ctx.history, ...records], updatedAt: e.now }, effects, record: records[0]! };
}
