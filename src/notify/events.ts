/**
 * What a decision history entry means to the people being notified: the events of
 * docs/policy.md "Notifications", read from the entry alone (never from the machine's states).
 */
import { HOLDING_PHASES, type CheckPhase } from '../domain/analysis.js';
import type { NotifyEvent } from '../domain/policy.js';
import type { DecisionRecord } from '../machine/types.js';

/** Outcomes worth telling: done in Nomad, or computed in dry-run. An errored effect is retried and told once it succeeds. */
const TOLD = new Set<DecisionRecord['outcome']>(['ok', 'dry_run']);

/** Actions after which a group's holds are over (a retry starts its held checks afresh). */
const ENDS_HOLDS = new Set<DecisionRecord['action']>(['promote', 'fail', 'abort', 'revert', 'retry']);

/** The machine's reason of a `check` entry: `<stage> check <name> <from> -> <to>[: cause]`. */
const CHECK_CHANGE = /^(\S+) check (\S+) (\S+) -> (\S+?)(?::|$)/;
const TIMEOUT = /canary timeout \S+ expired/;

/** True once an entry has its final, told outcome. */
export function isTold(r: DecisionRecord): boolean {
  return TOLD.has(r.outcome);
}

/**
 * The entry's identity, stable while its outcome goes from pending to final (the outcome is not
 * part of it) and across restarts (no position in the history, which is cut to its last entries).
 */
export function recordKey(r: DecisionRecord): string {
  return `${r.at}|${r.action}|${r.groups.join(',')}|${r.reason}`;
}

/** The events an entry stands for; `held` is never among them (it needs time: see `holdChange`). */
export function eventsOf(r: DecisionRecord): NotifyEvent[] {
  if (r.action === 'check') return [];
  const events: NotifyEvent[] = [];
  if (r.action === 'promote') events.push('promoted');
  if (r.action === 'fail' || r.action === 'abort' || r.failsDeployment) events.push('failed');
  // A skipped revert found the job already where it would go: nothing was rolled back.
  if (r.action === 'revert' && !r.skipped) events.push('rolled_back');
  if ((r.action === 'fail' || r.action === 'promote') && TIMEOUT.test(r.reason)) events.push('timeout');
  if (r.source === 'human') events.push('human');
  return events;
}

/** A check entering or leaving a hold, for one group: `id` names the check in that group. */
export interface HoldChange {
  id: string;
  entering: boolean;
}

export function holdChange(r: DecisionRecord): HoldChange | undefined {
  if (r.action !== 'check') return undefined;
  const m = CHECK_CHANGE.exec(r.reason);
  const group = r.groups[0];
  if (!m || group === undefined) return undefined;
  return { id: `${group}|${m[1]}:${m[2]}`, entering: HOLDING_PHASES.includes(m[4] as CheckPhase) };
}

/** True when the entry ends every hold of its groups. */
export function endsHolds(r: DecisionRecord): boolean {
  return ENDS_HOLDS.has(r.action);
}
