/**
 * The one error type of the Nomad client, and the rules that split Nomad's answers into
 * transient ones (worth retrying) and final ones (retrying can only repeat the same answer).
 *
 * Nomad answers errors with a text/plain body holding the bare message. Many final answers come
 * back as HTTP 500 (an unknown deployment on an action is `500 deployment not found`), so the
 * status alone cannot decide: the text is matched against the answers Nomad is known to give.
 */

/** Longest piece of a response body kept in an error (a proxy may answer with a whole HTML page). */
const MAX_TEXT_LENGTH = 2048;

export interface NomadErrorInit {
  /** HTTP status; 0 when no response arrived (network error, timeout, client closed). */
  status: number;
  method: string;
  /** Route pattern such as `/v1/deployment/promote/:id`, never a path holding IDs. */
  route: string;
  /** Nomad's own message (the text/plain body), or the network error's description. */
  text: string;
  /** Node error code for network failures (`ECONNRESET`, `ETIMEDOUT`, ...). */
  code?: string;
  /** Overrides the classification made from status and text. */
  transient?: boolean;
  cause?: unknown;
}

export class NomadError extends Error {
  override readonly name = 'NomadError';
  readonly status: number;
  readonly method: string;
  readonly route: string;
  readonly text: string;
  readonly code: string | undefined;
  /** True when the same request may succeed later (network, timeout, 429, leaderless 5xx). */
  readonly transient: boolean;

  constructor(init: NomadErrorInit) {
    const text = truncate(init.text.trim());
    const what = init.status === 0 ? (init.code ?? 'network error') : String(init.status);
    super(`Nomad ${init.method} ${init.route}: ${what}${text ? ` ${text}` : ''}`, { cause: init.cause });
    this.status = init.status;
    this.method = init.method;
    this.route = init.route;
    this.text = text;
    this.code = init.code;
    this.transient = init.transient ?? isTransientAnswer(init.status, text);
  }

  /** The opposite of `transient`: Nomad has decided, asking again gives the same answer. */
  get final(): boolean {
    return !this.transient;
  }

  /** JSON form for structured logs (pino serialises errors through their enumerable fields). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      status: this.status,
      method: this.method,
      route: this.route,
      text: this.text,
      code: this.code,
      transient: this.transient,
    };
  }
}

/**
 * Texts that mean "try again later" whatever the status: no leader yet, a leader election in
 * progress, an RPC connection dropped between servers, rate limiting.
 */
const TRANSIENT_TEXTS: readonly RegExp[] = [
  /No cluster leader/i,
  /rpc error: EOF/i,
  /\bEOF$/,
  /connection reset/i,
  /broken pipe/i,
  /i\/o timeout/i,
  /context deadline exceeded/i,
  /leadership lost/i,
  /leadership transfer/i,
  /not the leader/i,
  /too many concurrent connections/i,
  /No path to region/i,
];

/**
 * Answers Nomad gives as HTTP 500 that are nonetheless final: the state of the cluster, not a
 * hiccup, produced them.
 */
const FINAL_TEXTS: readonly RegExp[] = [
  /deployment not found/i,
  /\bnot found\b/i,
  /can't [a-z ]+ terminal deployment/i,
  /can't set health of allocations for a terminal deployment/i,
  /is not part of deployment/i,
  /unknown alloc/i,
  /must specify at least one healthy\/unhealthy allocation ID/i,
  /can't revert to current version/i,
  /Current job has version \d+/i,
  /has \d+\/\d+ healthy allocations/i,
  /Permission denied/i,
  /ACL token not found/i,
  /DeploymentID must be specified/i,
  /Deployment ID does not match/i,
  /Request body is empty/i,
  // Variables: Validate() errors reach HTTP as plain 500s.
  /variables are limited to \d+KiB in total size/i,
  /invalid path "/i,
  /variable requires path/i,
  /is a reserved (top-level )?directory path/i,
  /only paths at "nomad\/jobs"/i,
  /can not target wildcard/i,
  /empty variables are invalid/i,
];

/** Classify an HTTP answer from its status and Nomad's text. Status 0 is a network failure. */
export function isTransientAnswer(status: number, text: string): boolean {
  if (status === 0) return true;
  if (status === 408 || status === 429) return true;
  if (TRANSIENT_TEXTS.some((re) => re.test(text))) return status >= 500 || status === 0;
  if (status >= 500) return !FINAL_TEXTS.some((re) => re.test(text));
  // 2xx/3xx never become errors except for an unreadable body; 4xx are Nomad's final word.
  return false;
}

export function isNomadError(err: unknown): err is NomadError {
  return err instanceof NomadError;
}

/** A write the HA fence held back because this replica does not lead: not an outcome of the effect. */
export function isFencedError(err: unknown): boolean {
  return err instanceof NomadError && err.code === 'EFENCED';
}

/** True for errors worth retrying: a transient NomadError. Anything else (bugs, aborts) is not. */
export function isTransientNomadError(err: unknown): boolean {
  return err instanceof NomadError && err.transient;
}

/** Network failures that happen before a request reaches Nomad: nothing can have been applied. */
/** EFENCED: the client's write fence held the request back (this replica does not lead). */
const NOT_SENT_CODES = new Set(['EFENCED', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * True when a failed write may still have been applied by Nomad: the connection broke or timed
 * out after the request was sent, or a server error other than "no leader" (Nomad answers that
 * before doing anything) came back. Such a write is not repeated blindly: the caller re-reads.
 */
export function mayHaveBeenApplied(err: unknown): boolean {
  if (!(err instanceof NomadError)) return false;
  if (err.status === 0) return !NOT_SENT_CODES.has(err.code ?? '');
  if (err.status === 429 || err.status === 408) return false;
  return err.status >= 500 && !/No cluster leader/i.test(err.text);
}

/** True for a NomadError that Nomad will answer the same way again (never retry it). */
export function isFinalNomadError(err: unknown): boolean {
  return err instanceof NomadError && !err.transient;
}

/**
 * Network failures are transient, except TLS failures: a certificate that does not verify or a
 * handshake the server refuses is a configuration problem that retrying cannot fix.
 */
export function isTransientNetworkCode(code: string | undefined): boolean {
  if (!code) return true;
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return false;
  return !TLS_VERIFY_CODES.has(code);
}

/** OpenSSL verification codes as node reports them on `err.code`. */
const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

/** True for the rejection of a call whose AbortSignal fired (`AbortError` or `TimeoutError`). */
export function isAbortError(err: unknown): boolean {
  return isErrorLike(err) && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/**
 * `instanceof Error` without the realm trap: a DOMException (the default abort reason) made
 * by node is not an instance of the Error of a vm context (test runners use those).
 */
export function isErrorLike(value: unknown): value is Error {
  return (
    value instanceof Error ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as Error).name === 'string' &&
      typeof (value as Error).message === 'string')
  );
}

function truncate(text: string): string {
  return text.length > MAX_TEXT_LENGTH ? `${text.slice(0, MAX_TEXT_LENGTH)}…` : text;
}
