/**
 * The simulator's internal model. Times are epoch milliseconds of the simulated clock;
 * serializers (serialize.ts) turn them into Nomad's JSON shapes (UnixNano, RFC3339Nano, ns).
 */
import type { Deployment as WireDeployment, DeploymentState } from '../../domain/nomad.js';

export type HealthMode = 'checks' | 'task_states' | 'manual';

/** A group's update strategy after merging job-level values and defaults; durations in ns. */
export interface UpdateSpec {
  Stagger: number;
  MaxParallel: number;
  HealthCheck: HealthMode;
  MinHealthyTime: number;
  HealthyDeadline: number;
  ProgressDeadline: number;
  Canary: number;
  AutoRevert: boolean;
  AutoPromote: boolean;
}

export interface JobTask {
  Name: string;
  Driver: string;
  Config: Record<string, unknown> | null;
  Meta: Record<string, string> | null;
  [extra: string]: unknown;
}

export interface JobGroup {
  Name: string;
  Count: number;
  Update: UpdateSpec | null;
  Meta: Record<string, string> | null;
  Tasks: JobTask[];
  [extra: string]: unknown;
}

/** One stored job version, in Nomad's JSON shape (what GET /v1/job/:id returns). */
export interface JobVersion {
  ID: string;
  Name: string;
  Namespace: string;
  Type: string;
  Priority: number;
  Region: string;
  Datacenters: string[];
  Meta: Record<string, string> | null;
  Update: { Stagger: number; MaxParallel: number; [k: string]: unknown };
  TaskGroups: JobGroup[];
  Stop: boolean;
  Stable: boolean;
  Version: number;
  Status: string;
  StatusDescription: string;
  SubmitTime: number;
  CreateIndex: number;
  ModifyIndex: number;
  JobModifyIndex: number;
  [extra: string]: unknown;
}

/** A group's deployment state as the model keeps it: the wire fields, with deadlines in ms. */
export interface GroupDeploymentState extends Omit<DeploymentState, 'ProgressDeadline' | 'RequireProgressBy' | 'PlacedCanaries'> {
  progressDeadlineMs: number;
  requireProgressByMs: number | null;
  PlacedCanaries: string[];
}

/** A deployment as the model keeps it: the wire fields, with per-group state and times in ms. */
export interface Deployment
  extends Pick<WireDeployment, 'ID' | 'Namespace' | 'JobID' | 'JobVersion' | 'JobModifyIndex' | 'JobSpecModifyIndex' | 'JobCreateIndex' | 'StatusDescription' | 'CreateIndex' | 'ModifyIndex'> {
  EvalPriority: number;
  Status: string;
  groups: Map<string, GroupDeploymentState>;
  /** Once the progress deadline has been hit, any later failure is described as a deadline failure (as Nomad does). */
  deadlineHit: boolean;
  createTimeMs: number;
  modifyTimeMs: number;
}

export interface TaskRun {
  state: 'pending' | 'running' | 'dead';
  failed: boolean;
  startedAtMs: number | null;
  finishedAtMs: number | null;
  events: { type: string; message: string; timeMs: number; failsTask?: boolean }[];
}

export interface AllocHealth {
  healthy: boolean | null;
  timestampMs: number | null;
  canary: boolean;
  modifyIndex: number;
}

export interface PortAlloc {
  Label: string;
  Value: number;
  To: number;
  HostIP: string;
}

export interface Alloc {
  ID: string;
  EvalID: string;
  Namespace: string;
  JobID: string;
  TaskGroup: string;
  nameIndex: number;
  NodeID: string;
  NodeName: string;
  /** The job version this allocation runs (Nomad's alloc.Job). */
  job: JobVersion;
  DeploymentID: string;
  DesiredStatus: 'run' | 'stop' | 'evict';
  DesiredDescription: string;
  ClientStatus: 'pending' | 'running' | 'complete' | 'failed' | 'lost' | 'unknown';
  ClientDescription: string;
  health: AllocHealth | null;
  tasks: Map<string, TaskRun>;
  ports: PortAlloc[];
  /** Whether the application's service checks pass (driven by the control API). */
  appHealthy: boolean;
  /** Start of the current uninterrupted "healthy per health_check mode" stretch. */
  healthySinceMs: number | null;
  /** When client-side health tracking started (placement or in-place update): healthy_deadline counts from here. */
  healthTrackStartMs: number | null;
  PreviousAllocation: string;
  NextAllocation: string;
  CreateIndex: number;
  ModifyIndex: number;
  AllocModifyIndex: number;
  createTimeMs: number;
  modifyTimeMs: number;
  checksChangedMs: number;
}

export interface SimNode {
  ID: string;
  Name: string;
}

/** A Nomad Variable as the state store holds it (decrypted: the simulator does not encrypt). */
export interface SimVariable {
  Namespace: string;
  Path: string;
  CreateIndex: number;
  /** Unix nanoseconds, as Nomad reports them. */
  CreateTime: number;
  ModifyIndex: number;
  ModifyTime: number;
  Items: Record<string, string>;
  /** Present while a lock is held or awaiting release (see model/variable-locks.ts). */
  Lock?: SimVariableLock;
}

export interface SimVariableLock {
  ID: string;
  /** As the acquirer wrote them (Go durations), and in milliseconds. */
  TTL: string;
  LockDelay: string;
  ttlMs: number;
  lockDelayMs: number;
  /** Simulator time of the acquire or the last renew. */
  renewedAt: number;
}
