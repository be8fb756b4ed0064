/**
 * Nomad-native service checks of one allocation (`GET /v1/allocation/:id/checks`), as the CEL
 * variable `checks: [{name, status, mode, output}]`. The reading function is injected (the
 * daemon passes NomadApi.allocationChecks), so this file knows nothing of HTTP.
 */
import type { Observation } from '../domain/analysis.js';
import type { ServiceCheckResult } from '../domain/nomad.js';
import type { NomadChecksSource } from '../domain/policy.js';
import { abortable, deadline, formatMs } from './deadline.js';
import type { CheckProvider } from './provider.js';
import { describeError } from './secrets.js';

export type AllocationChecksReader = (allocId: string, signal: AbortSignal) => Promise<Record<string, ServiceCheckResult>>;

export interface NomadCheckVariable {
  name: string;
  status: string;
  mode: string;
  output: string;
}

export function nomadChecksProvider(read: AllocationChecksReader): CheckProvider<NomadChecksSource> {
  return {
    kind: 'nomad',
    async observe(source, ctx): Promise<Observation> {
      if (!ctx.allocId) return { kind: 'error', message: 'nomad checks measure one allocation: use scope: allocation' };
      const limit = deadline(source.timeoutMs, ctx.signal);
      let answer: Record<string, ServiceCheckResult>;
      try {
        answer = await abortable(read(ctx.allocId, limit.signal), limit.signal);
      } catch (err) {
        const why = limit.reason();
        if (why === 'timeout') return { kind: 'error', message: `Nomad did not answer within ${formatMs(source.timeoutMs)}` };
        if (why === 'cancelled') return { kind: 'error', message: 'reading Nomad checks cancelled' };
        return { kind: 'error', message: describeError('reading Nomad checks failed', err, ctx.secrets ?? []) };
      }
      const checks = toChecks(answer);
      return { kind: 'data', variables: { checks }, noData: checks.length === 0 };
    },
  };
}

/** Sorted by name then ID, so the list (and `checks[0]`) does not depend on map order. */
export function toChecks(answer: Record<string, ServiceCheckResult> | null | undefined): NomadCheckVariable[] {
  return Object.entries(answer ?? {})
    .sort(([idA, a], [idB, b]) => compare(a.Check ?? '', b.Check ?? '') || compare(idA, idB))
    .map(([, c]) => ({ name: c.Check ?? '', status: c.Status ?? '', mode: c.Mode ?? '', output: c.Output ?? '' }));
}

/** Code-unit order: the same on every host, whatever its locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
