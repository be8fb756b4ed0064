/**
 * The narrow view of Nomad's HTTP API that the promoter uses. The HTTP client implements it;
 * tests may swap in fakes that record calls.
 */
import type {
  Allocation,
  AllocationStub,
  Deployment,
  DeploymentUpdateResponse,
  Job,
  JobRegisterResponse,
  JobVersionsResponse,
  ServiceCheckResult,
} from '../domain/nomad.js';

/** Query parameters shared by reads. A blocking query is made when `index` is set. */
export interface QueryOptions {
  /** Blocking index; the client always sends max(index, 1) so the query really blocks. */
  index?: number;
  /** Blocking wait in ms (Nomad clamps to 300 s). */
  waitMs?: number;
  /** Defaults to the client's namespace (NOMAD_NAMESPACE, else `default`); `*` = all readable. */
  namespace?: string;
  /** go-bexpr filter expression. */
  filter?: string;
  perPage?: number;
  nextToken?: string;
  stale?: boolean;
  /** Retries of a transient failure for this read; defaults to the client's. */
  retries?: number;
  signal?: AbortSignal;
}

/** Body plus the X-Nomad-* response headers (names matched case-insensitively). */
export interface QueryResult<T> {
  body: T;
  /** X-Nomad-Index; 0 if absent. */
  index: number;
  knownLeader: boolean;
  lastContactMs: number;
  /** X-Nomad-NextToken, absent on the last page. */
  nextToken?: string;
  /** What reading the answer cost this process in ms (download, gunzip, JSON.parse), all pages together; the wait for it is not counted. */
  readMs?: number;
}

export interface DeploymentRef {
  id: string;
  namespace: string;
}

export interface NomadApi {
  /** One page of GET /v1/deployments. */
  listDeployments(opts?: QueryOptions): Promise<QueryResult<Deployment[]>>;
  /** Every page of GET /v1/deployments, following X-Nomad-NextToken; the lowest index across pages (a change made while paging is never missed). Only the first page blocks. */
  listAllDeployments(opts?: QueryOptions): Promise<QueryResult<Deployment[]>>;
  readDeployment(ref: DeploymentRef, opts?: QueryOptions): Promise<QueryResult<Deployment>>;
  /** GET /v1/allocations (stubs, with AllocatedResources when `resources`). */
  listAllocations(opts?: QueryOptions & { resources?: boolean; taskStates?: boolean }): Promise<QueryResult<AllocationStub[]>>;
  /** Every page of GET /v1/allocations, as listAllDeployments; `keep` cuts each page's items before the next page is read. */
  listAllAllocations<T>(opts: QueryOptions & { resources?: boolean; taskStates?: boolean }, keep: (a: AllocationStub) => T): Promise<QueryResult<T[]>>;
  deploymentAllocations(ref: DeploymentRef, opts?: QueryOptions): Promise<QueryResult<AllocationStub[]>>;
  readAllocation(id: string, opts?: QueryOptions): Promise<QueryResult<Allocation>>;
  allocationChecks(id: string, opts?: QueryOptions): Promise<Record<string, ServiceCheckResult>>;

  /** `groups` absent: promote All. */
  promote(ref: DeploymentRef, groups?: string[], signal?: AbortSignal): Promise<DeploymentUpdateResponse>;
  fail(ref: DeploymentRef, signal?: AbortSignal): Promise<DeploymentUpdateResponse>;
  pause(ref: DeploymentRef, pause: boolean, signal?: AbortSignal): Promise<DeploymentUpdateResponse>;
  setAllocationHealth(
    ref: DeploymentRef,
    health: { healthy: string[]; unhealthy: string[] },
    signal?: AbortSignal,
  ): Promise<DeploymentUpdateResponse>;
  unblock(ref: DeploymentRef, signal?: AbortSignal): Promise<DeploymentUpdateResponse>;

  readJob(jobId: string, namespace: string, opts?: QueryOptions): Promise<QueryResult<Job>>;
  jobVersions(jobId: string, namespace: string, opts?: QueryOptions): Promise<QueryResult<JobVersionsResponse>>;
  /** POST /v1/job/:id/revert; `enforcePriorVersion` makes Nomad refuse if the job moved on. */
  revertJob(
    jobId: string,
    namespace: string,
    version: number,
    enforcePriorVersion?: number,
    signal?: AbortSignal,
  ): Promise<JobRegisterResponse>;
  /** PUT /v1/jobs (used by demo and tests). */
  registerJob(job: Job, signal?: AbortSignal): Promise<JobRegisterResponse>;

  /** GET /v1/vars?prefix=: metadata of the variables under a path prefix (all pages). */
  listVariables(prefix: string, namespace: string, signal?: AbortSignal): Promise<VariableMetadata[]>;
  /** GET /v1/var/:path; undefined when it does not exist (404). */
  readVariable(path: string, namespace: string, signal?: AbortSignal): Promise<Variable | undefined>;
  /**
   * PUT /v1/var/:path. With `cas`, Nomad writes only if the variable's ModifyIndex is still
   * `cas` (0: only if it does not exist); a conflict rejects with a NomadError of status 409.
   */
  writeVariable(path: string, namespace: string, items: Record<string, string>, cas?: number, signal?: AbortSignal): Promise<Variable>;
  /** DELETE /v1/var/:path (no error when it does not exist). */
  deleteVariable(path: string, namespace: string, signal?: AbortSignal): Promise<void>;
}

/** A Nomad Variable (1.4+): string items at a path, with Raft indexes for check-and-set. */
export interface VariableMetadata {
  Namespace: string;
  Path: string;
  CreateIndex: number;
  ModifyIndex: number;
  CreateTime?: number;
  ModifyTime?: number;
}

export interface Variable extends VariableMetadata {
  Items: Record<string, string>;
}
