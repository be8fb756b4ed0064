/**
 * The one rule for every http(s) URL the promoter takes: NOMAD_ADDR, --prometheus-addr,
 * --external-url, a check's prometheus.address and http.url, a notify target's url, at
 * configuration time and when a check runs or a notification is sent.
 * The problem never quotes the text: a URL may carry credentials or a token in its query.
 */
export type HttpUrl = { ok: true; url: URL } | { ok: false; problem: string };

export function parseHttpUrl(text: string): HttpUrl {
  // URL.canParse, not URL.parse: the latter is missing from Node.js 20 before 20.18.
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url) return { ok: false, problem: 'not a URL (expected http://host[:port][/path])' };
  // `127.0.0.1:9090` parses with the scheme "127.0.0.1:": say what is expected rather than echo it.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, problem: 'not http:// or https://' };
  // Credentials are sent decoded (Basic auth): a stray % would fail every later use of the URL.
  if (!decodes(url.username) || !decodes(url.password)) return { ok: false, problem: 'user:password@ is not valid percent-encoding (write a literal % as %25)' };
  return { ok: true, url };
}

function decodes(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}
