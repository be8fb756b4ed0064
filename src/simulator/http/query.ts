/**
 * Query options as Nomad's HTTP agent parses them (`parse` in command/agent/http.go), with its
 * exact 400 messages.
 */
import { parseGoDuration } from '../duration.js';
import { ApiError } from '../model/errors.js';

export interface QueryOptions {
  namespace: string;
  /** Minimum index of a blocking query; 0 = no blocking. */
  index: number;
  /** Requested wait in ms, undefined when absent. */
  waitMs: number | undefined;
  prefix: string;
  filter: string;
  perPage: number;
  nextToken: string;
  reverse: boolean;
  stale: boolean;
  raw: Record<string, string>;
}

export function firstValues(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of params) if (!(k in out)) out[k] = v;
  return out;
}

export function parseQuery(params: URLSearchParams): QueryOptions {
  const raw = firstValues(params);
  let stale = false;
  if (params.has('stale')) {
    const v = raw.stale ?? '';
    if (v === '' || ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) stale = true;
    else if (!['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) {
      throw new ApiError(400, 'Expect `true` or `false` for `stale` query string parameter');
    }
  }
  let perPage = 0;
  if (raw.per_page) {
    if (!/^[+-]?\d+$/.test(raw.per_page)) throw new ApiError(400, 'Expect a number for `per_page` query string parameter');
    perPage = Number(raw.per_page);
  }
  let waitMs: number | undefined;
  if (raw.wait) {
    try {
      waitMs = parseGoDuration(raw.wait);
    } catch {
      throw new ApiError(400, 'Invalid wait time');
    }
  }
  let index = 0;
  if (raw.index) {
    if (!/^\d+$/.test(raw.index)) throw new ApiError(400, 'Invalid index');
    index = Number(raw.index);
  }
  return {
    namespace: raw.namespace || 'default',
    index,
    waitMs,
    prefix: raw.prefix ?? '',
    filter: raw.filter ?? '',
    perPage,
    nextToken: raw.next_token ?? '',
    reverse: raw.reverse === 'true',
    stale,
    raw,
  };
}

/** Go's strconv.ParseBool for optional flags such as `resources`; invalid values are errors. */
export function parseBoolParam(raw: Record<string, string>, name: string): boolean | undefined {
  const v = raw[name];
  if (v === undefined || v === '') return undefined;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw new ApiError(500, `Failed to parse value of ${JSON.stringify(name)} (${v}) as a bool: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}
