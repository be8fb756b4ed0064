/**
 * One HTTP attempt against Nomad over node:http / node:https: agent, TLS, unix socket, token
 * header, timeout, abort, body decoding. Retrying is the caller's business (client.ts).
 *
 * The transport owns exactly one agent, so the number of connections a client opens is bounded
 * by `maxSockets` whatever the number of calls: Nomad allows 100 connections per client IP.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { gunzip } from 'node:zlib';
import { basicAuthorization, credentialSecrets, redactValues } from '../domain/redact.js';
import type { NomadConnectionConfig } from './config.js';
import { isErrorLike, isTransientNetworkCode, NomadError } from './errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One measured HTTP attempt, for `nomad_promoter_nomad_requests_total` and its histogram. */
export interface RequestSample {
  /** Route pattern, e.g. `/v1/deployment/promote/:id`. */
  route: string;
  method: string;
  /** HTTP status as a string; `error` for network failures and timeouts; `aborted` when the caller's signal fired. */
  code: string;
  seconds: number;
}

export interface AttemptRequest {
  method: HttpMethod;
  /** Route pattern (labels errors and metrics). */
  route: string;
  /** Concrete path with IDs already URI-encoded, e.g. `/v1/deployment/promote/5f1d...`. */
  path: string;
  query: URLSearchParams;
  /** JSON-encoded as the request body; `undefined` sends an empty body. */
  body?: unknown;
  /** Whole-attempt limit, counted from the moment a connection is assigned to the request. */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Asked once a connection is assigned, before a byte of the request is written (a request may
   * queue behind others first): an error fails the attempt unsent, and is not counted as a request.
   */
  gate?: () => Error | undefined;
}

export interface AttemptResponse {
  status: number;
  /** Response headers; node lower-cases every name, which makes matching case-insensitive. */
  headers: http.IncomingHttpHeaders;
  text: string;
  /** From the status line to the decoded text (download and gunzip): what reading the answer cost this process. */
  readMs: number;
}

export interface TransportOptions {
  maxSockets: number;
  keepAlive: boolean;
  /** Close a kept-alive connection after this long unused (default: keep it open). */
  idleTimeoutMs?: number;
  /** Largest answer accepted, counted after decompression; a larger one fails the attempt. */
  maxResponseBytes: number;
  observe?: (sample: RequestSample) => void;
}

export class HttpTransport {
  private readonly agent: http.Agent;
  private readonly secrets: string[];

  constructor(
    private readonly config: NomadConnectionConfig,
    private readonly options: TransportOptions,
  ) {
    // Agent `timeout` closes pooled sockets that stay idle that long; active requests keep their own timer.
    const common = { keepAlive: options.keepAlive, maxSockets: options.maxSockets, ...(options.idleTimeoutMs ? { timeout: options.idleTimeoutMs } : {}) };
    if (config.protocol === 'https' && !config.socketPath) {
      const { tls } = config;
      this.agent = new https.Agent({
        ...common,
        rejectUnauthorized: !tls.skipVerify,
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
        ...(tls.serverName ? { servername: tls.serverName } : {}),
      });
    } else {
      this.agent = new http.Agent(common);
    }
    // Scrubbed from any text Nomad or a proxy sends back, in case one ever echoes them.
    const auth = config.httpAuth;
    this.secrets = [config.token ?? '', ...(auth ? credentialSecrets(auth.username, auth.password) : [])];
  }

  /** Destroys the agent and its sockets; requests in flight fail. */
  close(): void {
    this.agent.destroy();
  }

  /** Resolves with a 2xx response; rejects with a NomadError, or the signal's reason on abort. */
  send(req: AttemptRequest): Promise<AttemptResponse> {
    const { config } = this;
    const started = performance.now();
    const qs = req.query.toString();
    const headers = this.headers();
    headers['accept-encoding'] = 'gzip';
    let payload: Buffer | undefined;
    if (req.body !== undefined) {
      payload = Buffer.from(JSON.stringify(req.body));
      headers['content-type'] = 'application/json';
    }
    if (req.method !== 'GET') headers['content-length'] = payload?.length ?? 0;

    const options: http.RequestOptions = {
      method: req.method,
      agent: this.agent,
      path: `${config.basePath}${req.path}${qs ? `?${qs}` : ''}`,
      headers,
      ...(config.socketPath ? { socketPath: config.socketPath } : { host: config.host, port: config.port }),
    };
    const request = config.protocol === 'https' && !config.socketPath ? https.request : http.request;

    return new Promise<AttemptResponse>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const signal = req.signal;

      const finish = (code: string, outcome: { value: AttemptResponse } | { error: unknown }, sent = true): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (sent) try {
          this.options.observe?.({
            route: req.route,
            method: req.method,
            code,
            seconds: (performance.now() - started) / 1000,
          });
        } catch {
          // A metrics hook must never leave a call hanging or change its outcome.
        }
        if ('value' in outcome) resolve(outcome.value);
        else reject(outcome.error);
      };
      const networkError = (err: unknown, code?: string): NomadError => {
        const e = err as NodeJS.ErrnoException;
        const errCode = code ?? e?.code;
        return new NomadError({
          status: 0,
          method: req.method,
          route: req.route,
          text: this.scrub(e?.message ?? String(err)),
          ...(errCode ? { code: errCode } : {}),
          transient: isTransientNetworkCode(errCode),
          cause: err,
        });
      };

      const tooLarge = (): NomadError =>
        networkError(new Error(`answer larger than ${this.options.maxResponseBytes} bytes`), 'ERESPONSETOOLARGE');

      const clientRequest = request(options, (res) => {
        // A blocking query's status line comes when Nomad answers: what follows is the answer's own cost.
        const answeredAt = performance.now();
        const chunks: Buffer[] = [];
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          // Compressed bytes never exceed the cap either: stop reading as soon as they do.
          if (received > this.options.maxResponseBytes) {
            finish('error', { error: tooLarge() });
            clientRequest.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => finish('error', { error: networkError(err) }));
        // The connection closed before the whole body came in.
        res.on('close', () => {
          if (!res.complete) finish('error', { error: networkError(new Error('response cut short'), 'ECONNRESET') });
        });
        res.on('end', () => {
          if (settled) return;
          decode(Buffer.concat(chunks), res.headers['content-encoding'], this.options.maxResponseBytes, (err, text) => {
            if ((err as NodeJS.ErrnoException | null)?.code === 'ERR_BUFFER_TOO_LARGE') return finish('error', { error: tooLarge() });
            if (err) return finish('error', { error: networkError(err) });
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              return finish(String(status), { value: { status, headers: res.headers, text, readMs: performance.now() - answeredAt } });
            }
            finish(String(status), {
              error: new NomadError({ status, method: req.method, route: req.route, text: this.scrub(text) }),
            });
          });
        });
      });

      const onAbort = (): void => {
        finish('aborted', { error: abortReason(signal) });
        clientRequest.destroy();
      };
      clientRequest.on('error', (err) => finish('error', { error: networkError(err) }));
      // The clock starts when a connection is assigned: with maxSockets 1 a request may queue
      // behind another one, and queueing is not Nomad being slow.
      // A gated request is written only once the gate says yes, asked when the connection is
      // ready to carry it (a new one connected), so little can pass between the answer and the bytes.
      const passGate = (): void => {
        if (settled) return;
        const refused = req.gate?.();
        if (refused) {
          finish('unsent', { error: refused }, false);
          clientRequest.destroy();
          return;
        }
        clientRequest.end(payload);
      };
      clientRequest.once('socket', (socket) => {
        if (settled) return;
        if (req.gate && socket.connecting) socket.once('connect', passGate);
        else if (req.gate) passGate();
        timer = setTimeout(() => {
          finish('error', {
            error: networkError(new Error(`no answer within ${req.timeoutMs} ms`), 'ETIMEDOUT'),
          });
          clientRequest.destroy();
        }, req.timeoutMs);
      });
      if (signal) {
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (!req.gate) clientRequest.end(payload);
    });
  }

  /**
   * Opens a long-lived GET (the event stream) on this transport's agent and resolves with the
   * response once its status line and headers are in; the caller reads and ends the body.
   */
  openStream(path: string, query: URLSearchParams, signal: AbortSignal): Promise<http.IncomingMessage> {
    const { config } = this;
    const options: http.RequestOptions = {
      method: 'GET',
      agent: this.agent,
      path: `${config.basePath}${path}?${query.toString()}`,
      headers: this.headers(),
      signal,
      ...(config.socketPath ? { socketPath: config.socketPath } : { host: config.host, port: config.port }),
    };
    const request = config.protocol === 'https' && !config.socketPath ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request(options, resolve);
      req.on('error', (err) => reject(new NomadError({ status: 0, method: 'GET', route: path, text: this.scrub(err.message), transient: true, cause: err })));
      req.end();
    });
  }

  /** Accept, user agent and credentials, sent with every request. */
  private headers(): http.OutgoingHttpHeaders {
    const { config } = this;
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json', 'user-agent': 'nomad-promoter' };
    if (config.token) headers['x-nomad-token'] = config.token;
    if (config.httpAuth) {
      const { username, password } = config.httpAuth;
      headers.authorization = basicAuthorization(username, password);
    }
    return headers;
  }

  private scrub(text: string): string {
    return redactValues(text, this.secrets);
  }
}

/** The rejection of an aborted call: the signal's reason when it is an Error, else an AbortError. */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (isErrorLike(reason)) return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}

/** Inflates a gzip body, never past `maxBytes` (zlib stops with ERR_BUFFER_TOO_LARGE). */
function decode(
  body: Buffer,
  encoding: string | undefined,
  maxBytes: number,
  done: (err: Error | null, text: string) => void,
): void {
  if (encoding?.toLowerCase() === 'gzip' && body.length > 0) {
    gunzip(body, { maxOutputLength: maxBytes }, (err, out) => (err ? done(err, '') : done(null, out.toString('utf8'))));
  } else {
    done(null, body.toString('utf8'));
  }
}
