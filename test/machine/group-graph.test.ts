/**
 * Paths over the group machine (xstate/graph), with every combination of facts a look can bring:
 * the lifecycle's promises hold for every path, not for the scenarios someone thought of.
 */
import { describe, expect, test } from '@jest/globals';
import { getAdjacencyMap, adjacencyMapToArray, getShortestPaths } from 'xstate/graph';
import { initialTransition, transition } from 'xstate';
import { groupMachine, type AnalysisPhase, type GroupEvent, type GroupFacts, type GroupSnapshot } from '../../src/machine/group-machine.js';

const PHASES: AnalysisPhase[] = ['failed', 'inconclusive', 'errored', 'running', 'passed'];
const bools = [false, true];

function allFacts(): GroupFacts[] {
  const out: GroupFacts[] = [];
  for (const promotedInNomad of bools)
    for (const canariesHealthy of bools)
      for (const paused of bools)
        for (const canaryAnalysis of PHASES)
          for (const rolloutAnalysis of ['running', 'passed', 'failed'] as AnalysisPhase[])
            for (const baked of bools)
              for (const timeout of ['none', 'fail', 'promote'] as const)
                for (const manual of bools) out.push({ canary: true, promotedInNomad, canariesHealthy, paused, canaryAnalysis, rolloutAnalysis, baked, timeout, manual });
  // A group without canaries, as first seen.
  out.push({ canary: false, promotedInNomad: false, canariesHealthy: false, paused: false, canaryAnalysis: 'passed', rolloutAnalysis: 'running', baked: false, timeout: 'none', manual: false });
  return out;
}

const HUMAN: GroupEvent[] = [{ type: 'human.promote' }, { type: 'human.retry' }];
const COORDINATOR: GroupEvent[] = [{ type: 'release' }, { type: 'promoted' }, { type: 'fail' }, { type: 'failed' }];
const OBSERVES: GroupEvent[] = allFacts().map((facts) => ({ type: 'observe', facts }));
const ALL = [...OBSERVES, ...COORDINATOR, ...HUMAN];

const isHuman = (e: GroupEvent) => e.type.startsWith('human.');
const inState = (s: GroupSnapshot, name: string) => s.matches(name as never);
/** An observation that shows the canary analysis passed and the bake over, or the timeout promoting. */
const earned = (e: GroupEvent) => e.type === 'observe' && ((e.facts.canaryAnalysis === 'passed' && e.facts.baked) || e.facts.timeout === 'promote');

const edges = adjacencyMapToArray(getAdjacencyMap(groupMachine, { events: ALL }));

/** The actions the machine asks for along a path of events, replayed from the start. */
function actionsAlong(events: GroupEvent[]): string[] {
  let [s] = initialTransition(groupMachine);
  const out: string[] = [];
  for (const e of events) {
    const [next, actions] = transition(groupMachine, s, e);
    out.push(...actions.map((a) => a.type));
    s = next;
  }
  return out;
}

function snapshotIn(value: unknown): GroupSnapshot {
  return groupMachine.resolveState({ value: value as never, context: undefined });
}

describe('group machine paths', () => {
  test('the graph covers the lifecycle', () => {
    const reached = new Set(edges.map((e) => JSON.stringify(e.nextState.value)));
    for (const s of ['"waiting"', '"ready"', '"promoting"', '"promoted"', '"rollout"', '"succeeded"', '"failing"', '"failed"', '{"holding":"inconclusive"}', '{"holding":"errored"}', '{"holding":"paused"}', '{"holding":"manual"}']) {
      expect(reached).toContain(s);
    }
  });

  test('every way into promoting is a release from ready or a human promote, and ready is entered only on earned evidence', () => {
    for (const e of edges) {
      const entered = (name: string) => inState(e.nextState, name) && !inState(e.state, name);
      if (entered('promoting')) expect(e.event.type === 'release' ? inState(e.state, 'ready') : e.event.type === 'human.promote').toBe(true);
      if (entered('ready')) expect(earned(e.event)).toBe(true);
    }
    // And along whole paths: the shortest path to every promoting snapshot.
    const paths = getShortestPaths(groupMachine, { events: ALL, toState: (s) => inState(s, 'promoting') });
    expect(paths.length).toBeGreaterThan(0);
    for (const p of paths) expect(p.steps.some((st) => isHuman(st.event) || earned(st.event))).toBe(true);
  });

  test('every path into failed carries a fail request', () => {
    for (const e of edges) if (inState(e.nextState, 'failed') && !inState(e.state, 'failed')) expect(inState(e.state, 'failing')).toBe(true);
    for (const e of edges) if (inState(e.nextState, 'failing') && !inState(e.state, 'failing')) expect(transition(groupMachine, e.state, e.event)[1].map((a) => a.type)).toContain('fail');
    const paths = getShortestPaths(groupMachine, { events: ALL, toState: (s) => inState(s, 'failed') });
    expect(paths.length).toBeGreaterThan(0);
    for (const p of paths) expect(actionsAlong(p.steps.map((st) => st.event))).toContain('fail');
  });

  test('no path leads from an inconclusive hold to promoting without a person', () => {
    const paths = getShortestPaths(groupMachine, {
      fromState: snapshotIn({ holding: 'inconclusive' }),
      events: ALL.filter((e) => !isHuman(e)),
      toState: (s) => inState(s, 'promoting'),
    });
    expect(paths).toEqual([]);
  });

  test('no path leads from an errored hold to promoting without a person while the analysis has not passed again', () => {
    const notPassed = ALL.filter((e) => !isHuman(e) && !(e.type === 'observe' && e.facts.canaryAnalysis === 'passed') && !(e.type === 'observe' && e.facts.timeout === 'promote'));
    const paths = getShortestPaths(groupMachine, { fromState: snapshotIn({ holding: 'errored' }), events: notPassed, toState: (s) => inState(s, 'promoting') });
    expect(paths).toEqual([]);
    // With a person's promote it is one step.
    const human = getShortestPaths(groupMachine, { fromState: snapshotIn({ holding: 'errored' }), events: [...notPassed, { type: 'human.promote' }], toState: (s) => inState(s, 'promoting') });
    expect(human.map((p) => p.steps.map((s) => s.event.type as string).filter((t) => t !== 'xstate.init'))).toEqual([['human.promote']]);
  });

  test('while paused, nothing automatic moves a group, except to a hold', () => {
    const paused = OBSERVES.filter((e) => e.type === 'observe' && e.facts.paused && !e.facts.promotedInNomad);
    for (const e of edges) {
      // A fail already decided is still asked for; everything else waits for the resume.
      if (!paused.includes(e.event) || inState(e.state, 'failing')) continue;
      const before = JSON.stringify(e.state.value);
      const after = JSON.stringify(e.nextState.value);
      expect(after === before || inState(e.nextState, 'holding')).toBe(true);
    }
  });
});
