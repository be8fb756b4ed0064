/**
 * One observation -> one measurement, exactly as docs/policy.md "Measurements and check
 * outcomes" says:
 *   provider error -> error; no data, or a number that is not finite (NaN, +Inf, -Inf) anywhere
 *   in what the provider observed -> the check's `noData` outcome;
 *   else pass if `pass` holds; else fail if `fail` holds or no `fail` is given; else inconclusive.
 * An expression that cannot be evaluated is an `error` measurement too: the analysis could not
 * tell, which must not look like a bad canary.
 *
 * Pure. CEL comes in as `evaluate`, which also binds the variables that do not come from the
 * provider (`namespace`, `job`, `group`, `alloc`).
 */
import type { Measurement, MeasurementResult, Observation } from '../domain/analysis.js';
import type { CheckSpec } from '../domain/policy.js';

export type EvaluateResult = { ok: true; value: boolean } | { ok: false; error: string };
export type Evaluate = (expr: string, vars: Record<string, unknown>) => EvaluateResult;

export function toMeasurement(
  observation: Observation,
  spec: Pick<CheckSpec, 'name' | 'pass' | 'fail' | 'noData'>,
  evaluate: Evaluate,
  at: number,
  allocId?: string,
): Measurement {
  const make = (result: MeasurementResult, message: string, value?: number): Measurement => {
    const m: Measurement = { check: spec.name, result, at, message };
    if (allocId !== undefined) m.allocId = allocId;
    if (value !== undefined) m.value = value;
    return m;
  };

  if (observation.kind === 'error') return make('error', observation.message);

  const note = observation.warnings?.length ? `; warnings: ${observation.warnings.join(' | ')}` : '';
  const value = observation.value;
  if (observation.noData) return make(spec.noData, `no data -> ${spec.noData}${note}`);
  // An infinite or undefined ratio is never evidence of health: `-Inf < 0.05` must not pass.
  const bad = nonFinite(observation.variables);
  if (bad !== undefined) return make(spec.noData, `no data: ${bad} is not a finite number -> ${spec.noData}${note}`);

  const pass = run(evaluate, spec.pass, observation.variables);
  if (!pass.ok) return make('error', `pass expression: ${pass.error}${note}`, value);
  if (pass.value) return make('pass', `pass held: ${spec.pass}${note}`, value);

  if (spec.fail === undefined || spec.fail === '') return make('fail', `pass did not hold: ${spec.pass}${note}`, value);
  const fail = run(evaluate, spec.fail, observation.variables);
  if (!fail.ok) return make('error', `fail expression: ${fail.error}${note}`, value);
  if (fail.value) return make('fail', `fail held: ${spec.fail}${note}`, value);
  return make('inconclusive', `neither pass nor fail held${note}`, value);
}

/** The first number in `value` (searched through lists and maps) that is not finite. */
function nonFinite(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : formatNonFinite(value);
  if (typeof value !== 'object' || value === null) return undefined;
  for (const v of Array.isArray(value) ? value : Object.values(value)) {
    const found = nonFinite(v);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** In Prometheus's spelling, which is what a user sees in the query's answer. */
function formatNonFinite(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  return n > 0 ? '+Inf' : '-Inf';
}

/** The evaluator is injected code: a throw from it is an evaluation error, not a crash. */
function run(evaluate: Evaluate, expr: string, vars: Record<string, unknown>): EvaluateResult {
  try {
    const r = evaluate(expr, vars);
    if (r.ok && typeof r.value !== 'boolean') return { ok: false, error: `expected a bool, got ${typeof r.value}` };
    return r;
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
