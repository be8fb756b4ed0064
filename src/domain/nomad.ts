/**
 * Typed views of the Nomad API objects the promoter reads and writes.
 * Field names follow Nomad's JSON exactly. Fields Nomad may omit are optional.
 * UnixNano timestamps (CreateTime, ModifyTime, SubmitTime) exceed 2^53 and lose
 * precision in JSON.parse: they are informational only, never identities.
 */

export type DeploymentStatus =
  | 'running'
  | 'paused'
  | 'failed'
  | 'successful'
  | 'cancelled'
  | 'initializing'
  | 'pending'
  | 'blocked'
  | 'unblocking';

export const ACTIVE_DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = [
  'running',
  'paused',
  'blocked',
  'unblocking',
  'initializing',
  'pending',
];

export function isActiveDeployment(status: string): boolean {
  return (ACTIVE_DEPLOYMENT_STATUSES as readonly string[]).includes(status);
}

export interface DeploymentState {
  AutoRevert: boolean;
  AutoPromote: boolean;
  Promoted: boolean;
  /** Nanoseconds. */
  ProgressDeadline: number;
  /** RFC3339Nano, or null/absent when no deadline is running. */
  RequireProgressBy?: string | null;
  PlacedCanaries?: string[] | null;
  DesiredCanaries: number;
  DesiredTotal: number;
  PlacedAllocs: number;
  HealthyAllocs: number;
  UnhealthyAllocs: number;
}

export interface Deployment {
  ID: string;
  Namespace: string;
  JobID: string;
  JobVersion: number;
  JobModifyIndex: number;
  JobSpecModifyIndex: number;
  JobCreateIndex: number;
  IsMultiregion?: boolean;
  TaskGroups: Record<string, DeploymentState>;
  Status: DeploymentStatus;
  StatusDescription: string;
  EvalPriority?: number;
  CreateIndex: number;
  ModifyIndex: number;
  CreateTime?: number;
  ModifyTime?: number;
}

export interface AllocDeploymentStatus {
  Healthy?: boolean | null;
  Timestamp?: string | null;
  Canary?: boolean;
  ModifyIndex?: number;
}

export type ClientStatus = 'pending' | 'running' | 'complete' | 'failed' | 'lost' | 'unknown';
export type DesiredStatus = 'run' | 'stop' | 'evict';

export interface PortMapping {
  Label: string;
  Value: number;
  To: number;
  HostIP: string;
}

export interface NetworkResource {
  IP?: string;
  Mode?: string;
  DynamicPorts?: { Label: string; Value: number; To?: number; HostNetwork?: string }[] | null;
  ReservedPorts?: { Label: string; Value: number; To?: number; HostNetwork?: string }[] | null;
}

export interface AllocatedResources {
  Shared?: { Ports?: PortMapping[] | null; Networks?: NetworkResource[] | null };
  Tasks?: Record<string, { Networks?: NetworkResource[] | null }>;
}

export interface TaskState {
  State: 'pending' | 'running' | 'dead';
  Failed: boolean;
  Restarts?: number;
  StartedAt?: string | null;
  FinishedAt?: string | null;
  Events?: unknown[] | null;
}

/** The list form returned by /v1/allocations, /v1/job/:id/allocations, /v1/deployment/allocations/:id. It has no DeploymentID. */
export interface AllocationStub {
  ID: string;
  EvalID: string;
  Name: string;
  Namespace: string;
  NodeID: string;
  NodeName: string;
  JobID: string;
  JobType: string;
  JobVersion: number;
  TaskGroup: string;
  DesiredStatus: DesiredStatus;
  DesiredDescription: string;
  ClientStatus: ClientStatus;
  ClientDescription: string;
  DeploymentStatus?: AllocDeploymentStatus | null;
  TaskStates?: Record<string, TaskState> | null;
  AllocatedResources?: AllocatedResources | null;
  CreateIndex: number;
  ModifyIndex: number;
  CreateTime?: number;
  ModifyTime?: number;
}

/**
 * What the promoter keeps of an allocation (the watch cache): the fields that decisions, checks'
 * addresses and the status view read, with AllocatedResources cut to its networks. A stub fits.
 */
export type AllocationView = Pick<AllocationStub, 'ID' | 'Name' | 'Namespace' | 'NodeID' | 'NodeName' | 'JobID' | 'JobVersion' | 'TaskGroup' | 'DesiredStatus' | 'ClientStatus' | 'ModifyIndex'> & {
  DeploymentStatus?: Pick<AllocDeploymentStatus, 'Healthy' | 'Canary'> | null;
  AllocatedResources?: AllocatedResources | null;
};

/** The full allocation of GET /v1/allocation/:id. Zero and empty fields are omitted by Nomad. */
export interface Allocation extends Omit<AllocationStub, 'DeploymentStatus'> {
  DeploymentID?: string;
  DeploymentStatus?: AllocDeploymentStatus | null;
  Job?: Job;
  NetworkStatus?: { InterfaceName?: string; Address?: string } | null;
}

export type HealthCheckMode = 'checks' | 'task_states' | 'manual';

export interface UpdateStrategy {
  Stagger?: number;
  MaxParallel?: number;
  HealthCheck?: HealthCheckMode;
  /** Durations are nanoseconds. */
  MinHealthyTime?: number;
  HealthyDeadline?: number;
  ProgressDeadline?: number;
  Canary?: number;
  AutoRevert?: boolean;
  AutoPromote?: boolean;
}

export interface Task {
  Name: string;
  Driver?: string;
  Config?: Record<string, unknown>;
  Meta?: Record<string, string> | null;
}

export interface TaskGroup {
  Name: string;
  Count: number;
  Update?: UpdateStrategy | null;
  Meta?: Record<string, string> | null;
  Tasks?: Task[];
}

export interface Job {
  ID: string;
  Name?: string;
  Namespace?: string;
  Type?: string;
  Version?: number;
  Stable?: boolean;
  Stop?: boolean;
  Status?: string;
  Meta?: Record<string, string> | null;
  Update?: UpdateStrategy | null;
  TaskGroups: TaskGroup[];
  SubmitTime?: number;
  CreateIndex?: number;
  ModifyIndex?: number;
  JobModifyIndex?: number;
}

export interface JobVersionsResponse {
  Versions: Job[];
  Diffs?: unknown[] | null;
}

/** Answer of promote, fail, pause, allocation-health and unblock. */
export interface DeploymentUpdateResponse {
  EvalID: string;
  EvalCreateIndex: number;
  DeploymentModifyIndex: number;
  RevertedJobVersion?: number | null;
  Index: number;
}

export interface JobRegisterResponse {
  EvalID: string;
  EvalCreateIndex: number;
  JobModifyIndex: number;
  Warnings?: string;
  Index?: number;
}

/** One entry of GET /v1/allocation/:id/checks (a map keyed by check ID). */
export interface ServiceCheckResult {
  ID: string;
  Check: string;
  Group: string;
  Mode: 'healthiness' | 'readiness';
  Output: string;
  Service: string;
  Status: 'success' | 'failure' | 'pending';
  StatusCode?: number;
  Task?: string;
  Timestamp: number;
}
