/**
 * Builds the machine's view of one deployment from Nomad objects: which groups are governed
 * by which policy, their canaries and health. Pure.
 */
import type { AllocationView, Deployment } from '../domain/nomad.js';
import type { Selection, SelectionTarget } from '../policy/select.js';
import type { AllocObservation, DeploymentObservation, GroupObservation } from '../machine/types.js';
import type { JobSpec } from './job-specs.js';

export type PolicySelector = (target: SelectionTarget) => Selection;

export interface ObservedDeployment {
  observation: DeploymentObservation;
  selections: Record<string, Selection>;
}

function toAlloc(a: AllocationView): AllocObservation {
  const status = a.DeploymentStatus ?? undefined;
  return {
    id: a.ID,
    healthy: status?.Healthy ?? null,
    running: a.ClientStatus === 'running' && a.DesiredStatus === 'run',
  };
}

export function observeDeployment(
  d: Deployment,
  job: JobSpec | undefined,
  allocs: AllocationView[],
  select: PolicySelector,
  dryRun: boolean,
): ObservedDeployment {
  const selections: Record<string, Selection> = {};
  const groups: GroupObservation[] = Object.entries(d.TaskGroups).map(([name, state]) => {
    const spec = job?.TaskGroups.find((g) => g.Name === name);
    const selection = select({
      namespace: d.Namespace,
      job: d.JobID,
      group: name,
      jobMeta: job?.Meta ?? {},
      groupMeta: spec?.Meta ?? {},
    });
    selections[name] = selection;
    const placed = new Set(state.PlacedCanaries ?? []);
    const inGroup = allocs.filter((a) => a.TaskGroup === name && a.DesiredStatus === 'run');
    const canaries = inGroup.filter((a) => placed.has(a.ID) || a.DeploymentStatus?.Canary === true);
    return {
      name,
      ...(selection.policy ? { policy: selection.policy } : {}),
      healthCheck: spec?.Update?.HealthCheck ?? job?.Update?.HealthCheck ?? 'checks',
      autoPromote: state.AutoPromote,
      autoRevert: state.AutoRevert,
      promoted: state.Promoted,
      desiredCanaries: state.DesiredCanaries,
      canaries: canaries.map(toAlloc),
      allocs: inGroup.map(toAlloc),
    };
  });
  return {
    observation: {
      id: d.ID,
      namespace: d.Namespace,
      job: d.JobID,
      jobVersion: d.JobVersion,
      status: d.Status,
      statusDescription: d.StatusDescription,
      groups,
      jobMeta: job?.Meta ?? {},
      dryRun,
    },
    selections,
  };
}
