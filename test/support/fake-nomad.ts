/**
 * A NomadApi that records every call and answers from plain data, for tests of the
 * reconciler's effects (expected-actions lists). Not a simulator: it moves nothing by itself.
 */
import type { AllocationStub, Deployment, DeploymentUpdateResponse, Job } from '../../src/domain/nomad.js';
import type { DeploymentRef, NomadApi, QueryResult, Variable } from '../../src/nomad/api.js';
import { NomadError } from '../../src/nomad/errors.js';

export interface Call {
  method: string;
  args: unknown[];
}

const WRITES = new Set(['promote', 'fail', 'pause', 'setAllocationHealth', 'unblock', 'revertJob', 'registerJob']);
let nextIndex = 100;

export class FakeNomad implements NomadApi {
  calls: Call[] = [];
  deployments = new Map<string, Deployment>();
  allocs: AllocationStub[] = [];
  versions = new Map<string, Job[]>();
  /** Next answers to throw, by method. */
  failures = new Map<string, NomadError[]>();
  /** Methods whose next write is applied, but whose answer is lost (connection reset). */
  lostAnswers = new Set<string>();
  revertedJobVersion: number | null = null;
  variables = new Map<string, Variable>();

  writes(): Call[] {
    return this.calls.filter((c) => WRITES.has(c.method));
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
    const err = this.failures.get(method)?.shift();
    if (err) throw err;
  }

  private result<T>(body: T): QueryResult<T> {
    return { body, index: 10, knownLeader: true, lastContactMs: 0 };
  }

  /** Applied, then the answer is lost on the way back. */
  private answer<T>(method: string, value: T): T {
    if (!this.lostAnswers.delete(method)) return value;
    throw new NomadError({ status: 0, method: 'POST', route: `/v1/deployment/${method}/:id`, text: 'socket hang up', code: 'ECONNRESET' });
  }

  private update(): DeploymentUpdateResponse {
    return { EvalID: '', EvalCreateIndex: 0, DeploymentModifyIndex: 11, RevertedJobVersion: null, Index: 11 };
  }

  private get(ref: DeploymentRef): Deployment {
    const d = this.deployments.get(ref.id);
    if (!d) throw new NomadError({ status: 500, method: 'POST', route: '/v1/deployment/promote/:id', text: 'deployment not found' });
    return d;
  }

  async listDeployments() {
    this.record('listDeployments');
    return this.result([...this.deployments.values()]);
  }
  async listAllDeployments() {
    this.record('listAllDeployments');
    return this.result([...this.deployments.values()]);
  }
  async readDeployment(ref: DeploymentRef) {
    this.record('readDeployment', ref.id);
    return this.result(structuredClone(this.get(ref)));
  }
  async listAllocations() {
    this.record('listAllocations');
    return this.result(this.allocs);
  }
  async listAllAllocations<T>(_opts: unknown, keep: (a: AllocationStub) => T) {
    this.record('listAllAllocations');
    return this.result(this.allocs.map(keep));
  }
  async deploymentAllocations(ref: DeploymentRef) {
    this.record('deploymentAllocations', ref.id);
    const d = this.get(ref);
    return this.result(this.allocs.filter((a) => a.JobID === d.JobID && a.JobVersion === d.JobVersion));
  }
  async readAllocation(): Promise<never> {
    throw new Error('not used');
  }
  async allocationChecks() {
    this.record('allocationChecks');
    return {};
  }
  async promote(ref: DeploymentRef, groups?: string[]) {
    this.record('promote', ref.id, groups);
    const d = this.get(ref);
    for (const g of groups ?? Object.keys(d.TaskGroups)) d.TaskGroups[g]!.Promoted = true;
    return this.answer('promote', this.update());
  }
  async fail(ref: DeploymentRef) {
    this.record('fail', ref.id);
    const d = this.get(ref);
    d.Status = 'failed';
    d.StatusDescription = `Deployment marked as failed${this.revertedJobVersion !== null ? ` - rolling back to job version ${this.revertedJobVersion}` : ''}`;
    return this.answer('fail', { ...this.update(), RevertedJobVersion: this.revertedJobVersion });
  }
  async pause(ref: DeploymentRef, pause: boolean) {
    this.record('pause', ref.id, pause);
    return this.update();
  }
  async setAllocationHealth(ref: DeploymentRef, health: { healthy: string[]; unhealthy: string[] }) {
    this.record('setAllocationHealth', ref.id, health);
    return this.update();
  }
  async unblock(ref: DeploymentRef) {
    this.record('unblock', ref.id);
    return this.update();
  }
  async readJob(jobId: string) {
    this.record('readJob', jobId);
    const current = this.versions.get(jobId)?.[0];
    if (!current) throw new NomadError({ status: 404, method: 'GET', route: '/v1/job/:id', text: 'job not found' });
    return this.result(current);
  }
  async jobVersions(jobId: string) {
    this.record('jobVersions', jobId);
    const versions = this.versions.get(jobId);
    if (!versions) throw new NomadError({ status: 404, method: 'GET', route: '/v1/job/:id/versions', text: 'job versions not found' });
    return this.result({ Versions: versions });
  }
  async revertJob(jobId: string, namespace: string, version: number, enforcePriorVersion?: number) {
    this.record('revertJob', jobId, namespace, version, enforcePriorVersion);
    return { EvalID: '', EvalCreateIndex: 0, JobModifyIndex: 12 };
  }
  async listVariables(prefix: string, namespace: string) {
    this.record('listVariables', prefix);
    return [...this.variables.values()].filter((v) => v.Namespace === namespace && v.Path.startsWith(prefix)).map(({ Items: _items, ...meta }) => meta);
  }
  async readVariable(path: string, namespace: string) {
    this.record('readVariable', path);
    const v = this.variables.get(`${namespace}/${path}`);
    return v && structuredClone(v);
  }
  async writeVariable(path: string, namespace: string, items: Record<string, string>, cas?: number) {
    this.record('writeVariable', path, cas);
    const key = `${namespace}/${path}`;
    const current = this.variables.get(key);
    if (cas !== undefined && (current?.ModifyIndex ?? 0) !== cas) {
      throw new NomadError({ status: 409, method: 'PUT', route: '/v1/var/:path', text: JSON.stringify(current ?? {}) });
    }
    const index = ++nextIndex;
    const v: Variable = { Namespace: namespace, Path: path, CreateIndex: current?.CreateIndex ?? index, ModifyIndex: index, Items: items };
    this.variables.set(key, v);
    return structuredClone(v);
  }
  async deleteVariable(path: string, namespace: string) {
    this.record('deleteVariable', path);
    this.variables.delete(`${namespace}/${path}`);
  }
  async registerJob(job: Job) {
    this.record('registerJob', job.ID);
    return { EvalID: '', EvalCreateIndex: 0, JobModifyIndex: 12 };
  }
}

export function canaryDeployment(overrides: Partial<Deployment> = {}): Deployment {
  return {
    ID: 'd-1',
    Namespace: 'default',
    JobID: 'web-api',
    JobVersion: 1,
    JobModifyIndex: 9,
    JobSpecModifyIndex: 9,
    JobCreateIndex: 5,
    TaskGroups: {
      web: {
        AutoRevert: false,
        AutoPromote: false,
        Promoted: false,
        ProgressDeadline: 600_000_000_000,
        RequireProgressBy: null,
        PlacedCanaries: ['c1', 'c2'],
        DesiredCanaries: 2,
        DesiredTotal: 3,
        PlacedAllocs: 2,
        HealthyAllocs: 2,
        UnhealthyAllocs: 0,
      },
    },
    Status: 'running',
    StatusDescription: 'Deployment is running but requires manual promotion',
    CreateIndex: 9,
    ModifyIndex: 9,
    ...overrides,
  };
}

export function stub(id: string, healthy: boolean | null, timestamp: string, overrides: Partial<AllocationStub> = {}): AllocationStub {
  return {
    ID: id,
    EvalID: 'e',
    Name: `web-api.web[0]`,
    Namespace: 'default',
    NodeID: 'n1',
    NodeName: 'node-1',
    JobID: 'web-api',
    JobType: 'service',
    JobVersion: 1,
    TaskGroup: 'web',
    DesiredStatus: 'run',
    DesiredDescription: '',
    ClientStatus: 'running',
    ClientDescription: 'Tasks are running',
    DeploymentStatus: { Healthy: healthy, Timestamp: timestamp, Canary: true, ModifyIndex: 9 },
    CreateIndex: 9,
    ModifyIndex: 9,
    ...overrides,
  };
}

export function jobVersion(version: number, stable: boolean, meta: Record<string, string> = {}): Job {
  return { ID: 'web-api', Namespace: 'default', Version: version, Stable: stable, Meta: meta, TaskGroups: [{ Name: 'web', Count: 3, Update: { Canary: 2, HealthCheck: 'checks' } }] };
}
