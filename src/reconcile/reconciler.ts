/**
 * One reconcile pass for one deployment ID, level-triggered: read the current state (from the
 * watcher's cache and the stored snapshot), take the measurements that are due, step the
 * machine, carry out its effects, save the snapshot, and say when to look again.
 */
import type { Logger } from 'pino';
import type { Deployment } from '../domain/nomad.js';
import { isActiveDeployment } from '../domain/nomad.js';
import { groupStateOf } from '../machine/group-machine.js';
import { phaseChanges, type EffectRequest, type TaggedMeasurement } from '../machine/plan.js';
import {
  isFinished,
  persistDeployment,
  stateOf,
  restoreDeployment,
  startDeployment,
  step,
  MACHINE_VERSION,
  type DeploymentSnapshot,
} from '../machine/machine.js';
import type { DecisionRecord, DeploymentObservation, PendingDecision, PromoterContext } from '../machine/types.js';
import type { Recorder } from '../server/metrics.js';
import type { SnapshotStore } from '../store/store.js';
import type { ClusterCache } from '../watch/cache.js';
import type { EffectResult, EffectRunner } from './effects.js';
import type { JobSpecCache } from './job-specs.js';
import type { Selection } from '../policy/select.js';
import { observeDeployment, type PolicySelector } from './observe.js';
import { humanDecision, type HumanAction, type HumanEvent } from '../machine/human.js';

export interface HumanRequest {
  action: HumanAction;
  group?: string;
  reason?: string;
  who: string;
}

/** `unknown`: not tracked (404); `refused`: does not apply now (409); `accepted`: carried out (202). */
export type HumanAnswer = { status: 'unknown' | 'refused'; reason: string } | { status: 'accepted'; record: DecisionRecord };

/** Takes the measurements due for a deployment now (check providers); absent: no analysis. */
export interface Measurer {
  measure(context: PromoterContext, observation: DeploymentObservation, now: number, signal?: AbortSignal): Promise<TaggedMeasurement[]>;
  /** The earliest time a further measurement is due, if any. */
  nextDue(context: PromoterContext, observation: DeploymentObservation): number | undefined;
}

export interface ReconcilerDeps {
  cache: ClusterCache;
  jobs: JobSpecCache;
  select: PolicySelector;
  store: SnapshotStore;
  effects: EffectRunner;
  measurer?: Measurer;
  recorder: Recorder;
  logger: Logger;
  now: () => number;
  dryRun: boolean;
}

export interface ReconcileResult {
  /** Look again after this many ms (a deadline is running). */
  requeueAfterMs?: number;
  /** An effect failed without being settled: retry with this key's backoff. */
  retry?: boolean;
}

export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  /** Per deployment, one pass or action at a time: the queue's workers and the action API share the snapshot. */
  private readonly busy = new Map<string, Promise<unknown>>();

  private exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.busy.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.busy.set(id, next);
    void next.catch(() => undefined).finally(() => this.busy.get(id) === next && this.busy.delete(id));
    return next;
  }

  reconcile(id: string, signal?: AbortSignal): Promise<ReconcileResult> {
    return this.exclusive(id, () => this.pass(id, signal));
  }

  /**
   * A person's decision on a tracked deployment: stepped through the machine as a `human` event
   * and carried out by the same effects as the policy's, before answering.
   */
  act(id: string, request: HumanRequest, signal?: AbortSignal): Promise<HumanAnswer> {
    return this.exclusive(id, async () => {
      const { cache, store } = this.deps;
      const d = cache.deployment(id);
      const stored = await store.get(id);
      if (!d || !stored || stored.machineVersion !== MACHINE_VERSION) return { status: 'unknown', reason: 'deployment not tracked' };
      const snapshot = restoreDeployment(stored);
      if (snapshot.status === 'done') return { status: 'refused', reason: `the deployment is finished (${stored.context.nomadStatus} in Nomad)` };
      const job = await this.deps.jobs.get(d.Namespace, d.JobID, d.JobCreateIndex, d.JobVersion, signal);
      const { observation } = observeDeployment(d, job, cache.allocationsOf(d), this.deps.select, this.deps.dryRun);
      const event: HumanEvent = { type: 'human', now: this.deps.now(), observation, ...request };
      const decision = humanDecision(snapshot.context, event);
      if (!decision.applies) return { status: 'refused', reason: decision.reason };
      const log = this.deps.logger.child({ deploymentId: d.ID, namespace: d.Namespace, job: d.JobID });
      const stepped = step(snapshot, event);
      await store.put(id, persistDeployment(stepped.snapshot));
      if (stepped.effects.length === 0) {
        // retry acts on the promoter's own records only: decided and counted here.
        for (const group of decision.record.groups) {
          log.info({ group, action: request.action, outcome: 'ok', reason: decision.record.reason, source: 'human', who: request.who }, 'decision');
          this.deps.recorder.decision({ namespace: d.Namespace, job: d.JobID, group }, request.action, 'ok', 'human');
        }
        return { status: 'accepted', record: decision.record };
      }
      const { snapshot: after } = await this.carryOut(log, d, stepped.snapshot, stepped.effects, signal);
      this.reportStates(log, snapshot, after);
      const record = [...after.context.history].reverse().find((h) => h.source === 'human' && h.at === decision.record.at && h.action === decision.record.action);
      return { status: 'accepted', record: record ?? decision.record };
    });
  }

  private async pass(id: string, signal?: AbortSignal): Promise<ReconcileResult> {
    const { cache, store } = this.deps;
    const d = cache.deployment(id);
    const stored = await store.get(id);
    if (!d) {
      // Gone from Nomad (garbage-collected): nothing left to decide or show.
      if (stored) await store.delete(id);
      return {};
    }
    if (!stored && !isActiveDeployment(d.Status)) return {};
    if (stored && isFinished(stored)) return {};

    const log = this.deps.logger.child({ deploymentId: d.ID, namespace: d.Namespace, job: d.JobID });
    const job = await this.deps.jobs.get(d.Namespace, d.JobID, d.JobCreateIndex, d.JobVersion, signal);
    const { observation, selections } = observeDeployment(d, job, cache.allocationsOf(d), this.deps.select, this.deps.dryRun);
    if (!stored) this.reportSelections(log, d, selections, observation);
    let snapshot: DeploymentSnapshot =
      stored && stored.machineVersion === MACHINE_VERSION
        ? restoreDeployment(stored)
        : startDeployment({ deploymentId: d.ID, namespace: d.Namespace, job: d.JobID, jobVersion: d.JobVersion, now: this.deps.now() });
    const before = snapshot.context;
    const started = snapshot;
    const measurements = this.deps.measurer ? await this.deps.measurer.measure(before, observation, this.deps.now(), signal) : [];
    const now = this.deps.now();
    const stepped = step(snapshot, { type: 'observe', now, observation, measurements });
    snapshot = stepped.snapshot;
    for (const g of observation.groups) {
      const mode = snapshot.context.groups[g.name]?.mode;
      if (g.policy && mode) this.deps.recorder.groupTracked({ namespace: d.Namespace, job: d.JobID, group: g.name }, Object.keys(g.policy.checks), mode);
    }
    this.reportPending(log, before.pending, snapshot.context.pending);
    this.reportPhases(log, before, snapshot.context);
    await store.put(id, persistDeployment(snapshot));

    const carried = await this.carryOut(log, d, snapshot, stepped.effects, signal);
    snapshot = carried.snapshot;
    this.reportStates(log, started, snapshot);
    for (const g of observation.groups) {
      if (g.policy) this.deps.recorder.autoPromoteConflict({ namespace: d.Namespace, job: d.JobID, group: g.name }, g.autoPromote && snapshot.value !== 'done');
    }
    return { retry: carried.retry, ...this.requeueAfter(snapshot, observation, now) };
  }

  /** Carry out effects one by one, feeding each result back to the machine and saving after each. */
  private async carryOut(log: Logger, d: Deployment, snapshot: DeploymentSnapshot, effects: EffectRequest[], signal?: AbortSignal): Promise<{ snapshot: DeploymentSnapshot; retry: boolean }> {
    const { store } = this.deps;
    const id = d.ID;
    let retry = false;
    for (const effect of effects) {
      const result = await this.deps.effects.run(effect, d, signal);
      // Any failure the runner did not settle is tried again with this key's backoff: a bad answer
      // (unreadable body, a 403 while a token is being fixed) must not wait for the next resync.
      retry ||= (result.outcome === 'error' && !result.settled) || result.rollbackDue !== undefined;
      this.reportEffect(log, d, effect, result);
      snapshot = step(snapshot, {
        type: 'effect.result',
        now: this.deps.now(),
        key: effect.key,
        action: effect.action,
        groups: effect.groups,
        outcome: result.outcome === 'skipped' ? 'ok' : result.outcome,
        ...(result.message ? { message: result.message } : {}),
        ...(result.settled ? { settled: true } : {}),
        ...(result.allocIds ? { allocIds: result.allocIds } : {}),
        ...(result.rollbackDue ? { rollbackDue: result.rollbackDue } : {}),
        // A rollback after a person's abort is part of that person's decision.
        followUps: result.followUps.map((f) => ({ ...f, source: effect.source ?? 'policy', ...(effect.who ? { who: effect.who } : {}) })),
      }).snapshot;
      // Saved after every effect: a crash loses at most the effect in flight, never one already acknowledged.
      await store.put(id, persistDeployment(snapshot));
    }
    return { snapshot, retry };
  }

  private requeueAfter(snapshot: DeploymentSnapshot, observation: DeploymentObservation, now: number): ReconcileResult {
    if (snapshot.status === 'done') return {};
    const due = [snapshot.context.wakeAt, this.deps.measurer?.nextDue(snapshot.context, observation)].filter((t): t is number => t !== undefined);
    if (due.length === 0) return {};
    return { requeueAfterMs: Math.max(0, Math.min(...due) - now) };
  }

  private reportSelections(log: Logger, d: Deployment, selections: Record<string, Selection>, observation: DeploymentObservation): void {
    for (const [group, s] of Object.entries(selections)) {
      if (s.policy && observation.groups.find((g) => g.name === group)?.autoPromote) {
        log.warn({ group, policy: s.policy.name }, 'governed group has Nomad auto_promote: Nomad may promote before the analysis ends; a failed analysis still fails the deployment');
      }
      const labels = { namespace: d.Namespace, job: d.JobID, group };
      if (s.tiedWith?.length) {
        log.warn({ group, policy: s.policy?.name, tiedWith: s.tiedWith }, 'several policies of the same priority match; the first name wins');
        this.deps.recorder.policyTie(labels);
      }
      if (s.pinnedUnknown) log.warn({ group, pinned: s.pinnedUnknown }, 'job pins a policy that does not exist: group left alone');
      log.info({ group, policy: s.policy?.name ?? null, reason: s.reason }, s.policy ? 'group governed' : 'group not governed');
    }
  }

  /**
   * A check changing phase is logged once with its last measurement: a warning when it enters or
   * leaves a hold (the cause of a hold is in the logs), info otherwise.
   */
  private reportPhases(log: Logger, before: PromoterContext, after: PromoterContext): void {
    for (const c of phaseChanges(before.groups, after.groups)) {
      const last = c.last;
      const line = {
        group: c.group, stage: c.stage, check: c.check, from: c.from, phase: c.phase, reason: c.reason,
        ...(last ? { lastResult: last.result, ...(last.value !== undefined ? { lastValue: last.value } : {}), ...(last.message ? { message: last.message } : {}) } : {}),
      };
      if (c.hold) log.warn(line, 'check phase changed');
      else log.info(line, 'check phase');
    }
  }

  /** A machine changing state is logged with the names status and metrics use. */
  private reportStates(log: Logger, before: DeploymentSnapshot, after: DeploymentSnapshot): void {
    const from = stateOf(before);
    const state = stateOf(after);
    if (from !== state) log.info({ from, state }, 'state changed');
    for (const [group, track] of Object.entries(after.context.groups)) {
      const was = before.context.groups[group] && groupStateOf(before.context.groups[group]!.state);
      const now = groupStateOf(track.state);
      if (was?.state === now.state && was.hold === now.hold) continue;
      log.info({ group, ...(was ? { from: was.hold ? `${was.state}.${was.hold}` : was.state } : {}), state: now.state, ...(now.hold ? { hold: now.hold } : {}) }, 'group state changed');
    }
  }

  /** Holds and waits are decisions too: log each when it first appears or its reason changes. */
  private reportPending(log: Logger, before: PendingDecision[], after: PendingDecision[]): void {
    const seen = new Set(before.map((p) => `${p.action}|${p.groups.join(',')}|${p.reason}`));
    for (const p of after) {
      if (p.action !== 'hold' && p.action !== 'wait') continue;
      if (seen.has(`${p.action}|${p.groups.join(',')}|${p.reason}`)) continue;
      for (const group of p.groups) log.info({ group, action: p.action, outcome: 'pending', reason: p.reason }, 'decision');
    }
  }

  private reportEffect(log: Logger, d: Deployment, effect: EffectRequest, result: EffectResult): void {
    const outcome = result.outcome === 'skipped' ? 'ok' : result.outcome;
    for (const group of effect.groups) {
      const line = { group, action: effect.action, outcome, reason: effect.reason, ...(result.message ? { message: result.message } : {}), ...(effect.source === 'human' ? { source: 'human', who: effect.who } : {}) };
      if (outcome === 'error') log.error(line, 'decision');
      else log.info(line, 'decision');
      // A skipped effect was already counted when it was carried out.
      if (result.outcome !== 'skipped') this.deps.recorder.decision({ namespace: d.Namespace, job: d.JobID, group }, effect.action, outcome, effect.source);
    }
    for (const f of result.followUps) {
      for (const group of f.groups) {
        log.info({ group, action: f.action, outcome: f.outcome, reason: f.reason }, 'decision');
        if (f.outcome !== 'pending' && !f.skipped) this.deps.recorder.decision({ namespace: d.Namespace, job: d.JobID, group }, f.action, f.outcome, effect.source);
      }
    }
    if (result.outcome === 'ok' && result.ackAt !== undefined) {
      this.deps.recorder.decisionLatencySeconds(effect.action, (result.ackAt - effect.decidableAt) / 1000);
    }
  }
}
