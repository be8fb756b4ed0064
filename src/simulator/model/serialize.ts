/**
 * Nomad's JSON shapes for the model's objects: deployments, allocation stubs and full
 * allocations, and Nomad-native service check results.
 */
import { createHash } from 'node:crypto';

import { rfc3339Nano, unixNano } from '../time-format.js';
import { lookupGroup } from './jobspec.js';
import type { Alloc, Deployment, TaskRun } from './types.js';

type Json = Record<string, unknown>;

export function deploymentToApi(d: Deployment): Json {
  const groups: Json = {};
  for (const [name, s] of d.groups) {
    groups[name] = {
      AutoRevert: s.AutoRevert,
      AutoPromote: s.AutoPromote,
      ProgressDeadline: Math.round(s.progressDeadlineMs * 1e6),
      RequireProgressBy: s.requireProgressByMs === null ? null : rfc3339Nano(s.requireProgressByMs),
      Promoted: s.Promoted,
      PlacedCanaries: s.PlacedCanaries.length > 0 ? [...s.PlacedCanaries] : null,
      DesiredCanaries: s.DesiredCanaries,
      DesiredTotal: s.DesiredTotal,
      PlacedAllocs: s.PlacedAllocs,
      HealthyAllocs: s.HealthyAllocs,
      UnhealthyAllocs: s.UnhealthyAllocs,
    };
  }
  return {
    ID: d.ID,
    Namespace: d.Namespace,
    JobID: d.JobID,
    JobVersion: d.JobVersion,
    JobModifyIndex: d.JobModifyIndex,
    JobSpecModifyIndex: d.JobSpecModifyIndex,
    JobCreateIndex: d.JobCreateIndex,
    IsMultiregion: false,
    TaskGroups: groups,
    Status: d.Status,
    StatusDescription: d.StatusDescription,
    EvalPriority: d.EvalPriority,
    CreateIndex: d.CreateIndex,
    ModifyIndex: d.ModifyIndex,
    CreateTime: unixNano(d.createTimeMs),
    ModifyTime: unixNano(d.modifyTimeMs),
  };
}

function taskStateToApi(t: TaskRun): Json {
  return {
    State: t.state,
    Failed: t.failed,
    Restarts: 0,
    LastRestart: null,
    StartedAt: t.startedAtMs === null ? null : rfc3339Nano(t.startedAtMs),
    FinishedAt: t.finishedAtMs === null ? null : rfc3339Nano(t.finishedAtMs),
    Events: t.events.map((e) => ({
      Type: e.type,
      Time: unixNano(e.timeMs),
      DisplayMessage: e.message,
      Message: e.type === 'Task Setup' ? e.message : '',
      Details: {},
      FailsTask: e.failsTask ?? false,
      ExitCode: e.failsTask ? 1 : 0,
    })),
    TaskHandle: null,
  };
}

function taskStates(a: Alloc): Json {
  const out: Json = {};
  for (const [name, t] of a.tasks) out[name] = taskStateToApi(t);
  return out;
}

function deploymentStatus(a: Alloc): Json | null {
  if (!a.health) return null;
  return {
    Healthy: a.health.healthy,
    Timestamp: a.health.timestampMs === null ? null : rfc3339Nano(a.health.timestampMs),
    Canary: a.health.canary,
    ModifyIndex: a.health.modifyIndex,
  };
}

function allocatedResources(a: Alloc): Json {
  const tasks: Json = {};
  for (const name of a.tasks.keys()) tasks[name] = { Cpu: { CpuShares: 100 }, Memory: { MemoryMB: 300 }, Networks: null };
  const dynamic = a.ports.map((p) => ({ Label: p.Label, Value: p.Value, To: p.To, HostNetwork: 'default' }));
  return {
    Tasks: tasks,
    Shared: {
      DiskMB: 300,
      Networks: [{ Mode: 'host', Device: '', CIDR: '', IP: '127.0.0.1', MBits: 0, DynamicPorts: dynamic, ReservedPorts: null }],
      Ports: a.ports.map((p) => ({ ...p })),
    },
  };
}

const DESIRED_TRANSITION = { Migrate: null, Reschedule: null, ForceReschedule: null, NoShutdownDelay: null };

export function allocName(a: Alloc): string {
  return `${a.JobID}.${a.TaskGroup}[${a.nameIndex}]`;
}

/** The list form (/v1/allocations and friends). It has no DeploymentID field at all. */
export function allocToStub(a: Alloc, opts: { taskStates?: boolean; resources?: boolean } = {}): Json {
  const stub: Json = {
    ID: a.ID,
    EvalID: a.EvalID,
    Name: allocName(a),
    Namespace: a.Namespace,
    NodeID: a.NodeID,
    NodeName: a.NodeName,
    JobID: a.JobID,
    JobType: a.job.Type,
    JobVersion: a.job.Version,
    TaskGroup: a.TaskGroup,
  };
  if (opts.resources) stub.AllocatedResources = allocatedResources(a);
  Object.assign(stub, {
    DesiredStatus: a.DesiredStatus,
    DesiredDescription: a.DesiredDescription,
    ClientStatus: a.ClientStatus,
    ClientDescription: a.ClientDescription,
    DesiredTransition: { ...DESIRED_TRANSITION },
    TaskStates: opts.taskStates === false ? null : taskStates(a),
    DeploymentStatus: deploymentStatus(a),
    FollowupEvalID: '',
    NextAllocation: a.NextAllocation,
    RescheduleTracker: null,
    PreemptedAllocations: null,
    PreemptedByAllocation: '',
    CreateIndex: a.CreateIndex,
    ModifyIndex: a.ModifyIndex,
    CreateTime: unixNano(a.createTimeMs),
    ModifyTime: unixNano(a.modifyTimeMs),
  });
  return stub;
}

/** The full allocation with every field, empty ones included (what `filter` is evaluated on). */
export function allocToFull(a: Alloc): Json {
  return {
    ID: a.ID,
    Namespace: a.Namespace,
    EvalID: a.EvalID,
    Name: allocName(a),
    NodeID: a.NodeID,
    NodeName: a.NodeName,
    JobID: a.JobID,
    Job: a.job,
    TaskGroup: a.TaskGroup,
    AllocatedResources: allocatedResources(a),
    DesiredStatus: a.DesiredStatus,
    DesiredDescription: a.DesiredDescription,
    DesiredTransition: { ...DESIRED_TRANSITION },
    ClientStatus: a.ClientStatus,
    ClientDescription: a.ClientDescription,
    TaskStates: taskStates(a),
    PreviousAllocation: a.PreviousAllocation,
    NextAllocation: a.NextAllocation,
    DeploymentID: a.DeploymentID,
    DeploymentStatus: deploymentStatus(a),
    RescheduleTracker: null,
    NetworkStatus: null,
    FollowupEvalID: '',
    PreemptedAllocations: null,
    PreemptedByAllocation: '',
    CreateIndex: a.CreateIndex,
    ModifyIndex: a.ModifyIndex,
    AllocModifyIndex: a.AllocModifyIndex,
    CreateTime: unixNano(a.createTimeMs),
    ModifyTime: unixNano(a.modifyTimeMs),
  };
}

/** Drops top-level fields that are empty, as Nomad's encoding of a full allocation does. */
export function omitEmpty(obj: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0) continue;
    out[k] = v;
  }
  return out;
}

interface CheckDef {
  service: string;
  check: string;
  task?: string;
}

/** Nomad-provider service checks of the allocation's group (default: service = group, check "alive"). */
function checkDefs(a: Alloc): CheckDef[] {
  const group = lookupGroup(a.job, a.TaskGroup);
  if (!group) return [];
  const declared: { services: unknown; task?: string }[] = [{ services: group.Services }];
  for (const t of group.Tasks) declared.push({ services: t.Services, task: t.Name });
  const anyDeclared = declared.some((d) => Array.isArray(d.services) && d.services.length > 0);
  if (!anyDeclared) return [{ service: a.TaskGroup, check: 'alive' }];
  const defs: CheckDef[] = [];
  for (const { services, task } of declared) {
    for (const s of (Array.isArray(services) ? services : []) as Json[]) {
      if (s.Provider !== 'nomad') continue;
      for (const c of (Array.isArray(s.Checks) ? s.Checks : []) as Json[]) {
        defs.push({ service: String(s.Name ?? a.TaskGroup), check: String(c.Name ?? 'alive'), task });
      }
    }
  }
  return defs;
}

/** GET /v1/allocation/:id/checks: one result per check, following the application's health. */
export function allocChecks(a: Alloc): Json {
  const out: Json = {};
  if (a.ClientStatus !== 'running') return out;
  for (const def of checkDefs(a)) {
    const id = createHash('md5').update(`${a.ID}/${def.service}/${def.check}`).digest('hex');
    const result: Json = {
      Check: def.check,
      Group: allocName(a),
      ID: id,
      Mode: 'healthiness',
      Output: a.appHealthy ? 'nomad: http ok' : 'nomad: http: 500 Internal Server Error',
      Service: def.service,
      Status: a.appHealthy ? 'success' : 'failure',
      StatusCode: a.appHealthy ? 200 : 500,
      Timestamp: Math.floor(a.checksChangedMs / 1000),
    };
    if (def.task) result.Task = def.task;
    out[id] = result;
  }
  return out;
}
