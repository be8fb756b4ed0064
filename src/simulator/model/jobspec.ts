/**
 * Job specs: canonicalisation of a submitted job (defaults, job-level Update merged into groups,
 * as Nomad's API canonicalisation does), spec comparison, and the simulator's notion of a
 * destructive change.
 *
 * Destructive (needs new allocations, so canaries apply): any change to a group's Tasks or Meta,
 * or to the job's Meta. Everything else (Count, Update, ...) is applied in place.
 */
import { taskBehaviour } from './app-host.js';
import { ApiError } from './errors.js';
import type { HealthMode, JobGroup, JobTask, JobVersion, UpdateSpec } from './types.js';

/** A submitted Update block: any field may be missing or null. */
type UpdateStrategyInput = { [K in keyof UpdateSpec]?: UpdateSpec[K] | null };

const S = 1e9;

export const DEFAULT_UPDATE: UpdateSpec = {
  Stagger: 30 * S,
  MaxParallel: 1,
  HealthCheck: 'checks',
  MinHealthyTime: 10 * S,
  HealthyDeadline: 300 * S,
  ProgressDeadline: 600 * S,
  Canary: 0,
  AutoRevert: false,
  AutoPromote: false,
};

const HEALTH_MODES: readonly HealthMode[] = ['checks', 'task_states', 'manual'];

/** Fields that change on every write and are not part of the spec. */
const NON_SPEC_FIELDS = new Set([
  'Status',
  'StatusDescription',
  'Stable',
  'Version',
  'CreateIndex',
  'ModifyIndex',
  'JobModifyIndex',
  'SubmitTime',
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, what: string): Record<string, string> | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw new ApiError(400, `${what} must be a map of strings`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) out[k] = String(val);
  return Object.keys(out).length > 0 ? out : null;
}

function pick<T>(value: unknown, fallback: T): T {
  return value === undefined || value === null ? fallback : (value as T);
}

function mergeUpdate(base: UpdateSpec, over: UpdateStrategyInput | null | undefined): UpdateSpec {
  if (!over) return base;
  const merged: UpdateSpec = {
    Stagger: Number(pick(over.Stagger, base.Stagger)),
    MaxParallel: Number(pick(over.MaxParallel, base.MaxParallel)),
    HealthCheck: pick(over.HealthCheck, base.HealthCheck),
    MinHealthyTime: Number(pick(over.MinHealthyTime, base.MinHealthyTime)),
    HealthyDeadline: Number(pick(over.HealthyDeadline, base.HealthyDeadline)),
    ProgressDeadline: Number(pick(over.ProgressDeadline, base.ProgressDeadline)),
    Canary: Number(pick(over.Canary, base.Canary)),
    AutoRevert: Boolean(pick(over.AutoRevert, base.AutoRevert)),
    AutoPromote: Boolean(pick(over.AutoPromote, base.AutoPromote)),
  };
  if (!HEALTH_MODES.includes(merged.HealthCheck)) {
    throw new ApiError(500, `1 error occurred:\n\t* Invalid health check given: "${merged.HealthCheck}"\n\n`);
  }
  return merged;
}

function canonicalTask(input: unknown, groupName: string, i: number): JobTask {
  const t = isObject(input) ? input : {};
  const task: JobTask = {
    ...t,
    Name: String(pick(t.Name, i === 0 ? groupName : `${groupName}-${i}`)),
    Driver: String(pick(t.Driver, 'docker')),
    Config: isObject(t.Config) ? t.Config : null,
    Meta: stringMap(t.Meta, 'Task Meta'),
  };
  // sim_error_rate / sim_latency_ms are refused at registration, not when an allocation starts.
  taskBehaviour(task.Name, task.Config);
  return task;
}

function canonicalGroup(input: unknown, jobUpdate: UpdateStrategyInput | null, isService: boolean): JobGroup {
  if (!isObject(input) || typeof input.Name !== 'string' || input.Name === '') {
    throw new ApiError(500, '1 error occurred:\n\t* Missing task group name\n\n');
  }
  const name = input.Name;
  const tasks = Array.isArray(input.Tasks) && input.Tasks.length > 0 ? input.Tasks : [{}];
  const groupUpdate = isObject(input.Update) ? (input.Update as UpdateStrategyInput) : null;
  return {
    ...input,
    Name: name,
    Count: Number(pick(input.Count, 1)),
    Update: isService ? mergeUpdate(mergeUpdate(DEFAULT_UPDATE, jobUpdate), groupUpdate) : null,
    Meta: stringMap(input.Meta, 'Group Meta'),
    Tasks: tasks.map((t, i) => canonicalTask(t, name, i)),
  };
}

/** Builds the stored job (without indexes and version) from a submitted `Job` object. */
export function canonicalizeJob(input: unknown, requestNamespace: string): JobVersion {
  if (!isObject(input)) throw new ApiError(400, 'Job must be specified');
  if (typeof input.ID !== 'string' || input.ID === '') throw new ApiError(400, "Job ID hasn't been provided");
  const type = String(pick(input.Type, 'service'));
  const isService = type === 'service';
  const jobUpdate = isObject(input.Update) ? (input.Update as UpdateStrategyInput) : null;
  const groups = Array.isArray(input.TaskGroups) ? input.TaskGroups : [];
  if (groups.length === 0) throw new ApiError(500, '1 error occurred:\n\t* Missing job task groups\n\n');
  const names = new Set<string>();
  const taskGroups = groups.map((g) => canonicalGroup(g, jobUpdate, isService));
  for (const g of taskGroups) {
    if (names.has(g.Name)) throw new ApiError(500, `1 error occurred:\n\t* Job task group ${g.Name} redefined\n\n`);
    names.add(g.Name);
  }
  const mergedJobUpdate = mergeUpdate(DEFAULT_UPDATE, jobUpdate);
  return {
    ...input,
    ID: input.ID,
    Name: String(pick(input.Name, input.ID)),
    Namespace: String(pick(input.Namespace, requestNamespace)),
    Type: type,
    Priority: Number(pick(input.Priority, 50)),
    Region: String(pick(input.Region, 'global')),
    Datacenters: Array.isArray(input.Datacenters) ? input.Datacenters.map(String) : ['*'],
    Meta: stringMap(input.Meta, 'Job Meta'),
    // Nomad keeps only Stagger and MaxParallel at the job level once merged into the groups.
    Update: { ...zeroUpdate(), Stagger: mergedJobUpdate.Stagger, MaxParallel: mergedJobUpdate.MaxParallel },
    TaskGroups: taskGroups,
    Stop: Boolean(pick(input.Stop, false)),
    Stable: false,
    Version: 0,
    Status: 'pending',
    StatusDescription: '',
    SubmitTime: 0,
    CreateIndex: 0,
    ModifyIndex: 0,
    JobModifyIndex: 0,
  };
}

function zeroUpdate(): Record<string, unknown> {
  return {
    AutoPromote: false,
    AutoRevert: false,
    Canary: 0,
    HealthCheck: '',
    HealthyDeadline: 0,
    MaxParallel: 0,
    MinHealthyTime: 0,
    ProgressDeadline: 0,
    Stagger: 0,
  };
}

/** Deterministic JSON (sorted keys) for deep comparison. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableStringify(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function specOf(job: JobVersion): string {
  const spec: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(job)) if (!NON_SPEC_FIELDS.has(k)) spec[k] = v;
  return stableStringify(spec);
}

/** Nomad's Job.SpecChanged: anything but status, stability, version, indexes and submit time. */
export function specChanged(a: JobVersion, b: JobVersion): boolean {
  return specOf(a) !== specOf(b);
}

/** Whether allocations of `group` placed from `from` must be replaced to run `to`. */
export function isDestructive(from: JobVersion, to: JobVersion, group: string): boolean {
  const a = from.TaskGroups.find((g) => g.Name === group);
  const b = to.TaskGroups.find((g) => g.Name === group);
  if (!a || !b) return true;
  return (
    stableStringify(a.Tasks) !== stableStringify(b.Tasks) ||
    stableStringify(a.Meta) !== stableStringify(b.Meta) ||
    stableStringify(from.Meta) !== stableStringify(to.Meta)
  );
}

/** A group takes part in deployments only with an update strategy (Nomad: MaxParallel > 0). */
export function hasUpdateStrategy(group: JobGroup): group is JobGroup & { Update: UpdateSpec } {
  return group.Update !== null && group.Update.MaxParallel > 0;
}

export function lookupGroup(job: JobVersion, name: string): JobGroup | undefined {
  return job.TaskGroups.find((g) => g.Name === name);
}
