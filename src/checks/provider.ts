/**
 * The one interface every check source implements, and the registry that hands out the three
 * providers by kind. Sources arrive with their templates already rendered.
 *
 * Providers never throw: whatever goes wrong (connection refused, timeout, a Prometheus error,
 * an unreadable answer) comes back as `{ kind: 'error', message }`, so "the measuring failed" can
 * never be mistaken for "the canary is bad" (docs/architecture.md, "errors are data").
 */
import { parseHttpUrl } from '../domain/http-url.js';
import type { Observation } from '../domain/analysis.js';
import type { CheckSource } from '../domain/policy.js';
import { httpProvider } from './http.js';
import { nomadChecksProvider, type AllocationChecksReader } from './nomad.js';
import { prometheusProvider } from './prometheus.js';
import { describeError } from './secrets.js';

export type CheckKind = CheckSource['kind'];

export interface ObserveContext {
  /** Cancels the observation (daemon shutdown, deployment gone). */
  signal?: AbortSignal;
  /** The allocation measured, for allocation-scope checks. */
  allocId?: string;
  /**
   * Values that must never appear in a message (for example the PROMOTER_VAR_* values that a
   * template rendered into a query or URL). Header values and URL passwords are always hidden.
   */
  secrets?: readonly string[];
}

export interface CheckProvider<S extends CheckSource = CheckSource> {
  readonly kind: S['kind'];
  observe(source: S, ctx: ObserveContext): Promise<Observation>;
}

export const CHECK_KINDS: readonly CheckKind[] = ['prometheus', 'http', 'nomad'];

export interface ProvidersConfig {
  /** `--prometheus-addr`: used when a prometheus source gives no `address`. */
  prometheusAddress?: string;
  /** Reads an allocation's Nomad service checks; the daemon passes NomadApi.allocationChecks. */
  allocationChecks: AllocationChecksReader;
}

export interface CheckProviders {
  readonly prometheus: CheckProvider<Extract<CheckSource, { kind: 'prometheus' }>>;
  readonly http: CheckProvider<Extract<CheckSource, { kind: 'http' }>>;
  readonly nomad: CheckProvider<Extract<CheckSource, { kind: 'nomad' }>>;
  /** The provider for `kind`; throws for a kind nobody implements (never a silent default). */
  get(kind: string): CheckProvider;
  /** Dispatches on `source.kind`; throws only for an unknown kind, which is a bug upstream. */
  observe(source: CheckSource, ctx: ObserveContext): Promise<Observation>;
}

/** Throws for a configuration that cannot work (an unparsable --prometheus-addr): fail at start, not per check. */
export function providersFor(config: ProvidersConfig): CheckProviders {
  const prometheus = config.prometheusAddress === undefined ? undefined : parseHttpUrl(config.prometheusAddress);
  if (prometheus && !prometheus.ok) throw new Error(`--prometheus-addr: ${prometheus.problem}`);
  const byKind = {
    prometheus: neverThrows(prometheusProvider({ defaultAddress: config.prometheusAddress })),
    http: neverThrows(httpProvider()),
    nomad: neverThrows(nomadChecksProvider(config.allocationChecks)),
  };
  const get = (kind: string): CheckProvider => {
    if (!Object.hasOwn(byKind, kind)) {
      throw new Error(`unknown check source kind ${JSON.stringify(kind)} (known: ${CHECK_KINDS.join(', ')})`);
    }
    return byKind[kind as CheckKind] as CheckProvider;
  };
  return {
    ...byKind,
    get,
    observe: (source, ctx) => get((source as { kind: string }).kind).observe(source, ctx),
  };
}

/**
 * Each provider already turns its failures into error observations; this guard keeps the
 * promise even if a bug slips through, because a throw here would escape into the reconciler.
 */
function neverThrows<S extends CheckSource>(provider: CheckProvider<S>): CheckProvider<S> {
  return {
    kind: provider.kind,
    async observe(source, ctx) {
      try {
        return await provider.observe(source, ctx);
      } catch (err) {
        return { kind: 'error', message: describeError(`${provider.kind} check failed unexpectedly`, err, ctx.secrets ?? []) };
      }
    },
  };
}
