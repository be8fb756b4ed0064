/** Wires the check providers into the reconciler's measurer. */
import type { Logger } from 'pino';
import { providersFor } from '../checks/provider.js';
import type { NomadApi } from '../nomad/api.js';
import { CheckMeasurer } from '../reconcile/measurer.js';
import type { Recorder } from '../server/metrics.js';
import type { ClusterCache } from '../watch/cache.js';

export function createMeasurer(
  deps: { api: NomadApi; cache: ClusterCache; recorder: Recorder; logger: Logger; prometheusAddr?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): CheckMeasurer {
  const providers = providersFor({
    ...(deps.prometheusAddr ? { prometheusAddress: deps.prometheusAddr } : {}),
    allocationChecks: (allocId, signal) => deps.api.allocationChecks(allocId, { signal }),
  });
  return new CheckMeasurer({ providers, cache: deps.cache, recorder: deps.recorder, logger: deps.logger, env });
}
