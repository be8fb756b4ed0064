/**
 * Measurements -> the phase of a check (docs/policy.md "Measurements and check outcomes").
 * Pure: measurements and times come in as data. The reading of the contract is in README.md
 * in this folder; in short:
 *   - after every measurement, in the order given: failed (fails > failureLimit),
 *     inconclusive (inconclusives > inconclusiveLimit), errored (consecutive errors >
 *     consecutiveErrorLimit), passed (measurements taken >= count);
 *   - "measurements taken" are the measurements of the canary: pass, fail and inconclusive.
 *     A provider error is no measurement of the canary: it never counts toward `count`;
 *   - a terminal phase (passed, failed, inconclusive) sticks: later measurements are not looked
 *     at. `errored` is a hold, not a verdict: the next non-error measurement returns the check
 *     to running.
 */
import type { CheckPhase, Measurement } from '../domain/analysis.js';
import type { CheckSpec } from '../domain/policy.js';
import { backoffDelay } from '../domain/backoff.js';

export type Limits = Pick<CheckSpec, 'count' | 'failureLimit' | 'inconclusiveLimit' | 'consecutiveErrorLimit'>;

export interface CheckAssessment {
  phase: CheckPhase;
  passes: number;
  fails: number;
  inconclusives: number;
  errors: number;
  /** Measurements of the canary (passes + fails + inconclusives): what counts toward `count`. */
  measured: number;
  /** Errors since the last measurement that was not an error. */
  consecutiveErrors: number;
  /** Measurements looked at: all of them, or up to the one that ended the check. */
  taken: number;
}

const TERMINAL: ReadonlySet<CheckPhase> = new Set<CheckPhase>(['passed', 'failed', 'inconclusive']);

/** An errored check backs off up to this many intervals between measurements. */
const ERRORED_MAX_INTERVALS = 5;
/** Doublings of the interval until the errored backoff reaches its cap. */
const ERRORED_BACKOFF_STEPS = Math.ceil(Math.log2(ERRORED_MAX_INTERVALS));

export function isTerminalPhase(phase: CheckPhase): boolean {
  return TERMINAL.has(phase);
}

export function assessCheck(spec: Limits, measurements: readonly Measurement[]): CheckAssessment {
  const a: CheckAssessment = { phase: 'pending', passes: 0, fails: 0, inconclusives: 0, errors: 0, measured: 0, consecutiveErrors: 0, taken: 0 };
  for (const m of measurements) {
    a.taken += 1;
    if (m.result !== 'error') a.measured += 1;
    switch (m.result) {
      case 'pass':
        a.passes += 1;
        a.consecutiveErrors = 0;
        break;
      case 'fail':
        a.fails += 1;
        a.consecutiveErrors = 0;
        break;
      case 'inconclusive':
        a.inconclusives += 1;
        a.consecutiveErrors = 0;
        break;
      case 'error':
        a.errors += 1;
        a.consecutiveErrors += 1;
        break;
    }
    a.phase = phaseOf(spec, a);
    if (isTerminalPhase(a.phase)) break;
  }
  return a;
}

function phaseOf(spec: Limits, a: CheckAssessment): CheckPhase {
  if (a.fails > spec.failureLimit) return 'failed';
  if (a.inconclusives > spec.inconclusiveLimit) return 'inconclusive';
  if (a.consecutiveErrors > spec.consecutiveErrorLimit) return 'errored';
  // Limits first: the measurement that reaches `count` and trips a limit ends the check on the
  // limit. A check never passes without a passing measurement: tolerated fails and inconclusives
  // alone keep it running until a pass arrives or a limit trips (inconclusive never promotes).
  if (a.measured >= Math.max(1, spec.count) && a.passes > 0) return 'passed';
  return 'running';
}

export interface AllocationCheckAssessment {
  phase: CheckPhase;
  /** One assessment per allocation in scope. */
  byAlloc: Record<string, CheckAssessment>;
}

/**
 * An allocation-scope check: failed as soon as one allocation in scope failed; passed when it
 * passed for every allocation in scope (never for an empty scope). Otherwise a hold
 * (inconclusive before errored) as soon as one allocation ends that way, since the check can then
 * no longer pass; else running once any allocation was measured, else pending. Measurements of
 * allocations outside `allocIds` are ignored.
 */
export function assessAllocationCheck(
  spec: Limits,
  measurementsByAlloc: Readonly<Record<string, readonly Measurement[]>>,
  allocIds: readonly string[],
): AllocationCheckAssessment {
  const byAlloc: Record<string, CheckAssessment> = {};
  for (const id of allocIds) byAlloc[id] = assessCheck(spec, Object.hasOwn(measurementsByAlloc, id) ? (measurementsByAlloc[id] ?? []) : []);
  const phases = Object.values(byAlloc).map((a) => a.phase);
  let phase: CheckPhase;
  if (phases.includes('failed')) phase = 'failed';
  else if (phases.includes('inconclusive')) phase = 'inconclusive';
  else if (phases.includes('errored')) phase = 'errored';
  else if (phases.length > 0 && phases.every((p) => p === 'passed')) phase = 'passed';
  else if (phases.some((p) => p !== 'pending')) phase = 'running';
  else phase = 'pending';
  return { phase, byAlloc };
}

/**
 * When the next measurement is due (epoch ms): `startedAt + initialDelay` for the first, then
 * `interval` after the latest one. Undefined once the check has ended. An error waits at least
 * the interval (no tight retry loop against a system that is down); an errored check backs off,
 * doubling from `interval` up to 5 x `interval`, and keeps measuring until the provider is back.
 */
export function nextMeasurementDue(
  spec: Limits & Pick<CheckSpec, 'intervalMs' | 'initialDelayMs'>,
  measurements: readonly Measurement[],
  startedAt: number,
): number | undefined {
  const a = assessCheck(spec, measurements);
  if (isTerminalPhase(a.phase)) return undefined;
  if (measurements.length === 0) return startedAt + spec.initialDelayMs;
  const last = measurements.reduce((max, m) => Math.max(max, m.at), Number.NEGATIVE_INFINITY);
  if (a.phase !== 'errored') return last + spec.intervalMs;
  const attempt = a.consecutiveErrors - spec.consecutiveErrorLimit - 1;
  return last + backoffDelay(spec.intervalMs, attempt, ERRORED_MAX_INTERVALS * spec.intervalMs);
}

/**
 * The measurements without the oldest errors of a run longer than can matter, per allocation:
 * past `consecutiveErrorLimit + 1` errors in a row the check is errored, and a few more put its
 * backoff at the cap, so older errors of the same run change neither the phase nor the next due
 * time. A check whose provider stays down for days keeps a history of bounded size.
 * Measurements that are not errors are all kept: `count` and the limits bound them.
 */
export function trimErrorRuns(spec: Limits, measurements: readonly Measurement[]): Measurement[] {
  const keep = spec.consecutiveErrorLimit + 1 + ERRORED_BACKOFF_STEPS;
  const runs = new Map<string, number[]>();
  measurements.forEach((m, i) => {
    const key = m.allocId ?? '';
    if (m.result !== 'error') runs.delete(key);
    else if (runs.has(key)) runs.get(key)!.push(i);
    else runs.set(key, [i]);
  });
  const dropped = new Set<number>();
  for (const run of runs.values()) for (const i of run.slice(0, Math.max(0, run.length - keep))) dropped.add(i);
  return dropped.size === 0 ? [...measurements] : measurements.filter((_m, i) => !dropped.has(i));
}
