/**
 * The daemon's settings: defaults, then environment, then flags (flag wins), then one
 * validation pass that reports every error at once. Secrets stay inside `nomad`.
 */
import { hostname } from 'node:os';
import { parseHttpUrl } from '../domain/http-url.js';
import { readNomadConfig, type NomadConnectionConfig } from '../nomad/config.js';
import { parseDuration } from '../policy/duration.js';

export interface RunFlags {
  policies?: string;
  listen?: string;
  'dry-run'?: boolean;
  'prometheus-addr'?: string;
  namespace?: string;
  'log-level'?: string;
  'watch-wait'?: string;
  'watch-source'?: string;
  'resync-interval'?: string;
  state?: string;
  'state-namespace'?: string;
  'state-path'?: string;
  'max-response-size'?: string;
  'external-url'?: string;
  ha?: boolean;
  'ha-lock-path'?: string;
  'ha-lock-namespace'?: string;
  'ha-lock-ttl'?: string;
  'ha-lock-delay'?: string;
  'ha-identity'?: string;
}

export interface RunConfig {
  policies: string;
  listen: { host: string; port: number };
  dryRun: boolean;
  prometheusAddr?: string;
  /** Namespace the watcher lists (`*` = every namespace the token can read). */
  namespace: string;
  logLevel: string;
  /** Blocking query wait. */
  watchWaitMs: number;
  /** What feeds the cache: the event stream, blocking queries, or the stream falling back to blocking queries (default). */
  watchSource?: WatchSourceKind;
  /** Every deployment is reconciled again at least this often. */
  resyncMs: number;
  /** Largest Nomad answer accepted, in bytes after decompression (default: the client's). */
  maxResponseBytes?: number;
  /** Where machine snapshots live: process memory, or Nomad Variables (survives restarts). */
  state: { kind: 'memory' } | { kind: 'nomad'; namespace: string; path: string };
  nomad: NomadConnectionConfig;
  /** The dashboard's address as people reach it, for links in notifications; may carry credentials (never sent on). */
  externalUrl?: URL;
  /** PROMOTER_API_TOKEN: a secret, never logged; absent: the action API answers 403. */
  apiToken?: string;
  /** Replicas contend for a leader lock on a Nomad Variable; only the holder writes. Absent: this process acts alone. */
  ha?: HaConfig;
}

export interface HaConfig {
  lockPath: string;
  lockNamespace: string;
  ttlMs: number;
  lockDelayMs: number;
  /** Written into the lock variable's Items, so standbys can say who leads. */
  identity: string;
}

export const WATCH_SOURCES = ['auto', 'stream', 'blocking'] as const;
export type WatchSourceKind = (typeof WATCH_SOURCES)[number];

export const RUN_DEFAULTS = {
  policies: 'policies',
  listen: '127.0.0.1:9646',
  namespace: '*',
  logLevel: 'info',
  watchWait: '5m',
  watchSource: 'auto',
  resyncInterval: '5m',
  state: 'memory',
  statePath: 'nomad-promoter/deployments',
  maxResponseSize: '256MiB',
  haLockPath: 'nomad-promoter/leader',
  haLockTtl: '15s',
  haLockDelay: '15s',
} as const;

/** Nomad's bounds for a lock TTL. */
const MIN_LOCK_TTL_MS = 10_000;

const SIZE_UNITS: Record<string, number> = { '': 1, B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** `1048576`, `512KiB`, `256MiB`, `1GiB`: bytes, or undefined when not a whole size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * SIZE_UNITS[m[2] ?? '']!;
}

const VARIABLE_PATH = /^[a-zA-Z0-9\-_~/]{1,100}$/;

const MAX_INTERVAL_MS = 24 * 3_600_000;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function parseListen(text: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { host: (m[1] || '0.0.0.0').replace(/^\[|\]$/g, ''), port };
}

export function resolveRunConfig(flags: RunFlags, env: NodeJS.ProcessEnv): { config?: RunConfig; errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const nomad = readNomadConfig(env);
  errors.push(...nomad.errors);

  const listenText = flags.listen ?? env.PROMOTER_LISTEN ?? RUN_DEFAULTS.listen;
  const listen = parseListen(listenText);
  if (!listen) errors.push(`--listen / PROMOTER_LISTEN: "${listenText}" is not HOST:PORT`);

  const dryRunEnv = env.PROMOTER_DRY_RUN;
  if (dryRunEnv !== undefined && !['true', 'false', '1', '0', ''].includes(dryRunEnv)) {
    errors.push(`PROMOTER_DRY_RUN: "${dryRunEnv}" is not true or false`);
  }
  const dryRun = flags['dry-run'] ?? (dryRunEnv === 'true' || dryRunEnv === '1');

  const prometheusAddr = flags['prometheus-addr'] ?? env.PROMOTER_PROMETHEUS_ADDR;
  const prometheusUrl = prometheusAddr === undefined ? undefined : parseHttpUrl(prometheusAddr);
  if (prometheusUrl && !prometheusUrl.ok) errors.push(`--prometheus-addr / PROMOTER_PROMETHEUS_ADDR: ${prometheusUrl.problem}`);

  const externalText = flags['external-url'] ?? env.PROMOTER_EXTERNAL_URL;
  const external = externalText === undefined ? undefined : parseHttpUrl(externalText);
  if (external && !external.ok) errors.push(`--external-url / PROMOTER_EXTERNAL_URL: ${external.problem}`);
  // The dashboard's own routes live in the fragment: the address cannot have one.
  else if (external?.url.hash) errors.push('--external-url / PROMOTER_EXTERNAL_URL: has a #fragment; give the address the dashboard is served at');

  const logLevel = flags['log-level'] ?? env.PROMOTER_LOG_LEVEL ?? RUN_DEFAULTS.logLevel;
  if (!LOG_LEVELS.includes(logLevel)) errors.push(`--log-level / PROMOTER_LOG_LEVEL: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);

  const duration = (name: string, text: string): number => {
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0 || ms > MAX_INTERVAL_MS) errors.push(`--${name}: "${text}" is not a duration between 1ms and 24h, such as 30s or 5m`);
    return ms ?? 0;
  };
  const watchWaitMs = duration('watch-wait', flags['watch-wait'] ?? RUN_DEFAULTS.watchWait);
  const resyncMs = duration('resync-interval', flags['resync-interval'] ?? RUN_DEFAULTS.resyncInterval);
  const watchSource = flags['watch-source'] ?? env.PROMOTER_WATCH_SOURCE ?? RUN_DEFAULTS.watchSource;
  if (!(WATCH_SOURCES as readonly string[]).includes(watchSource)) {
    errors.push(`--watch-source / PROMOTER_WATCH_SOURCE: "${watchSource}" is not one of ${WATCH_SOURCES.join(', ')}`);
  }

  const sizeText = flags['max-response-size'] ?? env.PROMOTER_MAX_RESPONSE_SIZE ?? RUN_DEFAULTS.maxResponseSize;
  const maxResponseBytes = parseSize(sizeText);
  // Below 1 KiB not even an error answer fits; much above 500 MiB a JS string cannot hold the text.
  if (maxResponseBytes === undefined || maxResponseBytes < 1024 || maxResponseBytes > 500 * 1024 ** 2) {
    errors.push(`--max-response-size / PROMOTER_MAX_RESPONSE_SIZE: "${sizeText}" is not a size between 1KiB and 500MiB, such as 64MiB`);
  }

  const stateKind = flags.state ?? env.PROMOTER_STATE ?? RUN_DEFAULTS.state;
  const statePath = flags['state-path'] ?? env.PROMOTER_STATE_PATH ?? RUN_DEFAULTS.statePath;
  const watched = flags.namespace ?? env.NOMAD_NAMESPACE;
  // Snapshots live in one real namespace: a watched glob (`*`, `prod-*`) names none.
  const stateNamespace = flags['state-namespace'] ?? env.PROMOTER_STATE_NAMESPACE ?? (watched && !watched.includes('*') ? watched : 'default');
  if (stateKind === 'nomad' && (stateNamespace === '' || stateNamespace.includes('*'))) errors.push(`--state-namespace / PROMOTER_STATE_NAMESPACE: "${stateNamespace}" is not one namespace`);
  if (stateKind !== 'memory' && stateKind !== 'nomad') errors.push(`--state / PROMOTER_STATE: "${stateKind}" is not memory or nomad`);
  if (!VARIABLE_PATH.test(statePath) || statePath.startsWith('/') || statePath.endsWith('/')) {
    errors.push(`--state-path / PROMOTER_STATE_PATH: "${statePath}" is not a Nomad Variables path (letters, digits, - _ ~ /, no leading or trailing /)`);
  }

  const ha = readHaConfig(flags, env, { stateKind, stateNamespace, statePath }, errors);

  if (errors.length > 0 || !nomad.config || !listen || maxResponseBytes === undefined) return { errors, warnings: nomad.warnings };
  return {
    errors: [],
    warnings: nomad.warnings,
    config: {
      policies: flags.policies ?? env.PROMOTER_POLICIES ?? RUN_DEFAULTS.policies,
      listen,
      dryRun,
      ...(prometheusAddr ? { prometheusAddr } : {}),
      ...(external?.ok ? { externalUrl: external.url } : {}),
      namespace: flags.namespace ?? env.NOMAD_NAMESPACE ?? RUN_DEFAULTS.namespace,
      logLevel,
      watchWaitMs,
      watchSource: watchSource as WatchSourceKind,
      resyncMs,
      maxResponseBytes,
      state: stateKind === 'nomad' ? { kind: 'nomad', namespace: stateNamespace, path: statePath } : { kind: 'memory' },
      nomad: nomad.config,
      ...(env.PROMOTER_API_TOKEN ? { apiToken: env.PROMOTER_API_TOKEN } : {}),
      ...(ha ? { ha } : {}),
    },
  };
}

/** `--ha` and its lock settings; undefined when HA is off. Errors are added to `errors`. */
function readHaConfig(flags: RunFlags, env: NodeJS.ProcessEnv, state: { stateKind: string; stateNamespace: string; statePath: string }, errors: string[]): HaConfig | undefined {
  const haEnv = env.PROMOTER_HA;
  if (haEnv !== undefined && !['true', 'false', '1', '0', ''].includes(haEnv)) errors.push(`PROMOTER_HA: "${haEnv}" is not true or false`);
  const on = flags.ha ?? (haEnv === 'true' || haEnv === '1');
  if (!on) return undefined;
  // The lock and the snapshots live in Nomad: a replica taking over must find what the last leader decided.
  if (state.stateKind !== 'nomad') errors.push('--ha / PROMOTER_HA: needs --state nomad (a new leader must read the snapshots the last one wrote)');
  const lockPath = flags['ha-lock-path'] ?? env.PROMOTER_HA_LOCK_PATH ?? RUN_DEFAULTS.haLockPath;
  if (!VARIABLE_PATH.test(lockPath) || lockPath.startsWith('/') || lockPath.endsWith('/')) {
    errors.push(`--ha-lock-path / PROMOTER_HA_LOCK_PATH: "${lockPath}" is not a Nomad Variables path (letters, digits, - _ ~ /, no leading or trailing /)`);
  }
  const lockNamespace = flags['ha-lock-namespace'] ?? env.PROMOTER_HA_LOCK_NAMESPACE ?? state.stateNamespace;
  if (lockNamespace === '' || lockNamespace.includes('*')) errors.push(`--ha-lock-namespace / PROMOTER_HA_LOCK_NAMESPACE: "${lockNamespace}" is not one namespace`);
  // Every variable under the state path is read as a snapshot.
  else if (lockNamespace === state.stateNamespace && lockPath.startsWith(`${state.statePath}/`)) {
    errors.push(`--ha-lock-path / PROMOTER_HA_LOCK_PATH: "${lockPath}" is under --state-path "${state.statePath}"; put the lock beside it, such as the default nomad-promoter/leader`);
  }
  const ttlText = flags['ha-lock-ttl'] ?? env.PROMOTER_HA_LOCK_TTL ?? RUN_DEFAULTS.haLockTtl;
  const ttlMs = parseDuration(ttlText);
  if (ttlMs === undefined || ttlMs < MIN_LOCK_TTL_MS || ttlMs > MAX_INTERVAL_MS) {
    errors.push(`--ha-lock-ttl / PROMOTER_HA_LOCK_TTL: "${ttlText}" is not a duration between 10s and 24h (Nomad's bounds for a lock TTL)`);
  }
  const delayText = flags['ha-lock-delay'] ?? env.PROMOTER_HA_LOCK_DELAY ?? RUN_DEFAULTS.haLockDelay;
  const lockDelayMs = parseDuration(delayText);
  if (lockDelayMs === undefined || lockDelayMs > MAX_INTERVAL_MS) {
    errors.push(`--ha-lock-delay / PROMOTER_HA_LOCK_DELAY: "${delayText}" is not a duration between 0s and 24h, such as 15s`);
  }
  const identity = flags['ha-identity'] ?? env.PROMOTER_HA_IDENTITY ?? `${hostname()}-${process.pid}`;
  // Shown in an HTTP header and in logs: printable ASCII only.
  if (!/^[\x21-\x7e]([\x20-\x7e]{0,254}[\x21-\x7e])?$/.test(identity)) {
    errors.push(`--ha-identity / PROMOTER_HA_IDENTITY: "${identity}" is not 1 to 256 printable ASCII characters`);
  }
  return { lockPath, lockNamespace, ttlMs: ttlMs ?? 0, lockDelayMs: lockDelayMs ?? 0, identity };
}
