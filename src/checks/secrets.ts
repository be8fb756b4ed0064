/**
 * Keeping secrets out of messages. A measurement's message ends up in logs, status and metrics,
 * so nothing a template may have filled from PROMOTER_VAR_* (headers, URL credentials, values the
 * daemon lists) may appear in it, even when a library echoes its input in an error.
 */
import { basicAuthorization, credentialSecrets, redactValues } from '../domain/redact.js';

const MAX_MESSAGE_LENGTH = 1000;

/**
 * Hides every non-empty value of `secrets` in `text`, whatever its length (docs/policy.md: a
 * PROMOTER_VAR_* value never appears in logs, metrics or status, and a short one is no
 * exception). The price: a very short secret ("1", "eu") is hidden wherever those characters
 * appear, which makes such messages harder to read. Redaction happens before the message is cut
 * to its maximum length, so a cut never leaves part of a secret.
 */
export function redact(text: string, secrets: readonly string[]): string {
  const out = redactValues(text, secrets);
  return out.length > MAX_MESSAGE_LENGTH ? `${out.slice(0, MAX_MESSAGE_LENGTH)}…` : out;
}

/**
 * `prefix: reason`, where reason is the most specific text the error carries. Node's fetch
 * rejects with a bare "fetch failed" and puts the real reason (`connect ECONNREFUSED ...`) in
 * `cause`, sometimes as an AggregateError with one entry per address tried.
 */
export function describeError(prefix: string, err: unknown, secrets: readonly string[]): string {
  return redact(`${prefix}: ${reasonOf(err)}`, secrets);
}

function reasonOf(err: unknown, depth = 0): string {
  // Duck-typed rather than instanceof: errors from fetch may come from another realm.
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { message?: unknown; name?: unknown; code?: unknown; cause?: unknown; errors?: unknown };
  if (depth < 3 && typeof e.cause === 'object' && e.cause !== null) return reasonOf(e.cause, depth + 1);
  if (depth < 3 && Array.isArray(e.errors) && e.errors.length > 0) return reasonOf(e.errors[0], depth + 1);
  if (typeof e.message === 'string' && e.message) return e.message;
  if (typeof e.code === 'string') return e.code;
  return typeof e.name === 'string' ? e.name : String(err);
}

/** Secrets a URL may carry: its credentials in every form sent, and its query values (a token in `?key=`). */
export function urlSecrets(url: URL): string[] {
  const out: string[] = [];
  if (url.username || url.password) {
    out.push(url.password, ...credentialSecrets(decodeURIComponent(url.username), decodeURIComponent(url.password)));
  }
  for (const value of url.searchParams.values()) out.push(value);
  return out;
}

/**
 * fetch refuses URLs with credentials; move `user:pass@` into a Basic Authorization header.
 * Returns the URL without credentials and the header, if any.
 */
export function splitCredentials(url: URL): { url: URL; authorization?: string } {
  if (!url.username && !url.password) return { url };
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  const clean = new URL(url.href);
  clean.username = '';
  clean.password = '';
  return { url: clean, authorization: basicAuthorization(user, pass) };
}
