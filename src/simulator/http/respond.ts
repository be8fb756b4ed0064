/**
 * Writing responses the way Nomad's Go server does: header names in Go's canonical form on the
 * wire (written raw, so Node does not alter them), errors as text/plain bare messages, bodies
 * compressed as the agent's CompressHandler does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { deflateRaw, gzip } from 'node:zlib';

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

/** The simulator's own control API (`/_sim`, `/_sim/...`), which is not Nomad's. */
export function isControlPath(path: string): boolean {
  return path === '/_sim' || path.startsWith('/_sim/');
}

function isApiRequest(req: IncomingMessage | undefined): req is IncomingMessage {
  return req !== undefined && !isControlPath((req.url ?? '').split('?')[0]!);
}

/**
 * Nomad's agent serves its API through gorilla/handlers' CompressHandler (command/agent/http.go,
 * handlers v1.5.2): `Vary: Accept-Encoding` on every answer and, when the request's
 * Accept-Encoding names `gzip` or `deflate` (the first of the two it lists, as exact tokens), the
 * body compressed at Go's default level, empty bodies and errors included (raw DEFLATE for
 * `deflate`: Go's compress/flate).
 */
function apiEncoding(req: IncomingMessage): 'gzip' | 'deflate' | undefined {
  for (const token of String(req.headers['accept-encoding'] ?? '').split(',')) {
    const t = token.trim();
    if (t === 'gzip' || t === 'deflate') return t;
  }
  return undefined;
}

/** Answers being compressed: written once that is done (off the event loop, as Nomad compresses each answer on its own goroutine). */
const compressing = new WeakSet<ServerResponse>();

function write(res: ServerResponse, status: number, body: string, headers: HeaderList): void {
  if (res.headersSent || res.destroyed || compressing.has(res)) return;
  const raw: string[] = [];
  for (const [k, v] of headers) raw.push(k, v);
  const req = res.req;
  const api = isApiRequest(req);
  const finish = (buf: Buffer): void => {
    if (res.destroyed) return;
    if (!api || buf.length <= GO_BUFFER_BEFORE_CHUNKING) raw.push('Content-Length', String(buf.length));
    res.writeHead(status, raw);
    res.end(buf);
  };
  const plain = Buffer.from(body, 'utf8');
  if (!api) return finish(plain);
  raw.push('Vary', 'Accept-Encoding');
  const encoding = apiEncoding(req);
  if (!encoding) return finish(plain);
  raw.push('Content-Encoding', encoding);
  // Go sniffs a type for a body written without one: an empty answer's compressed bytes.
  if (!headers.some(([k]) => k === 'Content-Type')) raw.push('Content-Type', encoding === 'gzip' ? 'application/x-gzip' : 'application/octet-stream');
  compressing.add(res);
  (encoding === 'gzip' ? gzip : deflateRaw)(plain, (err, out) => {
    compressing.delete(res);
    if (err) res.destroy(err);
    else finish(out);
  });
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
