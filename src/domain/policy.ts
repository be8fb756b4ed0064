/**
 * A validated policy, as the policy loader produces it from YAML (see docs/policy.md).
 * Durations are milliseconds. CEL and templates stay as source text here; the policy
 * module compiles them.
 */

export type PolicyMode = 'enforce' | 'dry-run';
export type CheckScope = 'deployment' | 'allocation';
export type NoDataOutcome = 'pass' | 'fail' | 'inconclusive';

export interface PrometheusSource {
  kind: 'prometheus';
  /** Absent: the daemon's --prometheus-addr. */
  address?: string;
  query: string;
  timeoutMs: number;
}

export interface HttpSource {
  kind: 'http';
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export interface NomadChecksSource {
  kind: 'nomad';
  timeoutMs: number;
}

export type CheckSource = PrometheusSource | HttpSource | NomadChecksSource;

export interface CheckSpec {
  name: string;
  scope: CheckScope;
  source: CheckSource;
  pass: string;
  fail?: string;
  intervalMs: number;
  count: number;
  initialDelayMs: number;
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  noData: NoDataOutcome;
}

export interface PolicyMatch {
  namespaces: string[];
  jobs: string[];
  groups: string[];
  /** Job Meta key -> glob; all must match. */
  meta: Record<string, string>;
}

export interface CanaryStage {
  analysis: string[];
  bakeMs: number;
  promote: 'auto' | 'manual';
  together: boolean;
  /** Absent: no promoter timeout. */
  timeoutMs?: number;
  onTimeout: 'fail' | 'promote' | 'wait';
}

export interface Policy {
  name: string;
  /** Where it was defined, for messages: `file:line:col`. */
  source: string;
  match: PolicyMatch;
  priority: number;
  mode: PolicyMode;
  checks: Record<string, CheckSpec>;
  canary: CanaryStage;
  health: { checks: string[] };
  rollout: { analysis: string[] };
  onFailure: { rollback: 'auto' | 'revert' | 'none' };
  /** Where decisions are announced; absent: nowhere. */
  notify?: NotifyTarget[];
}

/** What a notification target is told about (docs/policy.md "Notifications"). */
export type NotifyEvent = 'promoted' | 'failed' | 'rolled_back' | 'held' | 'timeout' | 'human';

export interface NotifyTarget {
  kind: 'webhook' | 'slack';
  /** A template (docs/policy.md "Templates"): it may come whole from a PROMOTER_VAR_*. */
  url: string;
  /** Webhook only; values are templates. */
  headers: Record<string, string>;
  /** Slack only: a template put before each message ("" for none). */
  prefix: string;
  on: NotifyEvent[];
  /** `held` fires once a hold has lasted this long. */
  heldAfterMs: number;
  /** Per request. */
  timeoutMs: number;
}

/** Meta key by which a job or group pins a policy, or opts out with `none`. */
export const POLICY_PIN_META_KEY = 'nomad-promoter.policy';
export const POLICY_OPT_OUT = 'none';
