/**
 * Prometheus instant queries (`/api/v1/query`), turned into the CEL variables of
 * docs/policy.md "Expressions": `result` and `results`. See README.md in this folder for the
 * reading of multi-series, NaN and error answers.
 */
import { parseHttpUrl } from '../domain/http-url.js';
import type { Observation } from '../domain/analysis.js';
import type { PrometheusSource } from '../domain/policy.js';
import { abortable, deadline, formatMs } from './deadline.js';
import type { CheckProvider, ObserveContext } from './provider.js';
import { describeError, redact, splitCredentials, urlSecrets } from './secrets.js';

/** Past this length of the encoded form the query goes in a POST body: URLs have length limits. */
export const MAX_GET_QUERY_LENGTH = 2000;
/**
 * The client waits this much longer than the `timeout` sent to Prometheus, so that when the
 * query is too slow Prometheus's own answer (503 "query timed out ...") arrives first.
 */
export const CLIENT_GRACE_MS = 1000;

export interface PrometheusSample {
  labels: Record<string, string>;
  value: number;
}

export interface PrometheusProviderOptions {
  /** `--prometheus-addr`, used when a source gives no address. */
  defaultAddress?: string;
}

export function prometheusProvider(options: PrometheusProviderOptions = {}): CheckProvider<PrometheusSource> {
  return {
    kind: 'prometheus',
    observe: (source, ctx) => queryPrometheus(source, ctx, options.defaultAddress),
  };
}

async function queryPrometheus(source: PrometheusSource, ctx: ObserveContext, defaultAddress?: string): Promise<Observation> {
  const secrets = [...(ctx.secrets ?? [])];
  const address = source.address ?? defaultAddress;
  if (!address) {
    return { kind: 'error', message: 'no Prometheus address: set prometheus.address in the check or --prometheus-addr' };
  }
  const parsed = parseHttpUrl(address);
  if (!parsed.ok) return { kind: 'error', message: `Prometheus address: ${parsed.problem}` };
  const base = parsed.url;
  secrets.push(...urlSecrets(base));
  const { url, authorization } = splitCredentials(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v1/query`;

  const form = new URLSearchParams({ query: source.query });
  if (source.timeoutMs > 0) form.set('timeout', `${source.timeoutMs}ms`);
  const encoded = form.toString();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (authorization) headers.authorization = authorization;
  const post = encoded.length > MAX_GET_QUERY_LENGTH;
  if (post) headers['content-type'] = 'application/x-www-form-urlencoded';
  else url.search = encoded;

  const limit = deadline(source.timeoutMs + CLIENT_GRACE_MS, ctx.signal);
  let status: number;
  let text: string;
  try {
    const res = await fetch(url, {
      method: post ? 'POST' : 'GET',
      headers,
      body: post ? encoded : undefined,
      signal: limit.signal,
      redirect: 'follow',
    });
    status = res.status;
    text = await abortable(res.text(), limit.signal);
  } catch (err) {
    const why = limit.reason();
    if (why === 'timeout') return { kind: 'error', message: `Prometheus did not answer within ${formatMs(source.timeoutMs)}` };
    if (why === 'cancelled') return { kind: 'error', message: 'Prometheus query cancelled' };
    return { kind: 'error', message: describeError('Prometheus request failed', err, secrets) };
  }
  return interpret(status, text, secrets);
}

/** Turns one HTTP answer of /api/v1/query into an observation. Exported for unit tests. */
export function interpret(status: number, text: string, secrets: readonly string[] = []): Observation {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!isRecord(body) || typeof body.status !== 'string') {
    // Not the Prometheus API (a proxy's page, a wrong address): say so without echoing the page.
    return { kind: 'error', message: `Prometheus answered HTTP ${status} without an API response` };
  }
  if (body.status !== 'success' || status < 200 || status >= 300) {
    const errorType = typeof body.errorType === 'string' ? body.errorType : 'error';
    const error = typeof body.error === 'string' ? body.error : 'no error text';
    return { kind: 'error', message: redact(`Prometheus query failed (HTTP ${status}, ${errorType}): ${error}`, secrets) };
  }
  const warnings = Array.isArray(body.warnings) ? body.warnings.filter((w): w is string => typeof w === 'string').map((w) => redact(w, secrets)) : [];
  const data = isRecord(body.data) ? body.data : {};
  const samples = samplesOf(data.resultType, data.result);
  if (typeof samples === 'string') return { kind: 'error', message: samples };

  // Non-finite values are data here; turning them into `noData` is the measurement's rule.
  const noData = samples.length === 0;
  const single = samples.length === 1 ? samples[0] : undefined;
  const variables: Record<string, unknown> = { results: samples };
  // `result` only when the answer is one number; with several series the expression must say
  // which it means (through `results`), so `result` is left out rather than guessed.
  if (single) variables.result = single.value;
  const observation: Observation = { kind: 'data', variables, noData };
  if (single && !noData) observation.value = single.value;
  if (warnings.length > 0) observation.warnings = warnings;
  return observation;
}

function samplesOf(resultType: unknown, result: unknown): PrometheusSample[] | string {
  switch (resultType) {
    case 'scalar':
      // A scalar is one sample without labels: `results` then works the same for any query.
      return Array.isArray(result) ? [{ labels: {}, value: parseValue(result[1]) }] : 'Prometheus answered a malformed scalar';
    case 'vector':
      if (!Array.isArray(result)) return 'Prometheus answered a malformed vector';
      return result.map((series: unknown) => {
        const s = isRecord(series) ? series : {};
        return { labels: labelsOf(s.metric), value: parseValue(Array.isArray(s.value) ? s.value[1] : undefined) };
      });
    case 'matrix':
      return 'range vector results are not supported; use an instant query';
    case 'string':
      return 'string results are not supported; the query must return a number or an instant vector';
    default:
      return `Prometheus answered an unknown result type ${JSON.stringify(resultType)}`;
  }
}

/** Prometheus sends sample values as strings, including "NaN", "+Inf" and "-Inf". */
export function parseValue(raw: unknown): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw !== 'string') return Number.NaN;
  switch (raw) {
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
    default:
      return raw.trim() === '' ? Number.NaN : Number(raw);
  }
}

function labelsOf(metric: unknown): Record<string, string> {
  const labels: Record<string, string> = {};
  if (isRecord(metric)) for (const [k, v] of Object.entries(metric)) if (typeof v === 'string') labels[k] = v;
  return labels;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
