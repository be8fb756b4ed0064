/**
 * Properties of the decision core over arbitrary measurement sequences (fast-check):
 * a promote happens only once every canary analysis check has passed; inconclusive or errored
 * never promotes; one deployment sees at most one promote per group.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { assessCheck } from '../../src/analysis/assess.js';
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

describe('decision properties', () => {
  test('promote only when every analysis check passed; never after inconclusive or errored; at most once', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), (steps) => {
        let s: DeploymentSnapshot = startDeployment({ deploymentId: 'd-1', namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 });
        s = step(s, { type: 'observe', now: T0, observation: obs, measurements: [] }).snapshot;
        const seen: Measurement[] = [];
        let promotesAcknowledged = 0;
        steps.forEach((x, i) => {
          const now = T0 + (i + 1) * 1000;
          const m: Measurement = { check: x.check, result: x.result, at: now };
          seen.push(m);
          const tagged: TaggedMeasurement = { group: 'web', stage: 'canary', measurement: m };
          const r = step(s, { type: 'observe', now, observation: obs, measurements: [tagged] });
          s = r.snapshot;
          for (const effect of r.effects) {
            if (effect.action !== 'promote') continue;
            // Every analysis check, assessed on the measurements so far, has passed.
            for (const [name, spec] of Object.entries(checks)) {
              const phase = assessCheck(spec, seen.filter((y) => y.check === name)).phase;
              expect(phase).toBe('passed');
            }
            if (x.acknowledge) {
              promotesAcknowledged++;
              s = step(s, { type: 'effect.result', now, key: effect.key, action: 'promote', groups: effect.groups, outcome: 'ok' }).snapshot;
            }
          }
          const phases = Object.values(s.context.groups['web']!.checks).map((c) => c.phase);
          if (phases.includes('inconclusive') || phases.includes('errored')) {
            expect(r.effects.filter((e) => e.action === 'promote')).toEqual([]);
          }
        });
        expect(promotesAcknowledged).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
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
                  expect(assessCheck(spec, seen.filter((y) => y.group === g && y.check === name)).phase).toBe('passed');
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
