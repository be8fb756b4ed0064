/**
 * Injected faults for the next N matching API requests (control API `POST /_sim/faults`).
 * Faults apply in the order they were added; each request consumes at most one fault.
 */
export type FaultKind =
  | 'latency'
  | 'no-leader'
  | 'reset'
  | 'too-many'
  | 'index-reset'
  /** The normal answer with `X-Nomad-Index: 0`. */
  | 'index-zero'
  /** The normal answer without an `X-Nomad-Index` header. */
  | 'no-index'
  /** 200 with a body that is not JSON. */
  | 'malformed'
  /** 200 with the body `null`. */
  | 'null-body'
  /** 403 `Permission denied`. */
  | 'forbidden'
  /** 200 with a JSON body of `bytes` bytes. */
  | 'huge'
  /** 200 with a small gzip body that inflates to `bytes` bytes. */
  | 'gzip-bomb'
  /** Reads the request and never answers. */
  | 'hang'
  /** 200 then EOF with no body: Nomad 1.11.2+ refusing an event stream. */
  | 'stream-deny'
  /** Nomad 1.11.2's `HTTP/0.0 200 OK` status line. */
  | 'http-0.0';

export const FAULT_KINDS: readonly FaultKind[] = [
  'latency',
  'no-leader',
  'reset',
  'too-many',
  'index-reset',
  'index-zero',
  'no-index',
  'malformed',
  'null-body',
  'forbidden',
  'huge',
  'gzip-bomb',
  'hang',
  'stream-deny',
  'http-0.0',
];

export interface Fault {
  kind: FaultKind;
  /** Requests left to affect. */
  count: number;
  ms: number;
  to: number;
  /** Body size of `huge` and `gzip-bomb`. */
  bytes: number;
  path: string;
}

export class Faults {
  private faults: Fault[] = [];

  add(f: Fault): void {
    this.faults.push(f);
  }

  clear(): void {
    this.faults = [];
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** Consumes and returns the first fault matching `path`, if any. */
  take(path: string): Fault | null {
    const f = this.faults.find((x) => x.count > 0 && path.startsWith(x.path));
    if (!f) return null;
    f.count--;
    this.faults = this.faults.filter((x) => x.count > 0);
    return { ...f };
  }
}

/** Consul/Nomad connlimit's exact bytes for a refused connection. */
const TOO_MANY_BODY = 'Your IP is issuing too many concurrent connections, please rate limit your calls\n';
export const TOO_MANY_RESPONSE =
  'HTTP/1.1 429 Too Many Requests\r\n' +
  'Content-Type: text/plain\r\n' +
  `Content-Length: ${Buffer.byteLength(TOO_MANY_BODY)}\r\n` +
  'Connection: close\r\n\r\n' +
  TOO_MANY_BODY;

/** Nomad 1.11.2's event stream start, status line `HTTP/0.0` included. */
export const HTTP_0_0_RESPONSE = 'HTTP/0.0 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{}\n';
