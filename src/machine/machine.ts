/**
 * One deployment's lifecycle as an xstate machine, driven only through the pure
 * `transition()` / `initialTransition()`: snapshot in, effects out. No actor runs it, no
 * `after` timers (deadlines live in context as `wakeAt`, the reconciler requeues at them).
 *
 * Two levels: each governed task group has its own machine (group-machine.ts: waiting, baking,
 * ready, holding, promoting, promoted, ...), stepped by the coordinator (plan.ts); this machine
 * carries what spans the groups: the deployment is `active`, then `failing` once one fail is
 * decided for all, `rolling-back` while a rollback is owed, and `failed`; `done` when Nomad
 * finished it otherwise; `ignored` while no policy governs a group.
 *
 * Effects (`promote`, `fail`, `set_health`, ...) are declared as actions that do nothing here: the
 * reconciler reads them from the list `transition()` returns and carries them out.
 */
import { assign, enqueueActions, initialTransition, setup, transition, type SnapshotFrom } from 'xstate';
import { isActiveDeployment } from '../domain/nomad.js';
import { plan, tellGroups, type EffectRequest, type TaggedMeasurement } from './plan.js';
import { humanDecision, type HumanEvent } from './human.js';
import { GROUP_STATES, groupStateOf, type GroupState } from './group-machine.js';
import type { DecisionRecord, DeploymentObservation, EffectAction, Outcome, PromoterContext } from './types.js';

/** Bumped whenever the context or the states change; stored beside each snapshot (migrate.ts reads older ones). */
export const MACHINE_VERSION = 2;

/** The deployment machine's own states. */
export const DEPLOYMENT_STATES = ['active', 'failing', 'rolling-back', 'failed', 'done', 'ignored'] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

/**
 * The state names status, metrics, logs and explain show for a deployment: its own state, and
 * while `active`, the state of its least advanced group.
 */
export type MachineState = Exclude<DeploymentState, 'active'> | GroupState;
export const MACHINE_STATES: readonly MachineState[] = [...GROUP_STATES.filter((s) => s !== 'failing' && s !== 'failed'), 'failing', 'rolling-back', 'failed', 'done', 'ignored'];

/** Which group state speaks for an active deployment: the first one present. */
const ACTIVE_PRECEDENCE: readonly GroupState[] = ['failing', 'holding', 'waiting', 'baking', 'ready', 'promoting', 'promoted', 'rollout', 'succeeded', 'failed'];

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

/** Raised by the machine's own actions once the data is in: what the pass found. */
type Finding = { type: 'nomad.finished' } | { type: 'ungoverned' } | { type: 'governed' } | { type: 'fail.decided' } | { type: 'fail.acknowledged' } | { type: 'revert.done' };

export type PromoterEvent = ObserveEvent | EffectResultEvent | HumanEvent;

export interface MachineInput {
  deploymentId: string;
  namespace: string;
  job: string;
  jobVersion: number;
  now: number;
}

const noEffect = (_: unknown, _params: EffectRequest) => undefined;

/**
 * xstate's transition() builds a throwaway actor, without input, at every step: its context is
 * never read, but a factory that threw on the missing input cost an exception per step.
 */
const NO_INPUT: MachineInput = { deploymentId: '', namespace: '', job: '', jobVersion: 0, now: 0 };
const EFFECT_TYPES = ['promote', 'fail', 'set_health', 'revert', 'abort', 'pause', 'resume'] as const;
type EffectType = (typeof EFFECT_TYPES)[number];

const finished = [
  { guard: 'rollbackOwed', target: 'rolling-back' },
  { guard: 'failedByPromoter', target: 'failed' },
  { target: 'done' },
] as const;

export const deploymentMachine = setup({
  types: {
    context: {} as PromoterContext,
    events: {} as PromoterEvent | Finding,
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
    decide: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'observe') return;
      const { context: next, effects } = plan(context, event.observation, event.measurements, event.now);
      enqueue.assign(() => next);
      for (const effect of effects) enqueue({ type: effect.action as EffectType, params: effect });
      if (!isActiveDeployment(next.nomadStatus as never)) enqueue.raise({ type: 'nomad.finished' });
      enqueue.raise({ type: Object.keys(next.groups).length === 0 ? 'ungoverned' : 'governed' });
      if (next.failRequest) enqueue.raise({ type: 'fail.decided' });
    }),
    // A person's decision; one that does not apply now changes nothing.
    decideHuman: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'human') return;
      const decision = humanDecision(context, event);
      if (!decision.applies) return;
      const abort = decision.effects.find((e) => e.action === 'abort' && !e.dryRun);
      let groups = decision.context.groups;
      // An abort fails the whole deployment; promote and retry move only the groups asked for.
      if (abort) groups = tellGroups(groups, Object.keys(groups), { type: 'fail' });
      else if (event.action === 'promote' || event.action === 'retry') groups = tellGroups(groups, decision.record.groups, { type: `human.${event.action}` });
      enqueue.assign(() => ({ ...decision.context, groups, ...(abort ? { failRequest: abort } : {}) }));
      for (const effect of decision.effects) enqueue({ type: effect.action as EffectType, params: effect });
      if (abort && !abort.dryRun) enqueue.raise({ type: 'fail.decided' });
    }),
    absorbResult: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'effect.result') return;
      const next = absorbResult(context, event);
      enqueue.assign(() => next);
      if (context.failRequest?.key === event.key && event.outcome === 'ok') enqueue.raise({ type: 'fail.acknowledged' });
      if (event.action === 'revert' && next.done?.['revert'] !== undefined) enqueue.raise({ type: 'revert.done' });
    }),
  },
  guards: {
    // A failed deployment whose rollback is still owed is not finished for the promoter.
    rollbackOwed: ({ context }) => context.rollbackDue !== undefined && context.done['revert'] === undefined,
    failedByPromoter: ({ context }) => context.done['fail'] !== undefined || context.failRequest !== undefined,
  },
}).createMachine({
  id: 'deployment',
  context: ({ input = NO_INPUT }) => ({
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
  initial: 'active',
  on: {
    observe: { actions: 'decide' },
    'effect.result': { actions: 'absorbResult' },
    human: { actions: 'decideHuman' },
  },
  states: {
    /** Governed: the group machines decide. */
    active: {
      on: { 'fail.decided': 'failing', 'nomad.finished': [...finished], ungoverned: 'ignored' },
    },
    /** One fail for the whole deployment is out (the policy's, or a person's abort) until Nomad acknowledges it. */
    failing: {
      on: { 'fail.acknowledged': [{ guard: 'rollbackOwed', target: 'rolling-back' }, { target: 'failed' }], 'nomad.finished': [...finished] },
    },
    /** Failed, and the rollback is still owed: retried as a `revert` effect, even once Nomad calls it failed. */
    'rolling-back': {
      on: { 'revert.done': 'failed' },
    },
    /** The promoter failed the deployment (and rolled it back as the policy says). */
    failed: { type: 'final' },
    /** Nomad finished the deployment (successful, cancelled, or failed by Nomad itself). */
    done: { type: 'final' },
    /** No policy governs any of its groups: never acted on (a policy reload may govern it later). */
    ignored: {
      on: { governed: 'active', 'nomad.finished': 'done' },
    },
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
  const settledFail = event.key === context.failRequest?.key && event.outcome === 'ok';
  // A dry-run report leaves the group asking: a policy switched to enforce then acts for real.
  if (event.action === 'promote' && event.outcome === 'ok') Object.assign(groups, tellGroups(groups, event.groups, { type: 'promoted' }));
  if (settledFail) Object.assign(groups, tellGroups(groups, Object.keys(groups), { type: 'failed' }));
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
  value: DeploymentState;
  context: PromoterContext;
}

/** The one name of a stored deployment's state (see MACHINE_STATES). */
export function stateName(stored: Pick<StoredSnapshot, 'value' | 'context'>): MachineState {
  if (stored.value !== 'active') return stored.value;
  const present = new Set(Object.values(stored.context.groups).map((g) => groupStateOf(g.state).state));
  return ACTIVE_PRECEDENCE.find((s) => present.has(s)) ?? 'waiting';
}

/** The state name of a live snapshot. */
export function stateOf(snapshot: DeploymentSnapshot): MachineState {
  return stateName({ value: snapshot.value as DeploymentState, context: snapshot.context });
}

/** The promoter has nothing left to do for it. */
export function isFinished(stored: Pick<StoredSnapshot, 'value'>): boolean {
  return stored.value === 'failed' || stored.value === 'done';
}

export function startDeployment(input: MachineInput): DeploymentSnapshot {
  return initialTransition(deploymentMachine, input)[0];
}

export function restoreDeployment(stored: StoredSnapshot): DeploymentSnapshot {
  return deploymentMachine.resolveState({ value: stored.value, context: stored.context });
}

export function persistDeployment(snapshot: DeploymentSnapshot): StoredSnapshot {
  return { machineVersion: MACHINE_VERSION, value: snapshot.value as DeploymentState, context: snapshot.context };
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
