/**
 * Properties of the decision core over arbitrary measurement sequences (fast-check):
 * a promote happens only once every canary analysis check has passed; inconclusive or errored
 * never promotes; one deployment sees at most one promote per group.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import type { Measurement, MeasurementResult } from '../../src/domain/analysis.js';
import { startDeployment, step, type DeploymentSnapshot } from '../../src/machine/machine.js';
import type { TaggedMeasurement } from '../../src/machine/plan.js';
import { alloc, check, deployment, group, policy } from '../support/builders.js';

const T0 = Date.parse('2026-11-27T10:00:00Z');
const RESULTS: MeasurementResult[] = ['pass', 'fail', 'inconclusive', 'error'];

const checks = {
  'error-rate': check('error-rate', { count: 3, failureLimit: 1, inconclusiveLimit: 1, consecutiveErrorLimit: 1 }),
  latency: check('latency', { count: 2 }),
};
const p = policy({ checks, canary: { analysis: ['error-rate', 'latency'], bakeMs: 0 } });
const obs = deployment([group('web', { policy: p, canaries: [alloc('c1', true), alloc('c2', true)] })]);

const stepArb = fc.record({
  check: fc.constantFrom('error-rate', 'latency'),
  result: fc.constantFrom(...RESULTS),
  acknowledge: fc.boolean(),
});

/**
 * The oracle: docs/policy.md's rules for one check, written out on their own (not the
 * implementation's assessCheck): measurements in order; the first limit tripped ends the check
 * (fails > failureLimit: failed; inconclusives > inconclusiveLimit: inconclusive); errors in a
 * row beyond consecutiveErrorLimit hold it until a non-error arrives; `count` measurements of the
 * canary (errors are none) with a pass among them, no limit tripped: passed.
 */
function expectedPhase(limits: { count: number; failureLimit: number; inconclusiveLimit: number; consecutiveErrorLimit: number }, results: MeasurementResult[]): string {
  let fails = 0;
  let inconclusives = 0;
  let streak = 0;
  let measured = 0;
  let passes = 0;
  for (const r of results) {
    streak = r === 'error' ? streak + 1 : 0;
    if (r !== 'error') measured++;
    if (r === 'pass') passes++;
    if (r === 'fail') fails++;
    if (r === 'inconclusive') inconclusives++;
    if (fails > limits.failureLimit) return 'failed';
    if (inconclusives > limits.inconclusiveLimit) return 'inconclusive';
    if (streak <= limits.consecutiveErrorLimit && measured >= limits.count && passes > 0) return 'passed';
  }
  return streak > limits.consecutiveErrorLimit ? 'errored' : 'running';
}

/** Mostly good canaries, so that promotes are common; every other result still shows up. */
const resultArb = fc.oneof({ arbitrary: fc.constant<MeasurementResult>('pass'), weight: 12 }, { arbitrary: fc.constantFrom<MeasurementResult>('fail', 'inconclusive', 'error'), weight: 1 });

describe('decision properties', () => {
  test('promote only when every analysis check passed; never after inconclusive or errored; at most once', () => {
    let runs = 0;
    let promoted = 0;
    fc.assert(
      fc.property(fc.array(fc.record({ check: fc.constantFrom('error-rate', 'latency'), result: resultArb, acknowledge: fc.boolean() }), { minLength: 5, maxLength: 30 }), (steps) => {
        runs++;
        let s: DeploymentSnapshot = startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 });
        s = step(s, { type: 'observe', now: T0, observation: obs, measurements: [] }).snapshot;
        const seen: Measurement[] = [];
        let promotesAcknowledged = 0;
        let promotes = 0;
        steps.forEach((x, i) => {
          const now = T0 + (i + 1) * 1000;
          const m: Measurement = { check: x.check, result: x.result, at: now };
          seen.push(m);
          const tagged: TaggedMeasurement = { group: 'web', stage: 'canary', measurement: m };
          const r = step(s, { type: 'observe', now, observation: obs, measurements: [tagged] });
          s = r.snapshot;
          const phases = Object.entries(checks).map(([name, spec]) => expectedPhase(spec, seen.filter((y) => y.check === name).map((y) => y.result)));
          for (const effect of r.effects) {
            if (effect.action !== 'promote') continue;
            promotes++;
            // Every analysis check, by the policy's rules on the measurements so far, has passed.
            expect(phases).toEqual(['passed', 'passed']);
            if (x.acknowledge) {
              promotesAcknowledged++;
              s = step(s, { type: 'effect.result', now, key: effect.key, action: 'promote', groups: effect.groups, outcome: 'ok' }).snapshot;
            }
          }
          if (phases.includes('inconclusive') || phases.includes('errored') || phases.includes('failed')) {
            expect(r.effects.filter((e) => e.action === 'promote')).toEqual([]);
          }
        });
        if (promotes > 0) promoted++;
        expect(promotesAcknowledged).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
    // The property means something only if promotes happen: most runs reach one.
    process.stdout.write(`promote property: ${promoted} of ${runs} runs promoted\n`);
    expect(promoted / runs).toBeGreaterThan(0.4);
  });

  test('a failed analysis check always leads to a fail, never a promote', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), (steps) => {
        let s: DeploymentSnapshot = startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 });
        s = step(s, { type: 'observe', now: T0, observation: obs, measurements: [] }).snapshot;
        let failed = false;
        steps.forEach((x, i) => {
          const now = T0 + (i + 1) * 1000;
          const r = step(s, { type: 'observe', now, observation: obs, measurements: [{ group: 'web', stage: 'canary', measurement: { check: x.check, result: x.result, at: now } }] });
          s = r.snapshot;
          if (Object.values(s.context.groups['web']!.checks).some((c) => c.phase === 'failed')) {
            if (!failed && !s.context.groups['web']!.promoted) expect(r.effects.map((e) => e.action)).toContain('fail');
            failed = true;
            expect(r.effects.map((e) => e.action)).not.toContain('promote');
          }
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('decision properties with two groups', () => {
  test("each group is promoted only on its own passed checks, whatever the other group's measurements and modes", () => {
    const twoGroups = (dryApi: boolean, together: boolean) => {
      const make = (name: string, dry: boolean) =>
        policy({ name, mode: dry ? 'dry-run' : 'enforce', checks, canary: { analysis: ['error-rate', 'latency'], bakeMs: 0, together } });
      return deployment([
        group('api', { policy: make('api-policy', dryApi), canaries: [alloc('a1', true)] }),
        group('web', { policy: make('web-policy', false), canaries: [alloc('w1', true)] }),
      ]);
    };
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.record({ group: fc.constantFrom('api', 'web'), check: fc.constantFrom('error-rate', 'latency'), result: fc.constantFrom(...RESULTS) }), { maxLength: 30 }),
        (dryApi, together, steps) => {
          const obs = twoGroups(dryApi, together);
          let s: DeploymentSnapshot = startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 });
          s = step(s, { type: 'observe', now: T0, observation: obs, measurements: [] }).snapshot;
          const seen: (Measurement & { group: string })[] = [];
          steps.forEach((x, i) => {
            const now = T0 + (i + 1) * 1000;
            const m: Measurement = { check: x.check, result: x.result, at: now };
            seen.push({ ...m, group: x.group });
            const r = step(s, { type: 'observe', now, observation: obs, measurements: [{ group: x.group, stage: 'canary', measurement: m }] });
            s = r.snapshot;
            for (const effect of r.effects.filter((e) => e.action === 'promote')) {
              for (const g of effect.groups) {
                for (const [name, spec] of Object.entries(checks)) {
                  expect(expectedPhase(spec, seen.filter((y) => y.group === g && y.check === name).map((y) => y.result))).toBe('passed');
                }
                expect(effect.dryRun).toBe(g === 'api' && dryApi);
              }
              s = step(s, { type: 'effect.result', now, key: effect.key, action: 'promote', groups: effect.groups, outcome: effect.dryRun ? 'dry_run' : 'ok' }).snapshot;
            }
          });
        },
      ),
      { numRuns: 400 },
    );
  });
});
