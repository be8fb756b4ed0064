/**
 * Carries out the machine's effects against Nomad, idempotently: before each write, a fresh
 * read confirms it is still needed (the group is not promoted yet, the deployment is still
 * active, the allocation's health is still unset). So a retry, or a repeat after a crash
 * between the write and saving the snapshot, never writes twice. A write whose answer was lost
 * (the connection broke after sending) is confirmed by reading Nomad again, never re-sent blindly.
 * A write held back by the HA fence is no outcome at all: it ends the pass, unrecorded.
 */
import type { Deployment } from '../domain/nomad.js';
import { isActiveDeployment } from '../domain/nomad.js';
import type { DeploymentRef, NomadApi } from '../nomad/api.js';
import { isFencedError, isNomadError, mayHaveBeenApplied } from '../nomad/errors.js';
import type { EffectRequest } from '../machine/plan.js';
import type { DecisionRecord, EffectAction, Outcome } from '../machine/types.js';

/** A decision taken on the way; `skipped` ones are shown in history but not counted in metrics. */
export type FollowUp = Omit<DecisionRecord, 'evidence' | 'action'> & { action: EffectAction };

export interface EffectResult {
  /** `skipped`: Nomad is already where the effect would take it; nothing was written. */
  outcome: Outcome | 'skipped';
  message?: string;
  /** A final error that trying again cannot change: the effect is settled. */
  settled?: boolean;
  /** When Nomad acknowledged the write (epoch ms). */
  ackAt?: number;
  /** set_health: the allocations whose health is now set. */
  allocIds?: string[];
  /** Decisions taken on the way (the rollback after a fail). */
  followUps: FollowUp[];
  /** The rollback after a fail could not be finished: still owed, retried as a revert effect. */
  rollbackDue?: { groups: string[]; reason: string };
}

const NOT_APPLIED = Symbol('not applied');

export class EffectRunner {
  constructor(
    private readonly api: NomadApi,
    private readonly now: () => number,
  ) {}

  async run(effect: EffectRequest, d: Deployment, signal?: AbortSignal): Promise<EffectResult> {
    const ref: DeploymentRef = { id: d.ID, namespace: d.Namespace };
    if (effect.dryRun) return this.dryRun(effect);
    try {
      // A revert follows a failed (terminal) deployment: no deployment pre-check.
      if (effect.action === 'revert') return await this.revertEffect(effect, d, signal);
      const fresh = (await this.api.readDeployment(ref, { signal })).body;
      if (!isActiveDeployment(fresh.Status)) return skipped(`deployment is ${fresh.Status}`);
      switch (effect.action) {
        case 'promote':
          return await this.promote(effect, fresh, ref, signal);
        case 'fail':
        case 'abort':
          return await this.fail(effect, fresh, ref, signal);
        case 'pause':
        case 'resume':
          return await this.pause(effect.action === 'pause', fresh, ref, signal);
        case 'set_health':
          return await this.setHealth(effect, fresh, ref, signal);
        default:
          return { outcome: 'error', message: `unsupported effect ${effect.action}`, settled: true, followUps: [] };
      }
    } catch (err) {
      // This replica stopped leading mid-pass: nothing was decided here, the next leader decides.
      if (isFencedError(err)) throw err;
      return { outcome: 'error', message: errorText(err), followUps: [] };
    }
  }

  private dryRun(effect: EffectRequest): EffectResult {
    const followUps: FollowUp[] = [];
    if (effect.rollback && explicitRevertPlanned(effect)) {
      followUps.push({ at: this.now(), action: 'revert', groups: effect.groups, outcome: 'dry_run', reason: `rollback: ${effect.rollback}: would revert to the latest stable version` });
    }
    return { outcome: 'dry_run', followUps, ...(effect.healthy ? { allocIds: [...effect.healthy, ...(effect.unhealthy ?? [])] } : {}) };
  }

  private async promote(effect: EffectRequest, fresh: Deployment, ref: DeploymentRef, signal?: AbortSignal): Promise<EffectResult> {
    const groups = effect.groups.filter((g) => fresh.TaskGroups[g] && !fresh.TaskGroups[g]!.Promoted);
    if (groups.length === 0) return skipped('already promoted in Nomad');
    await write(
      async () => void (await this.api.promote(ref, groups, signal)),
      async () => {
        const now = (await this.api.readDeployment(ref, { signal })).body;
        return groups.every((g) => now.TaskGroups[g]?.Promoted) ? undefined : NOT_APPLIED;
      },
    );
    return { outcome: 'ok', ackAt: this.now(), followUps: [] };
  }

  private async pause(pause: boolean, fresh: Deployment, ref: DeploymentRef, signal?: AbortSignal): Promise<EffectResult> {
    if ((fresh.Status === 'paused') === pause) return skipped(`already ${fresh.Status} in Nomad`);
    await write(
      async () => void (await this.api.pause(ref, pause, signal)),
      async () => (((await this.api.readDeployment(ref, { signal })).body.Status === 'paused') === pause ? undefined : NOT_APPLIED),
    );
    return { outcome: 'ok', ackAt: this.now(), followUps: [] };
  }

  private async setHealth(effect: EffectRequest, fresh: Deployment, ref: DeploymentRef, signal?: AbortSignal): Promise<EffectResult> {
    const allocs = (await this.api.deploymentAllocations(ref, { signal })).body;
    const unset = new Set(allocs.filter((a) => a.DeploymentStatus?.Healthy == null).map((a) => a.ID));
    const healthy = (effect.healthy ?? []).filter((id) => unset.has(id));
    const unhealthy = (effect.unhealthy ?? []).filter((id) => unset.has(id));
    const allocIds = [...(effect.healthy ?? []), ...(effect.unhealthy ?? [])];
    if (healthy.length === 0 && unhealthy.length === 0) return { ...skipped('health already set in Nomad'), allocIds };
    await write(
      async () => void (await this.api.setAllocationHealth(ref, { healthy, unhealthy }, signal)),
      async () => {
        const now = (await this.api.deploymentAllocations(ref, { signal })).body;
        const set = new Set(now.filter((a) => a.DeploymentStatus?.Healthy != null).map((a) => a.ID));
        return [...healthy, ...unhealthy].every((id) => set.has(id)) ? undefined : NOT_APPLIED;
      },
    );
    const ackAt = this.now();
    if (unhealthy.length === 0) return { outcome: 'ok', ackAt, allocIds, followUps: [] };
    // An unhealthy allocation fails the deployment in Nomad; Nomad's description says whether it rolled back.
    const after = (await this.api.readDeployment(ref, { signal })).body;
    return { outcome: 'ok', ackAt, allocIds, ...(await this.rollback(effect, fresh, revertedIn(after.StatusDescription), signal)) };
  }

  private async fail(effect: EffectRequest, fresh: Deployment, ref: DeploymentRef, signal?: AbortSignal): Promise<EffectResult> {
    const reverted = await write(
      async () => (await this.api.fail(ref, signal)).RevertedJobVersion ?? null,
      async () => {
        // Our fail landed if Nomad now says so in its own words; the description names the rollback.
        const now = (await this.api.readDeployment(ref, { signal })).body;
        if (now.Status !== 'failed' || !now.StatusDescription.startsWith('Deployment marked as failed')) return NOT_APPLIED;
        return revertedIn(now.StatusDescription);
      },
    );
    return { outcome: 'ok', ackAt: this.now(), ...(await this.rollback(effect, fresh, reverted, signal)) };
  }

  /** After the deployment failed: record Nomad's own revert, or revert as the policy says. */
  private async rollback(effect: EffectRequest, d: Deployment, nomadReverted: number | null, signal?: AbortSignal): Promise<Pick<EffectResult, 'followUps' | 'rollbackDue'>> {
    if (nomadReverted !== null) {
      return { followUps: [{ at: this.now(), action: 'revert', groups: effect.groups, outcome: 'ok', reason: `Nomad auto_revert rolled back to job version ${nomadReverted}` }] };
    }
    if (!explicitRevertPlanned(effect)) return { followUps: [] };
    const reason = `rollback: ${effect.rollback}: revert to the latest stable version`;
    const result = await this.revertEffect({ ...effect, action: 'revert', reason }, d, signal);
    const followUp: FollowUp = {
      at: this.now(),
      action: 'revert',
      groups: effect.groups,
      outcome: result.outcome === 'skipped' ? 'ok' : result.outcome,
      reason: result.message ?? reason,
      ...(result.outcome === 'skipped' ? { skipped: true } : {}),
    };
    // A revert that got no final answer is owed: the machine retries it as its own effect.
    const owed = result.outcome === 'error' && !result.settled;
    return { followUps: [followUp], ...(owed ? { rollbackDue: { groups: effect.groups, reason } } : {}) };
  }

  /** Revert to the latest stable version before this deployment's, refusing if the job moved on. */
  private async revertEffect(effect: EffectRequest, d: Deployment, signal?: AbortSignal): Promise<EffectResult> {
    try {
      const { Versions } = (await this.api.jobVersions(d.JobID, d.Namespace, { signal })).body;
      const current = Versions[0]?.Version;
      if (current !== d.JobVersion) {
        return skipped(`not reverting: job is at version ${current}, not the failed version ${d.JobVersion} (rolled back already, or a newer submission)`);
      }
      const stable = Versions.find((v) => v.Stable && (v.Version ?? 0) < d.JobVersion);
      if (!stable) return { outcome: 'error', message: 'no stable job version to revert to', settled: true, followUps: [] };
      await this.api.revertJob(d.JobID, d.Namespace, stable.Version!, d.JobVersion, signal);
      return { outcome: 'ok', message: `reverted to stable job version ${stable.Version}`, ackAt: this.now(), followUps: [] };
    } catch (err) {
      if (isFencedError(err)) throw err;
      const transient = isTransient(err);
      return { outcome: 'error', message: `revert failed: ${errorText(err)}`, settled: !transient, followUps: [] };
    }
  }
}

/** The job version Nomad's failure description says it rolled back to, if it did. */
function revertedIn(description: string): number | null {
  const m = /rolling back to job version (\d+)/.exec(description);
  return m ? Number(m[1]) : null;
}

/**
 * Sends a write; if its answer is lost in a way that leaves it unclear whether Nomad applied it,
 * `confirm` reads Nomad again and returns what the write would have, or NOT_APPLIED when it did
 * not happen (then the original error stands, and the reconciler retries with backoff).
 */
async function write<T>(send: () => Promise<T>, confirm: () => Promise<T | typeof NOT_APPLIED>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (!mayHaveBeenApplied(err)) throw err;
    const confirmed: T | typeof NOT_APPLIED = await confirm().catch(() => NOT_APPLIED);
    if (confirmed === NOT_APPLIED) throw err;
    return confirmed as T;
  }
}

/** `auto` reverts only where Nomad's auto_revert does not; `revert` unless Nomad already did. */
function explicitRevertPlanned(effect: EffectRequest): boolean {
  if (effect.rollback === 'revert') return true;
  return effect.rollback === 'auto' && (effect.autoRevertGroups ?? []).length === 0;
}

function skipped(message: string): EffectResult {
  return { outcome: 'skipped', message, followUps: [] };
}

function isTransient(err: unknown): boolean {
  return isNomadError(err) ? err.transient : true;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
