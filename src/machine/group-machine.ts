/**
 * The lifecycle of one governed task group in one deployment, as an xstate machine whose states
 * are the decision: a group is promoted only from `promoting`, which is entered from `ready`
 * (analysis passed and bake elapsed, or the canary timeout with `onTimeout: promote`) or by a
 * person's promote; an `inconclusive` hold is left only by a person or by a fail.
 *
 * It sees the world as `GroupFacts`: what the coordinator (plan.ts) read from the observation,
 * the check phases and the clock. Driven only through the pure `transition()`; its actions
 * (`promote`, `fail`) are requests the coordinator turns into effects.
 */
import { initialTransition, setup, type SnapshotFrom, type StateValue } from 'xstate';

/** The canary or rollout analysis of a group summed up: the worst phase of its checks wins. */
export type AnalysisPhase = 'failed' | 'inconclusive' | 'errored' | 'running' | 'passed';

export interface GroupFacts {
  /** The group places canaries in this deployment. */
  canary: boolean;
  /** Nomad says the canaries are promoted (by the promoter, a person, or Nomad's auto_promote). */
  promotedInNomad: boolean;
  /** Every canary is healthy in Nomad (the bake runs). */
  canariesHealthy: boolean;
  /** The deployment is paused in Nomad: nothing is decided automatically. */
  paused: boolean;
  canaryAnalysis: AnalysisPhase;
  rolloutAnalysis: AnalysisPhase;
  /** `bake` has elapsed since the promoter first saw every canary healthy. */
  baked: boolean;
  /** The canary timeout expired, with what `onTimeout` says; `none` while it runs (or none is set). */
  timeout: 'none' | 'fail' | 'promote' | 'wait';
  /** `canary.promote: manual`. */
  manual: boolean;
}

export type GroupEvent =
  | { type: 'observe'; facts: GroupFacts }
  /** The coordinator lets a ready group go (at once, or with the others of `together`). */
  | { type: 'release' }
  /** The promote of this group was acknowledged by Nomad (or reported in dry-run). */
  | { type: 'promoted' }
  /** The deployment is being failed (this group's fail, another group's, or a person's abort). */
  | { type: 'fail' }
  /** The fail was acknowledged (or reported in dry-run). */
  | { type: 'failed' }
  | { type: 'human.promote' }
  | { type: 'human.retry' };

/** The top-level states: the names status, metrics, logs and explain use for a group. */
export const GROUP_STATES = ['waiting', 'baking', 'ready', 'holding', 'promoting', 'promoted', 'rollout', 'succeeded', 'failing', 'failed'] as const;
export type GroupState = (typeof GROUP_STATES)[number];
export const HOLDS = ['inconclusive', 'errored', 'paused', 'manual'] as const;
export type Hold = (typeof HOLDS)[number];

const facts = (event: GroupEvent): GroupFacts | undefined => (event.type === 'observe' ? event.facts : undefined);
const when = (test: (f: GroupFacts) => boolean) => ({ event }: { event: GroupEvent }) => {
  const f = facts(event);
  return f !== undefined && test(f);
};

/** Where an automatic decision about a canary group leads, in order: the first that applies. */
const decideCanary = [
  { guard: 'promotedInNomad', target: '#group.promoted' },
  { guard: 'paused', target: '#group.holding.paused' },
  { guard: 'canaryFailed', target: '#group.failing' },
  { guard: 'canariesNotHealthy', target: '#group.waiting' },
  { guard: 'timedOutFail', target: '#group.failing' },
  { guard: 'canaryInconclusive', target: '#group.holding.inconclusive' },
  { guard: 'canaryErrored', target: '#group.holding.errored' },
  { guard: 'readyButManual', target: '#group.holding.manual' },
  { guard: 'readyToPromote', target: '#group.ready' },
  { guard: 'passedNotBaked', target: ['#group.baking.bake.running', '#group.baking.analysis.passed'] },
  { guard: 'bakedNotPassed', target: ['#group.baking.bake.elapsed', '#group.baking.analysis.running'] },
  { target: ['#group.baking.bake.running', '#group.baking.analysis.running'] },
] as const;

/** While paused a hold stays as it is: the observation is taken, nothing is decided. */
const stayWhilePaused = { guard: 'paused' } as const;

/** The ways out of a hold that no measurement can end: a fail, a person. */
const leaveHoldByFail = [
  stayWhilePaused,
  { guard: 'promotedInNomad', target: '#group.promoted' },
  { guard: 'canaryFailed', target: '#group.failing' },
  { guard: 'timedOutFail', target: '#group.failing' },
] as const;

const people = {
  'human.promote': { target: '#group.promoting' },
} as const;

/** After promotion (or without canaries): the rollout analysis runs; a failure still fails. */
const rolloutAnalysis = {
  on: {
    observe: [
      stayWhilePaused,
      { guard: 'rolloutFailed', target: '#group.failing' },
      { guard: 'canaryFailed', target: '#group.failing' },
      { guard: 'analysisComplete', target: '#group.succeeded' },
    ],
  },
} as const;

export const groupMachine = setup({
  types: { events: {} as GroupEvent },
  actions: {
    // Requests read by the coordinator from transition()'s action list; they do nothing here.
    promote: () => undefined,
    fail: () => undefined,
  },
  guards: {
    promotedInNomad: when((f) => f.canary && f.promotedInNomad),
    noCanaries: when((f) => !f.canary),
    paused: when((f) => f.paused),
    canaryFailed: when((f) => f.canaryAnalysis === 'failed'),
    rolloutFailed: when((f) => f.rolloutAnalysis === 'failed'),
    canariesNotHealthy: when((f) => !f.canariesHealthy),
    timedOutFail: when((f) => f.timeout === 'fail'),
    canaryInconclusive: when((f) => f.canaryAnalysis === 'inconclusive'),
    canaryErrored: when((f) => f.canaryAnalysis === 'errored'),
    // Ready: analysis passed and baked, or the timeout promotes (never through a hold: those come first).
    readyButManual: when((f) => f.manual && isReady(f)),
    readyToPromote: when((f) => !f.manual && isReady(f)),
    passedNotBaked: when((f) => f.canaryAnalysis === 'passed' && !f.baked),
    bakedNotPassed: when((f) => f.canaryAnalysis !== 'passed' && f.baked),
    analysisComplete: when((f) => f.rolloutAnalysis === 'passed' && f.canaryAnalysis !== 'running'),
  },
}).createMachine({
  id: 'group',
  initial: 'waiting',
  on: {
    fail: { target: '.failing' },
  },
  states: {
    /** Canaries not all healthy in Nomad yet (or a group just seen: the first observation places it). */
    waiting: {
      on: { observe: [{ guard: 'noCanaries', target: 'rollout' }, ...decideCanary], ...people },
    },
    /** Every canary healthy: the bake and the canary analysis run side by side. */
    baking: {
      type: 'parallel',
      states: {
        bake: { initial: 'running', states: { running: {}, elapsed: {} } },
        analysis: { initial: 'running', states: { running: {}, passed: {} } },
      },
      on: { observe: [...decideCanary], ...people },
    },
    /** Analysis passed and baked: promoted as soon as the coordinator lets it (together). */
    ready: {
      on: { observe: [...decideCanary], release: { target: 'promoting' }, ...people },
    },
    holding: {
      // Only ever entered at a named hold.
      initial: 'inconclusive',
      on: { ...people },
      states: {
        /** Until a person acts (retry, promote, abort) or a fail. */
        inconclusive: {
          on: { observe: [...leaveHoldByFail], 'human.retry': { target: '#group.baking' } },
        },
        /** A provider cannot measure: measuring goes on and the first non-error measurement ends it. */
        errored: {
          on: { observe: [...leaveHoldByFail, { guard: 'canaryErrored' }, ...decideCanary], 'human.retry': { target: '#group.baking' } },
        },
        /** Paused in Nomad: nothing is decided until it resumes. */
        paused: {
          on: { observe: [stayWhilePaused, ...decideCanary] },
        },
        /** `canary.promote: manual`: ready, and only a person promotes. */
        manual: {
          on: { observe: [...decideCanary] },
        },
      },
    },
    /** The promote request is out until Nomad acknowledges it; asked again on every look. */
    promoting: {
      entry: 'promote',
      on: {
        observe: [
          stayWhilePaused,
          { guard: 'promotedInNomad', target: 'promoted' },
          { guard: 'canaryFailed', target: 'failing' },
          { actions: 'promote' },
        ],
        promoted: { target: 'promoted' },
      },
    },
    /** Canaries promoted: the rollout analysis (if any) runs. */
    promoted: rolloutAnalysis,
    /** A group without canaries: the rollout analysis (if any) runs from the start. */
    rollout: rolloutAnalysis,
    /** Nothing left to decide: rollout analysis passed (or none). */
    succeeded: {
      on: { observe: [stayWhilePaused, { guard: 'rolloutFailed', target: 'failing' }, { guard: 'canaryFailed', target: 'failing' }] },
    },
    /** The fail request is out until acknowledged; asked again on every look. */
    failing: {
      entry: 'fail',
      on: { observe: { actions: 'fail' }, fail: {}, failed: { target: 'failed' } },
    },
    failed: { type: 'final' },
  },
});

function isReady(f: GroupFacts): boolean {
  return (f.canaryAnalysis === 'passed' && f.baked) || f.timeout === 'promote';
}

export type GroupSnapshot = SnapshotFrom<typeof groupMachine>;

/** The top-level state of a group's machine value, and its hold, if it holds. */
export function groupStateOf(value: StateValue): { state: GroupState; hold?: Hold } {
  if (typeof value === 'string') return { state: value as GroupState };
  const [state, inner] = Object.entries(value)[0]!;
  return state === 'holding' ? { state: 'holding', hold: inner as Hold } : { state: state as GroupState };
}

/** Computed once: every new group starts here, and building it runs the machine. */
const INITIAL_GROUP_STATE = initialTransition(groupMachine)[0].value;

export function initialGroupState(): StateValue {
  return INITIAL_GROUP_STATE;
}
