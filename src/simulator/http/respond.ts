/**
 * Writing responses the way Nomad's Go server does: header names in Go's canonical form on the
 * wire (written raw, so Node does not alter them), errors as text/plain bare messages, bodies
 * compressed as the agent's CompressHandler does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { deflateRawSync, gzipSync } from 'node:zlib';

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

/** Go's net/http sets Content-Length itself when a finished body fits its 2,048-byte buffer; a longer one is chunked. */
const GO_BUFFER_BEFORE_CHUNKING = 2048;

/**
 * Nomad's agent serves its API through gorilla/handlers' CompressHandler (command/agent/http.go,
 * handlers v1.5.2): `Vary: Accept-Encoding` on every answer and, when the request's
 * Accept-Encoding names `gzip` or `deflate` (the first of the two it lists, as exact tokens), the
 * body compressed at Go's default level, empty bodies and errors included (raw DEFLATE for
 * `deflate`: Go's compress/flate). The simulator's control API is not Nomad's: never compressed.
 */
export function apiEncoding(req: IncomingMessage | undefined): 'gzip' | 'deflate' | undefined {
  if (!req || req.url?.startsWith('/_sim')) return undefined;
  for (const token of String(req.headers['accept-encoding'] ?? '').split(',')) {
    const t = token.trim();
    if (t === 'gzip' || t === 'deflate') return t;
  }
  return undefined;
}

/** Whether an answer carries the CompressHandler's `Vary: Accept-Encoding` (every API answer). */
export function isApiAnswer(res: ServerResponse): boolean {
  return res.req !== undefined && !res.req.url?.startsWith('/_sim');
}

function write(res: ServerResponse, status: number, body: string, headers: HeaderList): void {
  if (res.headersSent || res.destroyed) return;
  let buf = Buffer.from(body, 'utf8');
  const raw: string[] = [];
  for (const [k, v] of headers) raw.push(k, v);
  const encoding = apiEncoding(res.req);
  if (isApiAnswer(res)) raw.push('Vary', 'Accept-Encoding');
  if (encoding) {
    buf = encoding === 'gzip' ? gzipSync(buf) : deflateRawSync(buf);
    raw.push('Content-Encoding', encoding);
    // Go sniffs a type for a body written without one: an empty answer's gzip bytes.
    if (!headers.some(([k]) => k === 'Content-Type')) raw.push('Content-Type', encoding === 'gzip' ? 'application/x-gzip' : 'application/octet-stream');
  }
  if (!encoding || buf.length <= GO_BUFFER_BEFORE_CHUNKING) raw.push('Content-Length', String(buf.length));
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
