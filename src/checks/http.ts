/**
 * HTTP checks: one request, and the answer as the CEL variable `response`
 * (`status`, `body`, `headers`, `ms`). Any HTTP answer is data, whatever its status: the
 * expression judges it (`response.status == 200`). Only "no usable answer" is an error.
 * See README.md in this folder.
 */
import { parseHttpUrl } from '../domain/http-url.js';
import type { Observation } from '../domain/analysis.js';
import type { HttpSource } from '../domain/policy.js';
import { deadline, formatMs } from './deadline.js';
import type { CheckProvider, ObserveContext } from './provider.js';
import { describeError, splitCredentials, urlSecrets } from './secrets.js';

/** A health endpoint that streams megabytes is a misconfiguration, not something to buffer. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface HttpResponseVariable {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  ms: number;
}

export interface HttpProviderOptions {
  maxBodyBytes?: number;
}

export function httpProvider(options: HttpProviderOptions = {}): CheckProvider<HttpSource> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return { kind: 'http', observe: (source, ctx) => request(source, ctx, maxBodyBytes) };
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Header values may not hold control characters other than tab (RFC 9110 field-value).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

async function request(source: HttpSource, ctx: ObserveContext, maxBodyBytes: number): Promise<Observation> {
  const headerValues = Object.values(source.headers);
  const secrets = [...(ctx.secrets ?? []), ...headerValues.map((v) => v.trim()), ...headerValues];
  const parsed = parseHttpUrl(source.url);
  if (!parsed.ok) return { kind: 'error', message: `http.url: ${parsed.problem}` };
  secrets.push(...urlSecrets(parsed.url));
  const { url, authorization } = splitCredentials(parsed.url);

  // Checked here rather than left to fetch, whose error would quote the (secret) value.
  const headers = new Headers();
  if (authorization) headers.set('authorization', authorization);
  for (const [name, value] of Object.entries(source.headers)) {
    if (!TOKEN.test(name)) return { kind: 'error', message: `invalid header name ${JSON.stringify(name)}` };
    const invalid = { kind: 'error', message: `invalid value for header ${JSON.stringify(name)}` } as const;
    if (!FIELD_VALUE.test(value)) return invalid;
    try {
      headers.set(name, value);
    } catch {
      return invalid;
    }
  }
  const method = (source.method || 'GET').toUpperCase();
  if (!TOKEN.test(method)) return { kind: 'error', message: `invalid method ${JSON.stringify(method)}` };
  const hasBody = source.body !== '';
  if (hasBody && (method === 'GET' || method === 'HEAD')) {
    return { kind: 'error', message: `a ${method} request cannot carry a body` };
  }

  const limit = deadline(source.timeoutMs, ctx.signal);
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method,
      headers,
      body: hasBody ? source.body : undefined,
      signal: limit.signal,
      // The status of a redirect is the answer: following it could carry the headers elsewhere.
      redirect: 'manual',
    });
    const raw = await readCapped(res, maxBodyBytes);
    if (raw === undefined) return { kind: 'error', message: `response body larger than ${maxBodyBytes} bytes` };
    const ms = performance.now() - started;
    const responseHeaders: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      responseHeaders[name.toLowerCase()] = value;
    });
    const response: HttpResponseVariable = {
      status: res.status,
      body: decodeBody(raw, responseHeaders['content-type']),
      headers: responseHeaders,
      ms,
    };
    // The status is the check's measured value: what the status API, metrics and dashboard show.
    return { kind: 'data', variables: { response }, value: res.status, noData: false };
  } catch (err) {
    const why = limit.reason();
    if (why === 'timeout') return { kind: 'error', message: `no answer within ${formatMs(source.timeoutMs)}` };
    if (why === 'cancelled') return { kind: 'error', message: 'request cancelled' };
    return { kind: 'error', message: describeError('request failed', err, secrets) };
  }
}

/** The body as text, or undefined past `max` bytes (the rest is not read). */
async function readCapped(res: Response, max: number): Promise<string | undefined> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * JSON-decoded when the content type says JSON. A body that claims JSON but does not parse stays
 * a string: the status is still worth judging, and `type(response.body) == string` shows it.
 */
export function decodeBody(raw: string, contentType: string | undefined): unknown {
  if (!contentType || !JSON_TYPE.test(contentType.trim())) return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
