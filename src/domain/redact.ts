/**
 * Keeping secrets out of what leaves the process (logs, metrics, status, errors, `explain`): the
 * one redaction function, and the forms in which the daemon itself sends a credential, so that a
 * server echoing request headers or the URL in its error reveals none of them.
 */

export const REDACTED = '[redacted]';

/**
 * Replaces every occurrence of every non-empty value in `values` with `[redacted]`, whatever its
 * length. Occurrences are found in the text as given, all of them (overlapping ones, and values
 * that contain or overlap one another, included), and each run of hidden characters becomes one
 * `[redacted]`: no part of a value is left visible, however the values overlap. `[redacted]`
 * markers already in the text (from an earlier pass) are kept as they are, so that a very short
 * value ("e", "d") does not mangle them.
 */
export function redactValues(text: string, values: Iterable<string>): string {
  const wanted = [...new Set(values)].filter((v) => typeof v === 'string' && v !== '');
  if (wanted.length === 0 || text === '') return text;
  return text
    .split(REDACTED)
    .map((piece) => hide(piece, wanted))
    .join(REDACTED);
}

function hide(text: string, values: readonly string[]): string {
  let hidden: Uint8Array | undefined;
  for (const v of values) {
    let markedUntil = 0;
    for (let i = text.indexOf(v); i >= 0; i = text.indexOf(v, i + 1)) {
      hidden ??= new Uint8Array(text.length);
      const end = i + v.length;
      for (let k = Math.max(i, markedUntil); k < end; k++) hidden[k] = 1;
      markedUntil = end;
    }
  }
  if (!hidden) return text;
  let out = '';
  for (let k = 0; k < text.length; k++) {
    if (!hidden[k]) out += text[k];
    else if (k === 0 || !hidden[k - 1]) out += REDACTED;
  }
  return out;
}

/** The `Authorization` header value for `user` and `password`. */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${basicToken(user, password)}`;
}

function basicToken(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`).toString('base64');
}

/**
 * What to hide for a credential pair: the password raw and percent-encoded (as in a URL's
 * userinfo), and the base64 token of the Basic header, which contains it. The user name alone
 * is no secret.
 */
export function credentialSecrets(user: string, password: string): string[] {
  if (!password) return [basicToken(user, password)];
  return [password, encodeURIComponent(password), basicToken(user, password)];
}
