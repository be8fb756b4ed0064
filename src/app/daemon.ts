/**
 * Composition root of `nomad-promoter run`: config -> adapters -> reconciler -> runnables.
 * A constant number of Nomad connections, whatever the number of deployments: the watch source's
 * (the event stream, or one per long-poll) and one for reads, writes and re-lists, closed when idle.
 */
import type { Logger } from 'pino';
import { DEFAULT_MAX_RESPONSE_BYTES, HttpNomadClient } from '../nomad/client.js';
import type { RequestSample } from '../nomad/client.js';
import { PolicyReloader } from '../policy/reloader.js';
import { formatPolicyError } from '../policy/load.js';
import { selectPolicy } from '../policy/select.js';
import { EffectRunner } from '../reconcile/effects.js';
import { JobSpecCache } from '../reconcile/job-specs.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { createMeasurer } from './measurer.js';
import { StatusServer } from '../server/http.js';
import { clusterSources } from '../server/status.js';
import { Recorder } from '../server/metrics.js';
import { MemorySnapshotStore } from '../store/memory.js';
import { Notifier } from '../notify/notifier.js';
import { NomadVariablesStore } from '../store/nomad-variables.js';
import type { SnapshotStore } from '../store/store.js';
import { ObservedStore } from '../store/observed.js';
import { ClusterCache } from '../watch/cache.js';
import { HttpTransport } from '../nomad/transport.js';
import { AutoSource } from '../watch/auto-source.js';
import type { WatchSource } from '../watch/source.js';
import { StreamSource } from '../watch/stream-source.js';
import { Watcher } from '../watch/watcher.js';
import type { RunConfig } from './config.js';
import { VERSION } from './version.js';
import { LeaderLease, STOPPING } from '../ha/lease.js';
import { LeaderWork } from './leader-work.js';

/** How often a standby re-reads the stored snapshots (only the changed ones), so its views follow the leader's. */
const STANDBY_REFRESH_MS = 10_000;
/** At stop, how long notifications still queued may take to go out before they are dropped. */
const NOTIFY_GRACE_MS = 5_000;

export class StartupError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface RunningDaemon {
  /** Base URL of the status/metrics server. */
  url: string;
  reloadPolicies(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves once stop() has finished. */
  stopped: Promise<void>;
}

export interface DaemonOptions {
  logger: Logger;
  /** Environment for PROMOTER_VAR_* template values (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

export async function startDaemon(config: RunConfig, options: DaemonOptions): Promise<RunningDaemon> {
  const { logger } = options;
  const recorder = new Recorder(VERSION);
  const observe = (s: RequestSample) => recorder.nomadRequest(s.route, s.code, s.seconds);

  const policies = new PolicyReloader(config.policies);
  const first = await policies.reload();
  if (!first.ok) {
    for (const e of first.errors) logger.error({ error: formatPolicyError(e) }, 'invalid policy');
    throw new StartupError(`invalid policies in ${config.policies}: ${first.errors.length} error(s)`, 1);
  }
  recorder.policyReload('ok');
  logger.info({ policies: policies.current.map((p) => p.name), dir: config.policies }, 'policies loaded');
  /** An empty set is valid (all policies may be removed on purpose) but makes every deployment `ignored`: say so. */
  const countPolicies = () => {
    recorder.policiesLoaded(policies.current.length);
    if (policies.current.length === 0) logger.warn({ dir: config.policies }, 'no policy loaded: every deployment is ignored');
  };
  countPolicies();

  const limits = config.maxResponseBytes ? { maxResponseBytes: config.maxResponseBytes } : {};
  // With HA, every write to Nomad (effects and snapshots) is held back unless this replica's lease is valid.
  let lease: LeaderLease | undefined;
  const fence = config.ha ? { mayWrite: () => lease?.mayWrite() ?? false } : {};
  // Reads and writes of reconciles: one connection, closed when idle, so that in steady state only the watch's stay open.
  const api = new HttpNomadClient(config.nomad, { observe, ...limits, keepAlive: true, idleTimeoutMs: 2000, ...fence });
  await checkNomad(api, config.namespace).catch((err: unknown) => {
    policies.close();
    api.close();
    throw err;
  });

  const deploymentsApi = new HttpNomadClient(config.nomad, { observe, ...limits, retries: 0 });
  const allocationsApi = new HttpNomadClient(config.nomad, { observe, ...limits, retries: 0 });
  // The event stream's own connection; its re-lists go through `api`.
  const streamTransport = new HttpTransport(config.nomad, { maxSockets: 1, keepAlive: false, maxResponseBytes: config.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES });
  // The lease's own connection, one per call and without retries: a renew never queues behind
  // reconcile reads, never meets a kept-alive socket the server just closed, and any failure ends the term.
  const lockApi = config.ha ? new HttpNomadClient(config.nomad, { observe, retries: 0, keepAlive: false }) : undefined;
  /** Releases what start-up acquired, on a failed start and at stop. */
  const release = () => {
    policies.close();
    for (const client of [api, deploymentsApi, allocationsApi, streamTransport, lockApi]) client?.close();
  };
  const cache = new ClusterCache();
  let measurer: ReturnType<typeof createMeasurer>;
  try {
    measurer = createMeasurer({ api, cache, recorder, logger, prometheusAddr: config.prometheusAddr }, options.env);
  } catch (err) {
    // Invalid configuration (config validation lets nothing through; this guards the wiring).
    release();
    throw new StartupError(err instanceof Error ? err.message : String(err), 1);
  }
  const opened = await openStore(config, api, logger).catch((err: unknown) => {
    release();
    throw err;
  });
  // Every accepted snapshot change feeds the live views and notifications.
  const store = new ObservedStore(opened.store, (err) => logger.error({ err }, 'snapshot subscriber failed'));
  // Targets are looked up in the policy set in force when an entry is told: a reload changes them.
  const notifier = new Notifier({
    policies: () => policies.current,
    ...(config.externalUrl ? { externalUrl: config.externalUrl } : {}),
    env: options.env ?? process.env,
    secrets: [config.nomad.token, config.nomad.httpAuth?.password, config.apiToken].filter((v): v is string => !!v),
    onResult: (target, result) => recorder.notification(target, result),
    logger,
  });
  const now = () => Date.now();

  policies.onChange((result) => {
    recorder.policyReload(result.ok ? 'ok' : 'error');
    if (!result.ok) {
      for (const e of result.errors) logger.error({ error: formatPolicyError(e) }, 'invalid policy edit rejected; keeping the last valid set');
      return;
    }
    logger.info({ policies: policies.current.map((p) => p.name) }, 'policies reloaded');
    countPolicies();
    // Level-triggered: every deployment is looked at again under the new set.
    for (const d of cache.allDeployments()) leaderWork.add(d.ID);
  });
  await policies.watch();

  const reconciler = new Reconciler({
    cache,
    jobs: new JobSpecCache(api),
    select: (target) => selectPolicy(policies.current, target),
    store,
    effects: new EffectRunner(api, now),
    measurer,
    recorder,
    logger,
    now,
    dryRun: config.dryRun,
  });
  const leaderWork = new LeaderWork({
    reconciler,
    recorder,
    logger,
    known: () => cache.allDeployments().map((d) => d.ID),
    // A replica that takes over decides from what the last leader stored, not from its own old copy.
    ...(config.ha && opened.reload ? { reload: opened.reload, refreshEveryMs: STANDBY_REFRESH_MS } : {}),
    // A standby tells nothing, not even a hold that started while it led.
    notify: () => {
      const unsubscribe = store.subscribe(notifier.onChange);
      return () => {
        unsubscribe();
        notifier.forgetAll();
      };
    },
  });

  const onChange = (ids: string[]) => ids.forEach((id) => leaderWork.add(id));
  const blocking = () =>
    new Watcher({
    deploymentsApi,
    allocationsApi,
    cache,
    namespace: config.namespace,
    waitMs: config.watchWaitMs,
    resyncMs: config.resyncMs,
    onChange,
    onError: (table, err, retryInMs) => {
      recorder.watchError();
      logger.warn({ table, err, retryInMs }, 'watch failed; backing off');
    },
    onReset: (table) => recorder.watchReset(table),
    onList: (table) => recorder.watchFullList('blocking', table),
    // On the reconcilers' connection: the long-polls' own are busy waiting.
    probe: (signal) => api.listDeployments({ namespace: config.namespace, perPage: 1, signal }),
    logger,
  });
  const stream = (onRefused?: (reason: string) => void) =>
    new StreamSource({
      transport: streamTransport,
      api,
      cache,
      namespace: config.namespace,
      resyncMs: config.resyncMs,
      onChange,
      onError: (err, retryInMs) => {
        recorder.watchError();
        logger.warn({ err, retryInMs }, 'event stream failed; backing off');
      },
      onList: (table) => recorder.watchFullList('stream', table),
      ...(onRefused ? { onRefused } : {}),
      logger,
    });
  const watchSource = config.watchSource ?? 'auto';
  const watcher: WatchSource =
    watchSource === 'auto'
      ? new AutoSource({ stream, blocking, onSource: (s) => recorder.watchSourceInUse(s), logger })
      : watchSource === 'stream'
        ? stream()
        : blocking();
  if (watchSource !== 'auto') recorder.watchSourceInUse(watchSource);

  const server = new StatusServer({
    recorder,
    store,
    sources: clusterSources(() => policies.current, cache, now),
    onStreamDrop: () => logger.warn('dropped a /v1/stream client that did not keep up; it reconnects with a fresh snapshot'),
    notReadyReason: () => watcher.notReadyReason,
    ...(config.apiToken ? { apiToken: config.apiToken } : {}),
    ...(config.ha ? { leadership: () => lease!.leadership } : {}),
    // A person's decision, then a fresh pass so the machine moves on from Nomad's new state.
    act: async (id, request) => {
      const answer = await reconciler.act(id, request, leaderWork.signal ?? AbortSignal.abort());
      leaderWork.add(id);
      return answer;
    },
  });
  const address = await server.listen(config.listen.host, config.listen.port).catch((err: unknown) => {
    release();
    throw new StartupError(`cannot listen on ${config.listen.host}:${config.listen.port}: ${err instanceof Error ? err.message : String(err)}`, 1);
  });
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  watcher.start();
  if (config.ha) {
    const ha = config.ha;
    lease = new LeaderLease({ api: lockApi!, path: ha.lockPath, namespace: ha.lockNamespace, ttlMs: ha.ttlMs, lockDelayMs: ha.lockDelayMs, identity: ha.identity });
    recorder.standby();
    leaderWork.standBy();
    lease.onChange((event) => {
      if (event.kind === 'acquired') {
        logger.info({ identity: ha.identity }, 'leader lock acquired: this replica leads');
        recorder.leadership(true);
        leaderWork.start();
        return;
      }
      // Synchronous: the queue is shut and requests aborted before anything else runs.
      void leaderWork.stop();
      if (event.reason !== STOPPING) leaderWork.standBy();
      recorder.leadership(false);
      if (event.reason === STOPPING) logger.info({ identity: ha.identity }, 'leader lock released at stop');
      else logger.warn({ identity: ha.identity, reason: event.reason }, 'leader lock lost: this replica stopped writing and is a standby');
    });
    lease.start();
  } else {
    leaderWork.start();
  }
  logger.info({ listen: url, namespace: config.namespace, dryRun: config.dryRun, version: VERSION, ...(config.ha ? { ha: { identity: config.ha.identity, lock: `${config.ha.lockNamespace}/${config.ha.lockPath}` } } : {}) }, 'nomad-promoter started');

  let stopping: Promise<void> | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('stopping: no new work; abandoning in-flight requests');
      const leaderStopped = leaderWork.close();
      await watcher.stop();
      await leaderStopped;
      // Released only once nothing writes any more: another replica can lead at once.
      await lease?.stop();
      await notifier.close(NOTIFY_GRACE_MS);
      release();
      await server.close();
      logger.info('stopped');
      resolveStopped();
    })());

  return {
    url,
    stop,
    stopped,
    reloadPolicies: async () => {
      await policies.reload();
    },
  };
}

/** Memory, or Nomad Variables loaded once before the first reconcile (exit 3 if they cannot be read). */
async function openStore(config: RunConfig, api: HttpNomadClient, logger: Logger): Promise<{ store: SnapshotStore; reload?: (signal: AbortSignal) => Promise<number> }> {
  if (config.state.kind === 'memory') return { store: new MemorySnapshotStore() };
  const { namespace, path } = config.state;
  const store = new NomadVariablesStore(api, {
    namespace,
    prefix: path,
    onUnreadable: (variable, reason) => logger.error({ variable, reason }, 'stored snapshot unreadable; that deployment starts over'),
  });
  try {
    const loaded = await store.load();
    logger.info({ namespace, path, loaded }, 'snapshots loaded from Nomad Variables');
    return { store, reload: (signal) => store.load(signal) };
  } catch (err) {
    throw new StartupError(`cannot read snapshots from Nomad Variables ${namespace}/${path}: ${err instanceof Error ? err.message : String(err)}`, 3);
  }
}

/** Exit code 3 when Nomad cannot be reached or refuses the token at start. */
async function checkNomad(api: HttpNomadClient, namespace: string): Promise<void> {
  try {
    await api.listDeployments({ namespace, perPage: 1 });
  } catch (err) {
    throw new StartupError(`cannot use Nomad: ${err instanceof Error ? err.message : String(err)}`, 3);
  }
}
