/**
 * One deployment's lifecycle as an xstate machine, driven only through the pure
 * `transition()` / `initialTransition()`: snapshot in, effects out. No actor runs it, no
 * `after` timers (deadlines live in context as `wakeAt`, the reconciler requeues at them).
 *
 * Effects (`promote`, `fail`, `set_health`) are declared as actions that do nothing here: the
 * reconciler reads them from the list `transition()` returns and carries them out.
 */
import { assign, enqueueActions, initialTransition, setup, transition, type SnapshotFrom } from 'xstate';
import { isActiveDeployment } from '../domain/nomad.js';
import { plan, type EffectRequest, type TaggedMeasurement } from './plan.js';
import { humanDecision, type HumanEvent } from './human.js';
import type { DecisionRecord, DeploymentObservation, EffectAction, Outcome, PromoterContext } from './types.js';

/** Bumped whenever the context shape changes; stored beside each snapshot. */
export const MACHINE_VERSION = 1;

export type MachineState = 'waiting' | 'baking' | 'holding' | 'promoted' | 'failing' | 'done' | 'ignored';
export const MACHINE_STATES: readonly MachineState[] = ['waiting', 'baking', 'holding', 'promoted', 'failing', 'done', 'ignored'];

export interface ObserveEvent {
  type: 'observe';
  now: number;
  observation: DeploymentObservation;
  measurements: TaggedMeasurement[];
}

export interface EffectResultEvent {
  type: 'effect.result';
  now: number;
  key: string;
  action: EffectAction;
  groups: string[];
  outcome: Outcome;
  message?: string;
  /** A final error: the effect is settled and not tried again (e.g. no stable version to revert to). */
  settled?: boolean;
  /** set_health: the allocations whose health was set. */
  allocIds?: string[];
  /** Extra decisions the effect made on its own (e.g. the revert after a fail). */
  followUps?: Omit<DecisionRecord, 'evidence'>[];
  /** After a fail: the rollback could not be finished and is still owed. */
  rollbackDue?: { groups: string[]; reason: string };
}

export type PromoterEvent = ObserveEvent | EffectResultEvent | HumanEvent;

export interface MachineInput {
  deploymentId: string;
  namespace: string;
  job: string;
  jobVersion: number;
  now: number;
}

const noEffect = (_: unknown, _params: EffectRequest) => undefined;
const EFFECT_TYPES = ['promote', 'fail', 'set_health', 'revert', 'abort', 'pause', 'resume'] as const;
type EffectType = (typeof EFFECT_TYPES)[number];

export const deploymentMachine = setup({
  types: {
    context: {} as PromoterContext,
    events: {} as PromoterEvent,
    input: {} as MachineInput,
  },
  actions: {
    promote: noEffect,
    fail: noEffect,
    set_health: noEffect,
    revert: noEffect,
    abort: noEffect,
    pause: noEffect,
    resume: noEffect,
    absorbResult: assign(({ context, event }) => (event.type === 'effect.result' ? absorbResult(context, event) : {})),
  },
  guards: {
    // A failed deployment whose rollback is still owed is not finished for the promoter.
    finishedInNomad: ({ context }) =>
      context.nomadStatus !== 'unknown' && !isActiveDeployment(context.nomadStatus) && (context.rollbackDue === undefined || context.done['revert'] !== undefined),
    ungoverned: ({ context }) => Object.keys(context.groups).length === 0,
    failing: ({ context }) => context.done['fail'] !== undefined || context.done['dry-run:fail'] !== undefined || context.pending.some((p) => p.action === 'fail' || p.action === 'abort'),
    holding: ({ context }) => context.pending.some((p) => p.action === 'hold'),
    promoted: ({ context }) => Object.values(context.groups).every((g) => !g.canary || g.promoted),
    baking: ({ context }) => Object.values(context.groups).some((g) => g.canary && !g.promoted && g.canariesHealthyAt !== undefined),
  },
}).createMachine({
  id: 'deployment',
  context: ({ input }) => ({
    deploymentId: input.deploymentId,
    namespace: input.namespace,
    job: input.job,
    jobVersion: input.jobVersion,
    nomadStatus: 'unknown',
    groups: {},
    done: {},
    pending: [],
    history: [],
    pausedMs: 0,
    warnings: [],
    updatedAt: input.now,
  }),
  initial: 'waiting',
  on: {
    observe: {
      target: '.evaluating',
      actions: enqueueActions(({ context, event, enqueue }) => {
        const { context: next, effects } = plan(context, event.observation, event.measurements, event.now);
        enqueue.assign(() => next);
        for (const effect of effects) enqueue({ type: effect.action as EffectType, params: effect });
      }),
    },
    'effect.result': { target: '.evaluating', actions: 'absorbResult' },
    // A person's decision; one that does not apply now changes nothing.
    human: {
      target: '.evaluating',
      actions: enqueueActions(({ context, event, enqueue }) => {
        const decision = humanDecision(context, event);
        if (!decision.applies) return;
        enqueue.assign(() => decision.context);
        for (const effect of decision.effects) enqueue({ type: effect.action as EffectType, params: effect });
      }),
    },
  },
  states: {
    evaluating: {
      always: [
        { guard: 'finishedInNomad', target: 'done' },
        { guard: 'ungoverned', target: 'ignored' },
        { guard: 'failing', target: 'failing' },
        { guard: 'holding', target: 'holding' },
        { guard: 'promoted', target: 'promoted' },
        { guard: 'baking', target: 'baking' },
        { target: 'waiting' },
      ],
    },
    waiting: {},
    baking: {},
    holding: {},
    promoted: {},
    failing: {},
    ignored: {},
    done: { type: 'final' },
  },
});

function absorbResult(context: PromoterContext, event: EffectResultEvent): Partial<PromoterContext> {
  const done = event.outcome === 'error' && !event.settled ? context.done : { ...context.done, [event.key]: event.outcome };
  const groups = { ...context.groups };
  if (event.outcome === 'ok' && event.action === 'promote') {
    for (const g of event.groups) if (groups[g]) groups[g] = { ...groups[g]!, promoted: true };
  }
  if (event.outcome !== 'error' && event.action === 'set_health') {
    const decided = Object.fromEntries((event.allocIds ?? []).map((id) => [id, true]));
    for (const [name, g] of Object.entries(groups)) {
      if (event.groups.includes(name)) groups[name] = { ...g, healthDecided: { ...g.healthDecided, ...decided } };
    }
  }
  const rollbackDue = event.rollbackDue ?? (event.action === 'revert' && done['revert'] !== undefined ? undefined : context.rollbackDue);
  // The last matching pending record takes the outcome.
  const history = [...context.history];
  for (let i = history.length - 1; i >= 0; i--) {
    const h = history[i]!;
    if (h.action === event.action && h.outcome === 'pending' && h.groups.join(',') === event.groups.join(',')) {
      history[i] = { ...h, outcome: event.outcome, ...(event.message ? { message: event.message } : {}) };
      break;
    }
  }
  for (const f of event.followUps ?? []) history.push({ ...f, evidence: [] });
  return { done, groups, history, rollbackDue, updatedAt: event.now };
}

export type DeploymentSnapshot = SnapshotFrom<typeof deploymentMachine>;

/** What the store keeps: enough to rebuild the snapshot, tagged with the machine version. */
export interface StoredSnapshot {
  machineVersion: number;
  value: MachineState;
  context: PromoterContext;
}

export function startDeployment(input: MachineInput): DeploymentSnapshot {
  return initialTransition(deploymentMachine, input)[0];
}

export function restoreDeployment(stored: StoredSnapshot): DeploymentSnapshot {
  return deploymentMachine.resolveState({ value: stored.value, context: stored.context });
}

export function persistDeployment(snapshot: DeploymentSnapshot): StoredSnapshot {
  return { machineVersion: MACHINE_VERSION, value: snapshot.value as MachineState, context: snapshot.context };
}

export interface StepResult {
  snapshot: DeploymentSnapshot;
  effects: EffectRequest[];
}

/** Pure step: feed one event, get the next snapshot and the effects to carry out. */
export function step(snapshot: DeploymentSnapshot, event: PromoterEvent): StepResult {
  const [next, actions] = transition(deploymentMachine, snapshot, event);
  const effects = actions.filter((a) => (EFFECT_TYPES as readonly string[]).includes(a.type)).map((a) => a.params as EffectRequest);
  return { snapshot: next, effects };
}
