import { HttpNomadClient, type HttpNomadClientOptions, type RequestSample } from '../../src/nomad/client.js';
import { readNomadConfig } from '../../src/nomad/config.js';
/**
 * A small local HTTP(S) server for client tests: records every request it receives and answers
 * through a handler the test provides. Not a simulator: each test scripts its own answers.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Recorded {
  method: string;
  /** Raw request target (path and query) as it appeared on the wire. */
  url: string;
  pathname: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Remote port of the connection it came on (to tell connections apart). */
  remotePort: number;
  req: http.IncomingMessage;
}

export type Handler = (rec: Recorded, res: http.ServerResponse) => unknown;

export interface FakeNomad {
  /** `http://127.0.0.1:PORT`, `https://127.0.0.1:PORT` or `unix:///path`. */
  addr: string;
  port: number;
  requests: Recorded[];
  /** Connections opened so far (for TLS: handshakes completed). */
  connections: number;
  /** TCP connections accepted so far, handshakes failed or not. */
  tcpConnections: number;
  /** Most connections open at the same time. */
  maxOpen: number;
  close(): Promise<void>;
}

export async function startFakeNomad(
  handler: Handler,
  opts: { tls?: https.ServerOptions; socketPath?: string } = {},
): Promise<FakeNomad> {
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      const parsed = new URL(url, 'http://x');
      const rec: Recorded = {
        method: req.method ?? '',
        url,
        pathname: parsed.pathname,
        query: parsed.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        remotePort: req.socket.remotePort ?? 0,
        req,
      };
      requests.push(rec);
      Promise.resolve(handler(rec, res)).catch((err: unknown) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
  };
  const server = opts.tls ? https.createServer(opts.tls, listener) : http.createServer(listener);
  const fake: FakeNomad = {
    addr: '',
    port: 0,
    requests,
    connections: 0,
    tcpConnections: 0,
    maxOpen: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  server.on(opts.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    fake.connections++;
    fake.maxOpen = Math.max(fake.maxOpen, sockets.size);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connection', () => fake.tcpConnections++);
  // Failed TLS handshakes are expected in some tests; keep them from crashing the server.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => {
    if (opts.socketPath) server.listen(opts.socketPath, resolve);
    else server.listen(0, '127.0.0.1', resolve);
  });
  if (opts.socketPath) {
    fake.addr = `unix://${opts.socketPath}`;
  } else {
    fake.port = (server.address() as AddressInfo).port;
    fake.addr = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${fake.port}`;
  }
  return fake;
}

/** Answer with JSON and Nomad's query headers (given in Go's canonical casing). */
export function json(res: http.ServerResponse, body: unknown, headers: Record<string, string | number> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'Content-Type': 'application/json', ...headers });
  res.end(text);
}

/** Answer an error the way Nomad does: a text/plain body holding the bare message. */
export function text(res: http.ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(message);
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Pki {
  dir: string;
  caCert: string;
  /** A second CA that signed nothing we serve. */
  otherCaCert: string;
  /** Valid for IP 127.0.0.1 and DNS localhost. */
  serverCert: string;
  serverKey: string;
  /** Valid only for DNS server.global.nomad (Nomad's naming), not for 127.0.0.1. */
  namedServerCert: string;
  namedServerKey: string;
  clientCert: string;
  clientKey: string;
}

/** Generate a CA, server certificates and a client certificate with the openssl CLI. */
export function makePki(dir: string): Pki {
  const p = (name: string): string => join(dir, name);
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const key = (name: string): void => ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', p(name));
  const ca = (name: string, cn: string): void => {
    key(`${name}.key`);
    ssl('req', '-x509', '-new', '-key', p(`${name}.key`), '-out', p(`${name}.pem`), '-days', '2', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  };
  const leaf = (name: string, cn: string, ext: string): void => {
    key(`${name}.key`);
    ssl('req', '-new', '-key', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`);
    writeFileSync(p(`${name}.ext`), ext);
    ssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
      '-out', p(`${name}.pem`), '-days', '2', '-extfile', p(`${name}.ext`));
  };
  ca('ca', 'test-ca');
  ca('other-ca', 'other-ca');
  leaf('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('named', 'server.global.nomad', 'subjectAltName=DNS:server.global.nomad\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'nomad-promoter', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caCert: p('ca.pem'),
    otherCaCert: p('other-ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    namedServerCert: p('named.pem'),
    namedServerKey: p('named.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
  };
}

/**
 * A fake Nomad and a client with fast retries, one pair per test: `setup` starts them, `close`
 * (from afterEach) stops both. `samples` collects the client's observe() calls.
 */
export function clientFixture(): {
  setup(handler: Handler, env?: NodeJS.ProcessEnv, options?: HttpNomadClientOptions): Promise<{ fake: FakeNomad; client: HttpNomadClient; samples: RequestSample[] }>;
  close(): Promise<void>;
} {
  let fake: FakeNomad | undefined;
  let client: HttpNomadClient | undefined;
  return {
    async setup(handler, env = {}, options = {}) {
      fake = await startFakeNomad(handler);
      const { config, errors } = readNomadConfig({ NOMAD_ADDR: fake.addr, ...env });
      if (!config) throw new Error(`bad test config: ${errors.join('; ')}`);
      const samples: RequestSample[] = [];
      client = new HttpNomadClient(config, { minRetryDelayMs: 1, maxRetryDelayMs: 5, observe: (x) => samples.push(x), ...options });
      return { fake, client, samples };
    },
    async close() {
      client?.close();
      client = undefined;
      await fake?.close();
      fake = undefined;
    },
  };
}
