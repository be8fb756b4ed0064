/**
 * The status API's view of a tracked deployment, built from its stored snapshot.
 * Pure: the HTTP layer only serialises what this returns.
 */
import { stateName, type StoredSnapshot } from '../machine/machine.js';
import { groupStateOf } from '../machine/group-machine.js';
import { HOLDING_PHASES, type Measurement } from '../domain/analysis.js';
import type { CheckRecord, DecisionRecord, DecisionSource, PendingDecision } from '../machine/types.js';

export interface CheckStatus {
  stage: string;
  check: string;
  state: string;
  lastValue?: number;
  lastResult?: string;
  /** Why: the provider's own message (e.g. Prometheus's error while errored), or what decided. */
  lastMessage?: string;
  lastAt?: string;
  measurements: number;
}

export interface DeploymentStatusView {
  id: string;
  namespace: string;
  job: string;
  version: number;
  status: string;
  state: string;
  /** Per task group; `state` is the group machine's state, `hold` which hold while `holding`. */
  groups: Record<string, { policy: string; mode: string; state: string; hold?: string; promoted: boolean; canariesHealthyAt?: string; checks: CheckStatus[] }>;
  pending: (PendingDecision & { causes?: HoldCause[] })[];
  warnings: string[];
  /** When the promoter looks again on its own (end of the bake, the canary timeout). */
  nextAt?: string;
  updatedAt: string;
}

export type MeasurementView = Omit<Measurement, 'at'> & { at: string };

/** Why a deployment holds: each held check with its last result, value and message. */
export interface HoldCause extends Omit<CheckStatus, 'measurements' | 'lastAt'> {
  group: string;
}


function holdCauses(groups: DeploymentStatusView['groups'], names: string[]): HoldCause[] {
  return names.flatMap((group) =>
    (groups[group]?.checks ?? []).filter((c) => (HOLDING_PHASES as readonly string[]).includes(c.state)).map(({ measurements: _m, lastAt: _a, ...c }) => ({ group, ...c })),
  );
}

export interface DeploymentDetailView extends DeploymentStatusView {
  history: (Omit<DecisionRecord, 'at' | 'evidence' | 'source'> & { at: string; source: DecisionSource; evidence: MeasurementView[] })[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export function measurementView(m: Measurement): MeasurementView {
  return { ...m, at: iso(m.at) };
}

function checkStatus(key: string, r: CheckRecord): CheckStatus {
  const [stage = '', check = ''] = key.split(':');
  const last = r.measurements[r.measurements.length - 1];
  return {
    stage,
    check,
    state: r.phase,
    ...(last?.value !== undefined ? { lastValue: last.value } : {}),
    ...(last ? { lastResult: last.result, lastAt: iso(last.at) } : {}),
    ...(last?.message ? { lastMessage: last.message } : {}),
    measurements: r.measurements.length,
  };
}

export function statusView(s: StoredSnapshot): DeploymentStatusView {
  const c = s.context;
  const view: DeploymentStatusView = {
    id: c.deploymentId,
    namespace: c.namespace,
    job: c.job,
    version: c.jobVersion,
    status: c.nomadStatus,
    state: stateName(s),
    groups: Object.fromEntries(
      Object.entries(c.groups).map(([name, g]) => [
        name,
        {
          policy: g.policy ?? '',
          mode: g.mode,
          ...groupStateOf(g.state),
          promoted: g.promoted,
          ...(g.canariesHealthyAt !== undefined ? { canariesHealthyAt: iso(g.canariesHealthyAt) } : {}),
          checks: Object.entries(g.checks).map(([key, r]) => checkStatus(key, r)),
        },
      ]),
    ),
    pending: c.pending,
    warnings: c.warnings,
    ...(c.wakeAt !== undefined ? { nextAt: iso(c.wakeAt) } : {}),
    updatedAt: iso(c.updatedAt),
  };
  view.pending = c.pending.map((p) => (p.action === 'hold' ? { ...p, causes: holdCauses(view.groups, p.groups) } : p));
  return view;
}

export function detailView(s: StoredSnapshot): DeploymentDetailView {
  return { ...statusView(s), history: s.context.history.map((h) => ({ ...h, at: iso(h.at), source: h.source ?? 'policy', evidence: h.evidence.map(measurementView) })) };
}
