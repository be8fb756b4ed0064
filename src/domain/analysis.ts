/** Measurements and check states, as defined in docs/policy.md "Measurements and check outcomes". */

export type MeasurementResult = 'pass' | 'fail' | 'inconclusive' | 'error';

export interface Measurement {
  check: string;
  /** Set for allocation-scope checks. */
  allocId?: string;
  result: MeasurementResult;
  /** The numeric value behind the verdict, where there is one. */
  value?: number;
  /** Epoch ms. */
  at: number;
  /** Why: provider error text, or which expression decided. Never holds secrets. */
  message?: string;
}

export type CheckPhase = 'pending' | 'running' | 'passed' | 'failed' | 'inconclusive' | 'errored';

/** Check phases that hold a deployment: no automatic promote while any check is in one (policy.md). */
export const HOLDING_PHASES: readonly CheckPhase[] = ['inconclusive', 'errored'];

/**
 * What a provider observed, before CEL turns it into a measurement.
 * `variables` are the CEL variables of docs/policy.md "Expressions" for that provider.
 */
export type Observation =
  | { kind: 'data'; variables: Record<string, unknown>; value?: number; noData: boolean; warnings?: string[] }
  | { kind: 'error'; message: string };
