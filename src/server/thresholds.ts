/**
 * The bound a check's `pass` or `fail` expression sets on its measured value, when the
 * expression is one comparison of that value with a number (`result < 0.01`,
 * `response.status == 200`): what the dashboard draws against the measurements. Anything more
 * complex has no single bound and is shown as text only.
 */
import type { CheckSource } from '../domain/policy.js';

export type ThresholdOp = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface Threshold {
  op: ThresholdOp;
  value: number;
}

/** The CEL variable that each provider reports as the measurement's value. */
const VALUE_VARIABLE: Record<CheckSource['kind'], string | undefined> = {
  prometheus: 'result',
  http: 'response.status',
  nomad: undefined,
};

const NUMBER = String.raw`(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)`;
const OP = '(<=|>=|==|!=|<|>)';
/** `5 > result` reads as `result < 5`. */
const MIRROR: Record<ThresholdOp, ThresholdOp> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==', '!=': '!=' };

export function thresholdOf(expression: string | undefined, kind: CheckSource['kind']): Threshold | undefined {
  const variable = VALUE_VARIABLE[kind];
  if (!expression || !variable) return undefined;
  const name = variable.replace('.', '\\.');
  const direct = new RegExp(`^\\s*${name}\\s*${OP}\\s*${NUMBER}\\s*$`).exec(expression);
  if (direct) return { op: direct[1] as ThresholdOp, value: Number(direct[2]) };
  const mirrored = new RegExp(`^\\s*${NUMBER}\\s*${OP}\\s*${name}\\s*$`).exec(expression);
  if (mirrored) return { op: MIRROR[mirrored[2] as ThresholdOp], value: Number(mirrored[1]) };
  return undefined;
}
