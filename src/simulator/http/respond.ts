/**
 * Writing responses the way Nomad's Go server does: header names in Go's canonical form on the
 * wire (written raw, so Node does not alter them), errors as text/plain bare messages.
 */
import type { ServerResponse } from 'node:http';

export type HeaderList = [string, string][];

export interface QueryMeta {
  index: number;
  knownLeader?: boolean;
  lastContactMs?: number;
  nextToken?: string;
}

/** Go's setMeta: X-Nomad-Index, -Lastcontact, -Knownleader, and -Nexttoken when non-empty. */
export function metaHeaders(meta: QueryMeta): HeaderList {
  const headers: HeaderList = [
    ['X-Nomad-Index', String(meta.index)],
    ['X-Nomad-Lastcontact', String(meta.lastContactMs ?? 0)],
    ['X-Nomad-Knownleader', String(meta.knownLeader ?? true)],
  ];
  if (meta.nextToken) headers.push(['X-Nomad-Nexttoken', meta.nextToken]);
  return headers;
}

export function indexHeader(index: number): HeaderList {
  return [['X-Nomad-Index', String(index)]];
}

function write(res: ServerResponse, status: number, body: string, headers: HeaderList): void {
  if (res.headersSent || res.destroyed) return;
  const buf = Buffer.from(body, 'utf8');
  const raw: string[] = [];
  for (const [k, v] of headers) raw.push(k, v);
  raw.push('Content-Length', String(buf.length));
  res.writeHead(status, raw);
  res.end(buf);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: HeaderList = []): void {
  write(res, status, JSON.stringify(body), [...headers, ['Content-Type', 'application/json']]);
}

export function sendText(res: ServerResponse, status: number, message: string, headers: HeaderList = []): void {
  write(res, status, message, [...headers, ['Content-Type', 'text/plain; charset=utf-8']]);
}

/** A status with no body (Go's WriteHeader alone), e.g. 404 for an unknown path. */
export function sendEmpty(res: ServerResponse, status: number, headers: HeaderList = []): void {
  write(res, status, '', headers);
}
