/**
 * Data the deployment machine works on. Everything here is JSON-safe: it is persisted
 * as the machine snapshot. Times are epoch ms.
 */
import type { Measurement, CheckPhase } from '../domain/analysis.js';
import type { Policy } from '../domain/policy.js';
import type { DeploymentStatus, HealthCheckMode } from '../domain/nomad.js';
import type { StateValue } from 'xstate';
import type { EffectRequest } from './plan.js';

export type EffectAction = 'promote' | 'fail' | 'set_health' | 'revert' | 'pause' | 'resume' | 'abort' | 'retry';
/** Who took a decision: the policy, or a person through the action API. */
export type DecisionSource = 'policy' | 'human';
export type Outcome = 'ok' | 'error' | 'dry_run';

/** What the reconciler observed of one task group, built from Nomad's state. */
export interface GroupObservation {
  name: string;
  /** The policy governing the group, or undefined when ungoverned. */
  policy?: Policy;
  healthCheck: HealthCheckMode;
  autoPromote: boolean;
  autoRevert: boolean;
  promoted: boolean;
  desiredCanaries: number;
  /** Canary allocations of this deployment, with Nomad's health. */
  canaries: AllocObservation[];
  /** Every allocation of this deployment in the group (canaries included). */
  allocs: AllocObservation[];
}

export interface AllocObservation {
  id: string;
  healthy: boolean | null;
  running: boolean;
}

export interface DeploymentObservation {
  id: string;
  namespace: string;
  job: string;
  jobVersion: number;
  status: DeploymentStatus;
  statusDescription: string;
  groups: GroupObservation[];
  /** The job's Meta at this version (for templates). */
  jobMeta: Record<string, string>;
  /** Global --dry-run. */
  dryRun: boolean;
}

export interface CheckRecord {
  /** Epoch ms when the check's clock started (for initialDelay). */
  startedAt: number;
  /** Allocation scope: when each allocation came into scope; its own clock for initialDelay. */
  allocStartedAt?: Record<string, number>;
  measurements: Measurement[];
  phase: CheckPhase;
}

export type Stage = 'canary' | 'rollout' | 'health';

/** Whether a group's decisions are written to Nomad (`enforce`) or only reported. */
export type GroupMode = 'enforce' | 'dry-run';

export interface GroupTrack {
  policy?: string;
  mode: GroupMode;
  /** The group places canaries in this deployment. */
  canary: boolean;
  /** When the promoter first saw every canary of the group healthy (its own clock). */
  canariesHealthyAt?: number;
  /** The canaries that were healthy then: a replaced canary restarts the bake. */
  canaryIds?: string[];
  promoted: boolean;
  /** One record per check and stage, keyed `stage:check`; allocation-scope measurements carry their allocId. */
  checks: Record<string, CheckRecord>;
  /** Allocation IDs whose health this promoter already decided (manual-health groups). */
  healthDecided: Record<string, boolean>;
  /** The group machine's state value (group-machine.ts). */
  state: StateValue;
}

export interface DecisionRecord {
  at: number;
  /** `check`: a check entered or left a hold (errored, inconclusive); nothing was sent to Nomad. */
  action: EffectAction | 'check';
  groups: string[];
  outcome: Outcome | 'pending';
  reason: string;
  message?: string;
  /** The measurements behind the decision. */
  evidence: Measurement[];
  /** Absent in records from before people could act: the policy. */
  source?: DecisionSource;
  /** The person who asked (source human). */
  who?: string;
  /** Nomad was already where the action would take it: nothing was written. */
  skipped?: boolean;
  /** set_health marking allocations unhealthy: Nomad fails the deployment because of it. */
  failsDeployment?: boolean;
}

export interface PendingDecision {
  action: EffectAction | 'hold' | 'wait';
  groups: string[];
  reason: string;
}

export interface PromoterContext {
  deploymentId: string;
  namespace: string;
  job: string;
  jobVersion: number;
  nomadStatus: DeploymentStatus | 'unknown';
  groups: Record<string, GroupTrack>;
  /**
   * Effects carried out (ok, or reported in dry-run), keyed by `action:groups`: never emitted
   * twice. An effect that errored, or whose result was lost in a crash, is not here and is
   * emitted again; the reconciler's pre-checks make that safe.
   */
  done: Record<string, Outcome>;
  pending: PendingDecision[];
  history: DecisionRecord[];
  /** Earliest time the reconciler should look again, if a deadline is running. */
  wakeAt?: number;
  /** Time spent paused in Nomad, which does not count toward canary.timeout. */
  pausedMs: number;
  pausedSince?: number;
  /**
   * A rollback the promoter still owes after failing the deployment (its first attempt did not
   * get a final answer). Retried as a `revert` effect, even once Nomad calls the deployment failed.
   */
  rollbackDue?: { groups: string[]; reason: string };
  /** The deployment's fail (the policy's or a person's abort), asked again until Nomad acknowledges it. */
  failRequest?: EffectRequest;
  warnings: string[];
  updatedAt: number;
}
